// staged_communicator over mpi_communicator, staging every collective (staging_mode::always)
// through host buffers on CPU memory: the staging logic that carries cuda_t tensors over MPI,
// checked against the MPI communicator itself on the same values, under mpirun with 1–4 ranks.
#include <simclr/distributed/host_values.hpp>
#include <simclr/distributed/mpi.hpp>
#include <simclr/distributed/staged.hpp>

#include <cstdint>
#include <span>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/error.hpp>

namespace {

using simclr::cpu_t;
using simclr::distributed::mpi_communicator;
using simclr::distributed::staged_communicator;
using simclr::distributed::staging_mode;
using staged_mpi = staged_communicator<mpi_communicator, cpu_t>;

template <class T>
std::vector<T> staged_values(int rank, std::size_t n, T scale) {
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * T(rank + 1) + T(i % 7);
  return v;
}

}  // namespace

TEST_CASE("staged_communicator: every collective staged equals the MPI communicator's") {
  mpi_communicator mpi;
  staged_mpi staged(mpi, staging_mode::always);
  const int k = mpi.size(), r = mpi.rank();
  CHECK_FALSE(staged.direct());
  CHECK(staged.rank() == r);
  CHECK(staged.size() == k);

  auto direct_d = staged_values<double>(r, 1001, 0.25), staged_d = direct_d;
  mpi.all_reduce_sum(std::span<double>(direct_d));
  staged.all_reduce_sum(std::span<double>(staged_d));
  CHECK(staged_d == direct_d);
  auto direct_n = staged_values<std::int64_t>(r, 5, std::int64_t(1) << 40), staged_n = direct_n;
  mpi.all_reduce_sum(std::span<std::int64_t>(direct_n));
  staged.all_reduce_sum(std::span<std::int64_t>(staged_n));
  CHECK(staged_n == direct_n);

  const auto send = staged_values<float>(r, 9, 1.5f);
  std::vector<float> direct_all(9 * std::size_t(k)), staged_all(direct_all.size(), -1.0f);
  mpi.all_gather(std::span<const float>(send), std::span<float>(direct_all));
  staged.all_gather(std::span<const float>(send), std::span<float>(staged_all));
  CHECK(staged_all == direct_all);

  const auto blocks = staged_values<double>(r, 4 * std::size_t(k), 3.0);
  std::vector<double> direct_mine(4), staged_mine(4, -1.0);
  mpi.reduce_scatter_sum(std::span<const double>(blocks), std::span<double>(direct_mine));
  staged.reduce_scatter_sum(std::span<const double>(blocks), std::span<double>(staged_mine));
  CHECK(staged_mine == direct_mine);

  std::vector<float> b = staged_values<float>(r, 33, 2.0f);
  const auto from_last = staged_values<float>(k - 1, 33, 2.0f);
  staged.broadcast(std::span<float>(b), k - 1);
  CHECK(b == from_last);
  staged.barrier();
}

TEST_CASE("staged_communicator: asynchronous sums in flight together, waited out of order") {
  mpi_communicator mpi;
  staged_mpi staged(mpi, staging_mode::always);
  const int r = mpi.rank();
  std::vector<std::vector<float>> x, expected;
  for (int i = 0; i < 3; ++i) {
    x.push_back(staged_values<float>(r, 100 + 50 * std::size_t(i), float(i + 1)));
    expected.push_back(x.back());
    mpi.all_reduce_sum(std::span<float>(expected.back()));
  }
  const auto before = x;
  {
    auto p0 = staged.all_reduce_sum_async(std::span<float>(x[0]));
    auto p1 = staged.all_reduce_sum_async(std::span<float>(x[1]));
    auto p2 = staged.all_reduce_sum_async(std::span<float>(x[2]));
    CHECK(x == before);  // the sums arrive in wait(), not before
    p2.wait();
    p0.wait();
    p1.wait();
    p1.wait();  // a second wait is a no-op
    CHECK(x == expected);
    CHECK(staged.pooled_buffers() == 0);  // each pending sum holds its own buffer
  }
  CHECK(staged.pooled_buffers() == 3);  // back in the pool with the pending sums gone
}

