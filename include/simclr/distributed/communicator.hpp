// simclr::distributed::local_communicator: the single-process model of the communicator concept
// (<simclr/concepts.hpp>) — the default: no MPI, nothing to link — and the checks every model shares.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/concepts.hpp>  // communicator, pending_collective
#include <simclr/error.hpp>

namespace simclr::distributed {

namespace detail {
/// The checks every model makes before a collective moves data (value_error on mismatch).
inline void check_gather_sizes(std::size_t send, std::size_t recv, int size, const char* what) {
  if (recv != send * static_cast<std::size_t>(size))
    throw value_error(std::string("simclr: distributed: ") + what + ": " +
                      std::to_string(recv) + " elements for the gathered side, expected size() · " +
                      std::to_string(send) + " = " +
                      std::to_string(send * static_cast<std::size_t>(size)));
}
inline void check_root(int root, int size, const char* what) {
  if (root < 0 || root >= size)
    throw value_error(std::string("simclr: distributed: ") + what + ": root " +
                      std::to_string(root) + ", expected 0 ≤ root < " + std::to_string(size));
}
/// The collective timeout in seconds: SIMCLR_COLLECTIVE_TIMEOUT when set (a number ≥ 0; 0
/// turns the watchdog off), else `configured`.
inline double collective_timeout(double configured) {
  const char* env = std::getenv("SIMCLR_COLLECTIVE_TIMEOUT");
  if (env == nullptr || *env == '\0') return configured;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(v >= 0))
    throw value_error(std::string("simclr: SIMCLR_COLLECTIVE_TIMEOUT=") + env +
                      ", expected a number of seconds ≥ 0 (0: no watchdog)");
  return v;
}
}  // namespace detail

/// The backend whose memory a communicator's collectives take: `Comm::backend_type` where the
/// model says (nccl_communicator: cuda_t; staged_communicator: its Backend), else host memory.
template <class Comm>
struct communicator_memory {
  using type = cpu_t;
};
template <class Comm>
  requires requires { typename Comm::backend_type; }
struct communicator_memory<Comm> {
  using type = typename Comm::backend_type;
};
template <class Comm>
using communicator_backend = typename communicator_memory<Comm>::type;

/// A finished collective (what the single-process model returns from the async calls).
struct completed_collective {
  void wait() noexcept {}
};

/// The group of one process: every collective is the identity (all_gather and reduce_scatter
/// copy). What single-process code uses; it needs no MPI.
class local_communicator {
 public:
  [[nodiscard]] int rank() const noexcept { return 0; }
  [[nodiscard]] int size() const noexcept { return 1; }

  template <class T>
  void all_reduce_sum(std::span<T>) const noexcept {}
  template <class T>
  void all_gather(std::span<const T> send, std::span<T> recv) const {
    detail::check_gather_sizes(send.size(), recv.size(), 1, "all_gather");
    std::copy(send.begin(), send.end(), recv.begin());
  }
  template <class T>
  void reduce_scatter_sum(std::span<const T> send, std::span<T> recv) const {
    detail::check_gather_sizes(recv.size(), send.size(), 1, "reduce_scatter_sum");
    std::copy(send.begin(), send.end(), recv.begin());
  }
  template <class T>
  void broadcast(std::span<T>, int root) const {
    detail::check_root(root, 1, "broadcast");
  }
  void barrier() const noexcept {}
  template <class T>
  [[nodiscard]] completed_collective all_reduce_sum_async(std::span<T>) const noexcept {
    return {};
  }
};

static_assert(communicator<local_communicator>);

}  // namespace simclr::distributed
