// simclr::distributed::world_info: where this process sits in a job — rank, size, local rank —
// read from the launcher's environment (OpenMPI, MPICH / Hydra, torchrun-style variables).
#pragma once

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <simclr/error.hpp>

namespace simclr::distributed {

/// This process's place in the job: `rank` in [0, size), and `local_rank` among the processes
/// on its machine (the GPU it takes, the share of cores it sizes its thread pool to).
struct world_info {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string launcher = "none";  ///< which variables it came from ("openmpi", "mpich", "torchrun")
};

namespace detail {
/// The integer in environment variable `name`, if set; value_error naming it if it is not a
/// non-negative integer.
inline std::optional<int> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  const std::string_view s(v);
  int out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || end != s.data() + s.size() || out < 0 || s.empty())
    throw value_error("simclr: distributed: environment variable " + std::string(name) + "='" +
                      std::string(s) + "', expected a non-negative integer");
  return out;
}
}  // namespace detail

/// The launcher's view of this process, without initialising MPI: OpenMPI's
/// OMPI_COMM_WORLD_{RANK,SIZE,LOCAL_RANK,LOCAL_SIZE}, MPICH / Hydra's PMI_RANK, PMI_SIZE and
/// MPI_LOCALRANKID / MPI_LOCALNRANKS, or torchrun's RANK, WORLD_SIZE, LOCAL_RANK,
/// LOCAL_WORLD_SIZE — the first family present wins; none: a single process {0, 1, 0, 1}.
/// Throws value_error for a malformed value or a rank outside [0, size).
inline world_info world_from_environment() {
  struct family {
    const char *launcher, *rank, *size, *local_rank, *local_size;
  };
  static constexpr family families[] = {
      {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE"},
      {"mpich", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
  };
  for (const family& f : families) {
    const auto rank = detail::env_int(f.rank);
    const auto size = detail::env_int(f.size);
    if (!rank && !size) continue;
    if (!rank || !size)
      throw value_error(std::string("simclr: distributed: ") + (rank ? f.size : f.rank) +
                        " is not set but " + (rank ? f.rank : f.size) +
                        " is: set both (or neither)");
    world_info w;
    w.launcher = f.launcher;
    w.rank = *rank;
    w.size = *size;
    w.local_rank = detail::env_int(f.local_rank).value_or(w.rank);
    w.local_size = detail::env_int(f.local_size).value_or(w.size);
    if (w.size < 1 || w.rank >= w.size)
      throw value_error(std::string("simclr: distributed: ") + f.rank + "=" +
                        std::to_string(w.rank) + " with " + f.size + "=" +
                        std::to_string(w.size) + ", expected 0 ≤ rank < size");
    if (w.local_size < 1 || w.local_rank >= w.local_size)
      throw value_error(std::string("simclr: distributed: ") + f.local_rank + "=" +
                        std::to_string(w.local_rank) + " with " + f.local_size + "=" +
                        std::to_string(w.local_size) + ", expected 0 ≤ local rank < local size");
    return w;
  }
  return {};
}

}  // namespace simclr::distributed