TEST_CASE("staged_communicator: buffers return to the pool and are reused") {
  mpi_communicator mpi;
  staged_mpi staged(mpi, staging_mode::always);
  std::vector<double> x(64, 1.0);
  {
    auto a = staged.all_reduce_sum_async(std::span<double>(x));
    auto b = staged.all_reduce_sum_async(std::span<double>(x.data(), 32));
    CHECK(staged.pooled_buffers() == 0);  // both held by their pending sums
    a.wait();
    b.wait();
  }
  CHECK(staged.pooled_buffers() == 2);
  staged.all_reduce_sum(std::span<double>(x.data(), 16));  // fits the smaller one: reused
  CHECK(staged.pooled_buffers() == 2);
  {
    std::vector<float> unchanged(8, 5.0f);
    auto forgotten = staged.all_reduce_sum_async(std::span<float>(unchanged));
    CHECK(staged.pooled_buffers() == 1);
    (void)forgotten;  // destroyed without wait(): the MPI request completes, nothing is copied
    // back (every rank destroys its own, so the collective still completes everywhere)
  }
  CHECK(staged.pooled_buffers() == 2);
}

TEST_CASE("staged_communicator: sizes and roots are checked before anything is copied") {
  mpi_communicator mpi;
  staged_mpi staged(mpi, staging_mode::always);
  const std::vector<float> send(3, 1.0f);
  std::vector<float> recv(3 * std::size_t(mpi.size()) + 1, -1.0f);
  CHECK_THROWS_AS(staged.all_gather(std::span<const float>(send), std::span<float>(recv)),
                  simclr::value_error);
  CHECK(recv == std::vector<float>(recv.size(), -1.0f));
  std::vector<float> mine(3, -1.0f);  // recv above is not size() blocks of 3
  CHECK_THROWS_AS(staged.reduce_scatter_sum(std::span<const float>(recv), std::span<float>(mine)),
                  simclr::value_error);
  CHECK(mine == std::vector<float>(3, -1.0f));
  std::vector<double> x(2, 1.0);
  CHECK_THROWS_AS(staged.broadcast(std::span<double>(x), mpi.size()), simclr::value_error);
  CHECK_THROWS_AS(staged.broadcast(std::span<double>(x), -1), simclr::value_error);
}

TEST_CASE("staged_communicator: host memory goes to MPI unstaged unless asked") {
  mpi_communicator mpi;
  staged_mpi direct(mpi);
  CHECK(direct.direct());
  std::vector<float> x(10, float(mpi.rank()));
  auto p = direct.all_reduce_sum_async(std::span<float>(x));
  p.wait();
  const int k = mpi.size();
  CHECK(x == std::vector<float>(10, float(k * (k - 1) / 2)));
  CHECK(direct.pooled_buffers() == 0);  // nothing was staged
#if !(defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT)
  CHECK_FALSE(mpi_communicator::reads_cuda_memory());  // an MPI built without CUDA (Debian's)
#endif
}

TEST_CASE("all_reduce_host / broadcast_host: host values through MPI and through staging") {
  mpi_communicator mpi;
  staged_mpi staged(mpi, staging_mode::always);
  const int k = mpi.size(), r = mpi.rank();
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  counts[static_cast<std::size_t>(r)] = r + 1;
  simclr::distributed::all_reduce_host(mpi, std::span<std::int64_t>(counts));
  for (int q = 0; q < k; ++q) CHECK(counts[static_cast<std::size_t>(q)] == q + 1);
  std::vector<double> sums{0.5 * (r + 1), double(r)};
  simclr::distributed::all_reduce_host(staged, std::span<double>(sums));
  CHECK(sums[0] == 0.25 * k * (k + 1));
  CHECK(sums[1] == 0.5 * k * (k - 1));
  std::vector<std::int64_t> word{100 + r};
  simclr::distributed::broadcast_host(staged, std::span<std::int64_t>(word), k - 1);
  CHECK(word[0] == 100 + k - 1);
}
