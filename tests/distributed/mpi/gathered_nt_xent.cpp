// gathered_nt_xent under mpirun: k processes holding the global batch's images between them —
// n each, or a batch that k does not divide (slices one image apart) — compute what one process
// computes on all of them: value, top-1, entropy and every row of dz; the negative control (a
// process's own rows of the gradient, without the reduce-scatter) does not.
#include <simclr/distributed/gathered_nt_xent.hpp>

#include <algorithm>
#include <cmath>
#include <utility>
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
/// This rank's (2n, D): its view-1 rows, then its view-2 rows (global images first … first+n).
tensor<double> local_rows(const tensor<double>& global, index_t first, index_t n) {
  const index_t big_n = global.extent(0) / 2, d = global.extent(1);
  tensor<double> z(shape{2 * n, d}, uninitialized);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) {
      z(i, j) = global(first + i, j);
      z(n + i, j) = global(big_n + first + i, j);
    }
  return z;
}
/// Rank r's first image and count when k ranks split big_n images (train::slice_of_batch's rule).
std::pair<index_t, index_t> slice(index_t big_n, index_t r, index_t k) {
  return {big_n * r / k, big_n * (r + 1) / k - big_n * r / k};
}
}  // namespace

TEST_CASE("gathered_nt_xent: k processes equal one process on the global batch (double, 1e-10)") {
  mpi_communicator comm;
  const index_t k = comm.size(), r = comm.rank(), d = 5;
  // 3 images per rank; then 3k + 1 images, which k > 1 ranks hold unevenly (3 or 4 each).
  for (const auto& c : {std::pair{0.5, 3 * k}, std::pair{0.1, 3 * k}, std::pair{0.5, 3 * k + 1},
                        std::pair{0.1, 3 * k + 1}}) {
    const double tau = c.first;
    const index_t big_n = c.second, first = slice(big_n, r, k).first, n = slice(big_n, r, k).second;
    CAPTURE(tau);
    CAPTURE(big_n);
    const auto global = global_batch(big_n, d);
    const auto single = loss::nt_xent<double>({.temperature = tau})(global);
    gathered_nt_xent<double, mpi_communicator> l(comm, {.temperature = tau});
    const auto z = local_rows(global, first, n);
    const auto got = l(z);
    CHECK(got.value == doctest::Approx(single.value).epsilon(1e-10));
    CHECK(got.top1_accuracy == single.top1_accuracy);
    CHECK(got.mean_entropy == doctest::Approx(single.mean_entropy).epsilon(1e-10));
    const auto want = local_rows(single.dz, first, n);
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
      for (index_t i = 0; i < n; ++i) mine.push_back(first + i);
      for (index_t i = 0; i < n; ++i) mine.push_back(big_n + first + i);
      const auto part = plain.partial(global, std::span<const index_t>(mine));
      const auto own = local_rows(part.d_gathered, first, n);
      double diff = 0;
      for (index_t e = 0; e < want.numel(); ++e)
        diff = std::max(diff, std::abs(own.data()[e] - want.data()[e]));
      CHECK(diff > 1e-3);
    }
  }
}

TEST_CASE("gathered_nt_xent: float within 1e-5, even and uneven splits") {
  mpi_communicator comm;
  const index_t k = comm.size(), r = comm.rank(), d = 8;
  for (const index_t big_n : {4 * k, 4 * k + 1, 4 * k + k - 1}) {
    CAPTURE(big_n);
    const index_t first = slice(big_n, r, k).first, n = slice(big_n, r, k).second;
    const auto global = global_batch(big_n, d);
    tensor<float> gf(global.shape(), uninitialized), zf(shape{2 * n, d}, uninitialized);
    for (index_t e = 0; e < global.numel(); ++e) gf.data()[e] = static_cast<float>(global.data()[e]);
    const auto single = loss::nt_xent<float>({.temperature = 0.2})(gf);
    const auto zl = local_rows(global, first, n);
    for (index_t e = 0; e < zl.numel(); ++e) zf.data()[e] = static_cast<float>(zl.data()[e]);
    gathered_nt_xent<float, mpi_communicator> l(comm, {.temperature = 0.2});
    const auto got = l(zf);
    CHECK(got.value == doctest::Approx(single.value).epsilon(1e-5));
    CHECK(got.top1_accuracy == single.top1_accuracy);
    float worst = 0;
    for (index_t i = 0; i < 2 * n; ++i)
      for (index_t j = 0; j < d; ++j) {
        const index_t g = i < n ? first + i : big_n + first + (i - n);
        worst = std::max(worst, std::abs(got.dz(i, j) - single.dz(g, j)));
      }
    CHECK(worst <= 1e-6f);
  }
}
