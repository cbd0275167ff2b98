// Tests of the single-process communicator and of the launcher environment (no MPI needed).
#include <simclr/distributed/communicator.hpp>
#include <simclr/distributed/staged.hpp>
#include <simclr/distributed/world.hpp>

#include <cstdlib>
#include <vector>

#include <doctest/doctest.h>

using namespace simclr;
using namespace simclr::distributed;

namespace {
/// Sets environment variables for one scope and removes them after.
struct scoped_env {
  std::vector<const char*> names;
  scoped_env(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [k, v] : vars) {
      setenv(k, v, 1);
      names.push_back(k);
    }
  }
  ~scoped_env() {
    for (const char* k : names) unsetenv(k);
  }
};
/// No launcher variables at all (the test may itself run under mpirun or torchrun).
struct no_launcher : scoped_env {
  no_launcher() : scoped_env({}) {
    for (const char* k : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                          "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID",
                          "MPI_LOCALNRANKS", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"})
      unsetenv(k);
  }
};
}  // namespace

TEST_CASE("local_communicator: one process, every collective the identity") {
  static_assert(communicator<local_communicator>);
  local_communicator c;
  CHECK(c.rank() == 0);
  CHECK(c.size() == 1);
  std::vector<float> x{1, 2, 3};
  c.all_reduce_sum(std::span<float>(x));
  c.broadcast(std::span<float>(x), 0);
  c.all_reduce_sum_async(std::span<float>(x)).wait();
  CHECK(x == std::vector<float>{1, 2, 3});
  std::vector<double> g(3);
  c.all_gather(std::span<const double>(std::vector<double>{4, 5, 6}), std::span<double>(g));
  CHECK(g == std::vector<double>{4, 5, 6});
  std::vector<double> r(3);
  c.reduce_scatter_sum(std::span<const double>(g), std::span<double>(r));
  CHECK(r == g);
  c.barrier();
  CHECK_THROWS_WITH_AS(c.all_gather(std::span<const double>(g), std::span<double>(r.data(), 2)),
                       doctest::Contains("expected size() · 3 = 3"), value_error);
  CHECK_THROWS_WITH_AS(c.broadcast(std::span<float>(x), 1),
                       doctest::Contains("root 1, expected 0 ≤ root < 1"), value_error);
}

TEST_CASE("staged_communicator over local_communicator: staged or not, the identity") {
  local_communicator one;
  staged_communicator<local_communicator, cpu_t> direct(one);
  CHECK(direct.direct());  // host memory: nothing to stage
  staged_communicator<local_communicator, cpu_t> staged(one, staging_mode::always);
  CHECK_FALSE(staged.direct());
  std::vector<float> x{1.0f, -2.0f, 3.5f};
  const auto before = x;
  staged.all_reduce_sum(std::span<float>(x));
  staged.broadcast(std::span<float>(x), 0);
  std::vector<float> gathered(3), scattered(3);
  staged.all_gather(std::span<const float>(x), std::span<float>(gathered));
  staged.reduce_scatter_sum(std::span<const float>(gathered), std::span<float>(scattered));
  {
    auto p = staged.all_reduce_sum_async(std::span<float>(x));
    p.wait();
  }
  CHECK(x == before);
  CHECK(gathered == before);
  CHECK(scattered == before);
  CHECK(staged.pooled_buffers() == 1);  // one buffer served every collective in turn
  CHECK(direct.pooled_buffers() == 0);
  CHECK_THROWS_AS(staged.broadcast(std::span<float>(x), 1), value_error);
}

TEST_CASE("world_from_environment: OpenMPI, MPICH, torchrun variables, or one process") {
  {
    no_launcher clean;
    const auto w = world_from_environment();
    CHECK(w.rank == 0);
    CHECK(w.size == 1);
    CHECK(w.launcher == "none");
  }
  {
    no_launcher clean;
    scoped_env e({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                  {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
    const auto w = world_from_environment();
    CHECK(w.launcher == "openmpi");
    CHECK(w.rank == 3);
    CHECK(w.size == 4);
    CHECK(w.local_rank == 1);
    CHECK(w.local_size == 2);
  }
  {
    no_launcher clean;
    scoped_env e({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}});
    const auto w = world_from_environment();
    CHECK(w.launcher == "mpich");
    CHECK(w.local_rank == 1);  // no local variables: the global rank on one machine
  }
  {
    no_launcher clean;
    scoped_env e({{"RANK", "0"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "0"}, {"LOCAL_WORLD_SIZE", "8"}});
    CHECK(world_from_environment().launcher == "torchrun");
  }
  {
    no_launcher clean;
    scoped_env e({{"RANK", "4"}, {"WORLD_SIZE", "4"}});
    CHECK_THROWS_WITH_AS(world_from_environment(), doctest::Contains("RANK=4 with WORLD_SIZE=4"),
                         value_error);
  }
  {
    no_launcher clean;
    scoped_env e({{"RANK", "x1"}, {"WORLD_SIZE", "4"}});
    CHECK_THROWS_WITH_AS(world_from_environment(),
                         doctest::Contains("RANK='x1', expected a non-negative integer"), value_error);
  }
  {
    no_launcher clean;
    scoped_env e({{"WORLD_SIZE", "4"}});
    CHECK_THROWS_WITH_AS(world_from_environment(), doctest::Contains("RANK is not set but WORLD_SIZE is"),
                         value_error);
  }
}
