// gathered_nt_xent under mpirun: k processes with n images each compute what one process
// computes on the k·n images — value, top-1, entropy and every row of dz — and the negative
// control (a process's own rows of the gradient, without the reduce-scatter) does not.
#include <simclr/distributed/gathered_nt_xent.hpp>

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/distributed/mpi.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;
using namespace simclr::distributed;

namespace {
/// The global batch (2N, D) in the global layout, the same on every rank (one seed).
tensor<double> global_batch(index_t big_n, index_t d) {
  tensor<double> z(shape{2 * big_n, d});
  random::fill_normal(z.view(), random::key(2026));
  return z;
}
/// This rank's (2n, D): its view-1 rows, then its view-2 rows.
tensor<double> local_rows(const tensor<double>& global, index_t rank, index_t n) {
  const index_t big_n = global.extent(0) / 2, d = global.extent(1);
  tensor<double> z(shape{2 * n, d}, uninitialized);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) {
      z(i, j) = global(rank * n + i, j);
      z(n + i, j) = global(big_n + rank * n + i, j);
    }
  return z;
}
}  // namespace

TEST_CASE("gathered_nt_xent: k processes equal one process on the global batch (double, 1e-10)") {
  mpi_communicator comm;
  const index_t k = comm.size(), r = comm.rank(), n = 3, d = 5;
  for (const double tau : {0.5, 0.1}) {
    const auto global = global_batch(k * n, d);
    const auto single = loss::nt_xent<double>({.temperature = tau})(global);
    gathered_nt_xent<double, mpi_communicator> l(comm, {.temperature = tau});
    const auto z = local_rows(global, r, n);
    const auto got = l(z);
    CHECK(got.value == doctest::Approx(single.value).epsilon(1e-10));
    CHECK(got.top1_accuracy == single.top1_accuracy);
    CHECK(got.mean_entropy == doctest::Approx(single.mean_entropy).epsilon(1e-10));
    const auto want = local_rows(single.dz, r, n);
    double worst = 0;
    for (index_t e = 0; e < want.numel(); ++e)
      worst = std::max(worst, std::abs(got.dz.data()[e] - want.data()[e]) /
                                  std::max(std::abs(want.data()[e]), 1e-12));
    CHECK(worst <= 1e-10);
    // Negative control: this rank's rows of its own d_gathered (no reduce-scatter) miss the
    // other ranks' anchors' pull on them whenever there are other ranks.
    if (k > 1) {
      loss::nt_xent<double> plain({.temperature = tau});
      std::vector<index_t> mine;
      for (index_t i = 0; i < n; ++i) mine.push_back(r * n + i);
      for (index_t i = 0; i < n; ++i) mine.push_back(k * n + r * n + i);
      const auto part = plain.partial(global, std::span<const index_t>(mine));
      const auto own = local_rows(part.d_gathered, r, n);
      double diff = 0;
      for (index_t e = 0; e < want.numel(); ++e)
        diff = std::max(diff, std::abs(own.data()[e] - want.data()[e]));
      CHECK(diff > 1e-3);
    }
  }
}

TEST_CASE("gathered_nt_xent: float within 1e-5; ranks holding different sizes all throw") {
  mpi_communicator comm;
  const index_t k = comm.size(), r = comm.rank(), n = 4, d = 8;
  const auto global = global_batch(k * n, d);
  tensor<float> gf(global.shape(), uninitialized), zf(shape{2 * n, d}, uninitialized);
  for (index_t e = 0; e < global.numel(); ++e) gf.data()[e] = static_cast<float>(global.data()[e]);
  const auto single = loss::nt_xent<float>({.temperature = 0.2})(gf);
  const auto zl = local_rows(global, r, n);
  for (index_t e = 0; e < zl.numel(); ++e) zf.data()[e] = static_cast<float>(zl.data()[e]);
  gathered_nt_xent<float, mpi_communicator> l(comm, {.temperature = 0.2});
  const auto got = l(zf);
  CHECK(got.value == doctest::Approx(single.value).epsilon(1e-5));
  if (k > 1) {
    // Rank 0 holds one image more than the others: every rank reports it, none hangs.
    const index_t mine = r == 0 ? n + 1 : n;
    tensor<float> uneven(shape{2 * mine, d});
    random::fill_normal(uneven.view(), random::key(7 + static_cast<std::uint64_t>(r)));
    CHECK_THROWS_WITH_AS(l(uneven), doctest::Contains("split the global batch evenly"), value_error);
  }
}
