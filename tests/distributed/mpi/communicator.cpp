// Tests of distributed::mpi_communicator, run by CTest under mpirun with 1 to 4 processes
// (tests/CMakeLists.txt): every rank runs every case; the job fails if any rank fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <simclr/distributed/mpi.hpp>

#include <cstdlib>
#include <algorithm>
#include <thread>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/distributed/world.hpp>

using namespace simclr;
using namespace simclr::distributed;

TEST_CASE("mpi_communicator: rank and size agree with the launcher's environment") {
  mpi_communicator c;
  const auto w = world_from_environment();
  CHECK(c.size() >= 1);
  CHECK(c.rank() < c.size());
  if (w.launcher != "none") {
    CHECK(w.rank == c.rank());
    CHECK(w.size == c.size());
  }
}

TEST_CASE("mpi_communicator: all_reduce_sum, blocking and asynchronous, float, double, int64") {
  mpi_communicator c;
  const int k = c.size(), r = c.rank();
  std::vector<double> d(1000);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = double(r + 1) * double(i);
  c.all_reduce_sum(std::span<double>(d));
  const double ranks = double(k) * double(k + 1) / 2;  // Σ (r + 1)
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(d[i] == ranks * double(i));
  std::vector<float> f(17, float(r));
  auto p = c.all_reduce_sum_async(std::span<float>(f));
  p.wait();
  p.wait();  // a second wait is a no-op
  for (float v : f) CHECK(v == float(k * (k - 1) / 2));
  std::vector<std::int64_t> n{std::int64_t(1) << 40};
  c.all_reduce_sum(std::span<std::int64_t>(n));
  CHECK(n[0] == k * (std::int64_t(1) << 40));
}

TEST_CASE("mpi_communicator: all_gather in rank order; reduce_scatter_sum is its adjoint") {
  mpi_communicator c;
  const int k = c.size(), r = c.rank();
  const std::vector<float> mine{float(10 * r), float(10 * r + 1)};
  std::vector<float> all(2 * static_cast<std::size_t>(k));
  c.all_gather(std::span<const float>(mine), std::span<float>(all));
  for (int q = 0; q < k; ++q) {
    CHECK(all[2 * q] == float(10 * q));
    CHECK(all[2 * q + 1] == float(10 * q + 1));
  }
  // reduce_scatter_sum(all gathered) gives each rank k × its own block.
  std::vector<float> back(2);
  c.reduce_scatter_sum(std::span<const float>(all), std::span<float>(back));
  CHECK(back[0] == float(k) * mine[0]);
  CHECK(back[1] == float(k) * mine[1]);
  // ⟨gather(x), y⟩ = ⟨x, scatter(y)⟩ summed over ranks: the gradient of a gather.
  std::vector<double> y(3 * static_cast<std::size_t>(k));
  std::iota(y.begin(), y.end(), double(r));
  std::vector<double> x{1.0 + r, 2.0 - r, 0.5 * r}, gx(y.size()), sy(3);
  c.all_gather(std::span<const double>(x), std::span<double>(gx));
  c.reduce_scatter_sum(std::span<const double>(y), std::span<double>(sy));
  std::vector<double> dots{std::inner_product(gx.begin(), gx.end(), y.begin(), 0.0),
                           std::inner_product(x.begin(), x.end(), sy.begin(), 0.0)};
  c.all_reduce_sum(std::span<double>(dots));
  CHECK(dots[0] == doctest::Approx(dots[1]).epsilon(1e-14));
  CHECK_THROWS_AS(c.all_gather(std::span<const float>(mine), std::span<float>(back.data(), 1)),
                  value_error);
}

