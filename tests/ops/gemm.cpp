#include <simclr/ops/gemm.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <doctest/doctest.h>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

#include "support/naive.hpp"

using namespace simclr;

namespace {
template <class T>
tensor<T> random_matrix(index_t r, index_t c, std::uint64_t seed) {
  tensor<T> t(shape{r, c}, uninitialized);
  random::fill_uniform<T>(t.view(), random::key(seed), T(-1), T(1));
  return t;
}
}  // namespace

TEST_CASE("gemm: a hand-computed product") {
  const tensor<float> a(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const tensor<float> b(shape{3, 2}, {7, 8, 9, 10, 11, 12});
  const auto c = ops::matmul(a, b);
  CHECK(c.shape() == shape{2, 2});
  CHECK(c(0, 0) == 58.f);
  CHECK(c(0, 1) == 64.f);
  CHECK(c(1, 0) == 139.f);
  CHECK(c(1, 1) == 154.f);
}

TEST_CASE_TEMPLATE("gemm: all transpose cases, α and β, against a naive product", T, float,
                   double) {
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  for (const auto& entry : {std::array<index_t, 3>{5, 7, 3}, {64, 33, 129}, {130, 65, 70}}) {
    const auto& m = std::get<0>(entry);
    const auto& n = std::get<1>(entry);
    const auto& k = std::get<2>(entry);
    for (int t = 0; t < 4; ++t) {
      const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
      const auto a = ta ? random_matrix<T>(k, m, 1) : random_matrix<T>(m, k, 1);
      const auto b = tb ? random_matrix<T>(n, k, 2) : random_matrix<T>(k, n, 2);
      auto c = random_matrix<T>(m, n, 3);
      const auto expected = test::naive_gemm(a, b, ta, tb, 0.5, -2.0, c);
      ops::gemm(a, b, c, {.transpose_a = ta, .transpose_b = tb, .alpha = 0.5, .beta = -2.0});
      double worst = 0;
      for (index_t i = 0; i < c.numel(); ++i)
        worst = std::max(worst, std::abs(double(c.data()[i]) - double(expected.data()[i])));
      CAPTURE(m);
      CAPTURE(t);
      CHECK(worst < tol);
    }
  }
}

TEST_CASE("gemm: β = 0 overwrites C without reading it") {
  const tensor<double> a(shape{1, 1}, {2.0}), b(shape{1, 1}, {3.0});
  tensor<double> c(shape{1, 1}, {std::numeric_limits<double>::quiet_NaN()});
  ops::gemm(a, b, c);
  CHECK(c(0, 0) == 6.0);
}

TEST_CASE("gemm: works on views (a slice of rows)") {
  const auto a = random_matrix<double>(10, 4, 5);
  const auto b = random_matrix<double>(4, 3, 6);
  tensor<double> full(shape{10, 3});
  ops::gemm(a, b, full);
  tensor<double> part(shape{4, 3});
  ops::gemm(a.view().slice(3, 7), b, part);
  for (index_t i = 0; i < 4; ++i)
    for (index_t j = 0; j < 3; ++j) CHECK(part(i, j) == full(i + 3, j));
}

TEST_CASE("gemm: bit-identical results for 1 and 2 threads") {
  const auto a = random_matrix<float>(300, 257, 7);
  const auto b = random_matrix<float>(257, 190, 8);
  parallel::set_num_threads(1);
  const auto c1 = ops::matmul(a, b, {.transpose_b = false});
  parallel::set_num_threads(2);
  const auto c2 = ops::matmul(a, b);
  parallel::set_num_threads(3);
  const auto c3 = ops::matmul(a, b);
  CHECK(std::memcmp(c1.data(), c2.data(), c1.bytes()) == 0);
  CHECK(std::memcmp(c1.data(), c3.data(), c1.bytes()) == 0);
}

TEST_CASE("gemm: shape mismatches are reported with both shapes") {
  const tensor<float> a(shape{2, 3}), b(shape{4, 2});
  tensor<float> c(shape{2, 2});
  CHECK_THROWS_WITH_AS(ops::gemm(a, b, c),
                       "simclr: gemm: inner dimensions differ: op(A) is 2×3, op(B) is 4×2",
                       shape_error);
  const tensor<float> b2(shape{3, 5});
  CHECK_THROWS_WITH_AS(ops::gemm(a, b2, c), "simclr: gemm: C has shape (2, 2), expected (2, 5)",
                       shape_error);
  const tensor<float> v(shape{3});
  CHECK_THROWS_WITH_AS(ops::gemm(a, v, c), "simclr: gemm: B has shape (3), expected rank 2",
                       shape_error);
  const tensor<float> a3(shape{2, 3, 1});
  CHECK_THROWS_AS((void)ops::matmul(a3, b2), shape_error);
}

TEST_CASE("gemm: the register-tile paths agree with the generic one, avx2 = avx512 bit for bit") {
  const auto a = random_matrix<float>(130, 300, 11);
  const auto bt = random_matrix<float>(70, 300, 12);  // used as Bᵀ
  const auto b = random_matrix<float>(300, 70, 13);
  for (const ops::gemm_options o : {ops::gemm_options{}, ops::gemm_options{.transpose_b = true},
                                    ops::gemm_options{.transpose_b = true, .beta = 0.5}}) {
    auto product = [&](cpu_isa isa) {
      cpu_isa_scope path(isa);
      tensor<float> c(shape{130, 70});
      c.fill(1.0f);
      ops::gemm(a, o.transpose_b ? bt : b, c, o);
      return c;
    };
    const auto cg = product(cpu_isa::generic);
    for (cpu_isa isa : {cpu_isa::avx2, cpu_isa::avx512}) {
      if (!cpu_supports(isa)) continue;
      CAPTURE(to_string(isa));
      const auto c = product(isa);
      double worst = 0;
      for (index_t i = 0; i < c.numel(); ++i)
        worst = std::max(worst, double(std::abs(c.data()[i] - cg.data()[i])));
      CHECK(worst < 1e-4);
    }
    if (cpu_supports(cpu_isa::avx512)) {
      const auto c2 = product(cpu_isa::avx2), c5 = product(cpu_isa::avx512);
      CHECK(std::memcmp(c2.data(), c5.data(), c2.bytes()) == 0);
    }
  }
}

TEST_CASE("gemm: B packed in the tiles' panels gives the bits of the unpacked tiles") {
  // A transposed B, or 1024+ rows in blocks under 128: ops::gemm packs op(B) once into column
  // panels (48 wide on avx512, 16 on avx2) — here with a last panel of 4 columns, k across two
  // k blocks, A plain and transposed, β = 0, 1 and 0.5. detail::tile_gemm on the row-major op(B)
  // (nothing packed) must give the same bits.
  const index_t m = 1030, n = 100, k = 270;
  REQUIRE(m >= ops::gemm_kernel<cpu_t>::pack_min_rows);
  REQUIRE(ops::gemm_kernel<cpu_t>::row_block(m, n, k) < 128);
  const auto a = random_matrix<float>(m, k, 21);
  const auto at = random_matrix<float>(k, m, 22);  // used as Aᵀ
  const auto b = random_matrix<float>(k, n, 23);
  const auto bt = random_matrix<float>(n, k, 24);  // used as Bᵀ
  const auto c0 = random_matrix<float>(m, n, 25);
  for (cpu_isa isa : {cpu_isa::avx2, cpu_isa::avx512}) {
    if (!cpu_supports(isa)) continue;
    CAPTURE(to_string(isa));
    cpu_isa_scope path(isa);
    REQUIRE(detail::packed_panel_width(isa) > 0);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f, 0.5f}) {
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(beta);
          tensor<float> c = c0;
          ops::gemm(ta ? at : a, tb ? bt : b, c,
                    {.transpose_a = ta, .transpose_b = tb, .beta = beta});
          // The reference: op(B) row-major, C scaled by β, then the unpacked tiles.
          tensor<float> opb(shape{k, n});
          for (index_t r = 0; r < k; ++r)
            for (index_t j = 0; j < n; ++j) opb(r, j) = tb ? bt(j, r) : b(r, j);
          tensor<float> ref = c0;
          if (beta != 1.0f)
            for (index_t i = 0; i < ref.numel(); ++i) ref.data()[i] *= beta;
          const index_t rb = ops::gemm_kernel<cpu_t>::row_block(m, n, k);
          for (index_t r0 = 0; r0 < m; r0 += rb) {
            const index_t rows = std::min(rb, m - r0);
            const float* ap = ta ? at.data() + r0 : a.data() + r0 * k;
            detail::tile_gemm(rows, n, k, ap, ta ? index_t{1} : k, ta ? m : index_t{1},
                              opb.data(), n, ref.data() + r0 * n, n, beta != 0.0f);
          }
          CHECK(std::memcmp(c.data(), ref.data(), c.bytes()) == 0);
        }
  }
}