TEST_CASE("mpi_communicator: broadcast from every root; barrier; bad root named") {
  mpi_communicator c;
  for (int root = 0; root < c.size(); ++root) {
    std::vector<double> x(5, double(c.rank()));
    c.broadcast(std::span<double>(x), root);
    for (double v : x) CHECK(v == double(root));
  }
  c.barrier();
  std::vector<float> x(1);
  CHECK_THROWS_WITH_AS(c.broadcast(std::span<float>(x), c.size()),
                       doctest::Contains("expected 0 ≤ root <"), value_error);
}

TEST_CASE("mpi_communicator: split into groups by colour; collectives stay inside a group") {
  mpi_communicator c;
  const int r = c.rank();
  // Groups of two consecutive ranks (what batch_norm_group_size asks for).
  mpi_communicator g = c.split(r / 2);
  const int first = 2 * (r / 2), members = std::min(2, c.size() - first);
  CHECK(g.size() == members);
  CHECK(g.rank() == r - first);
  CHECK(g.timeout_seconds() == c.timeout_seconds());
  std::vector<double> x{double(r)};
  g.all_reduce_sum(std::span<double>(x));
  CHECK(x[0] == double(members == 2 ? 2 * first + 1 : first));
  c.barrier();
}

TEST_CASE("mpi errors become a distributed_error naming the rank, the collective and MPI's text") {
  try {
    distributed::detail::check_mpi(MPI_ERR_COUNT, 3, "all_gather", "MPI_Allgather");
    FAIL("no exception");
  } catch (const distributed_error& e) {
    CHECK(e.rank() == 3);
    CHECK(e.collective() == "all_gather");
    CHECK(std::string(e.what()).find("simclr: rank 3: all_gather: MPI_Allgather failed: ") == 0);
  }
}

TEST_CASE("mpi_communicator: the collective timeout — option, environment, errors") {
  CHECK(mpi_communicator().timeout_seconds() == 600);  // the default: 10 minutes
  CHECK(mpi_communicator(mpi_options{.timeout_seconds = 5}).timeout_seconds() == 5);
  CHECK(mpi_communicator(mpi_options{.timeout_seconds = 0}).timeout_seconds() == 0);
  CHECK_THROWS_WITH_AS(mpi_communicator(mpi_options{.timeout_seconds = -1}),
                       doctest::Contains("timeout_seconds is -1"), value_error);
  ::setenv("SIMCLR_COLLECTIVE_TIMEOUT", "7.5", 1);
  CHECK(mpi_communicator(mpi_options{.timeout_seconds = 5}).timeout_seconds() == 7.5);
  ::setenv("SIMCLR_COLLECTIVE_TIMEOUT", "soon", 1);
  CHECK_THROWS_WITH_AS(mpi_communicator(), doctest::Contains("SIMCLR_COLLECTIVE_TIMEOUT=soon"),
                       value_error);
  ::unsetenv("SIMCLR_COLLECTIVE_TIMEOUT");
  // A watched collective that finishes in time does nothing.
  mpi_communicator watched(mpi_options{.timeout_seconds = 1});
  std::vector<double> x{1.0};
  watched.all_reduce_sum(std::span<double>(x));
  CHECK(x[0] == watched.size());
}

TEST_CASE("mpi_environment: each process takes its share of the machine's cores") {
  const machine_share share = processes_on_this_machine();
  CHECK(share.local_size >= 1);
  CHECK(share.local_rank >= 0);
  CHECK(share.local_rank < share.local_size);
  const std::size_t hw = std::max(1u, std::thread::hardware_concurrency());
  if (std::getenv("SIMCLR_NUM_THREADS") == nullptr)  // main's mpi_environment sized the pool
    CHECK(parallel::num_threads() ==
          std::max<std::size_t>(1, hw / static_cast<std::size_t>(share.local_size)));
  // All processes of these tests run on one machine.
  mpi_communicator comm;
  CHECK(share.local_size == comm.size());
}

int main(int argc, char** argv) {
  mpi_environment mpi(&argc, &argv);
  doctest::Context context(argc, argv);
  const int failed = context.run() != 0 ? 1 : 0;
  int any = failed;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
