// Tests of the CPU kernels' single-threaded GEMM (AVX-512 register tiles when the CPU has them,
// else Eigen), shared by the convolution and the losses.
#include <simclr/backend/cpu/tile_gemm.hpp>

#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>
#include <simclr/tensor.hpp>

using namespace simclr;

TEST_CASE("tile_gemm: edge shapes, both layouts of A, cache blocks match a double reference") {
#if SIMCLR_HAVE_AVX512_TILES
  const std::string in_use = detail::cpu_has_avx512f() ? "yes" : "no";
  MESSAGE("AVX-512 kernel in use: " << in_use);
#endif
  for (index_t m : {1, 7, 8, 9, 23, 130}) {  // 130: two row blocks
    for (index_t n : {1, 15, 16, 17, 32, 33, 48, 70}) {
      for (index_t k : {1, 5, 64, 300}) {  // 300: two k blocks
        for (bool transposed_a : {false, true}) {
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(transposed_a);
          tensor<float> a(shape{transposed_a ? k : m, transposed_a ? m : k}, uninitialized);
          tensor<float> b(shape{k, n + 3}, uninitialized);  // ldb > n
          tensor<float> c(shape{m, n + 2}, uninitialized);  // ldc > n
          random::fill_uniform(a.view(), random::key(1), -1.f, 1.f);
          random::fill_uniform(b.view(), random::key(2), -1.f, 1.f);
          random::fill_uniform(c.view(), random::key(3), -1.f, 1.f);
          const tensor<float> c0 = c;
          const index_t a_rs = transposed_a ? 1 : k, a_cs = transposed_a ? m : 1;
          for (bool accumulate : {false, true}) {
            c = c0;
            detail::tile_gemm(m, n, k, a.data(), a_rs, a_cs, b.data(), n + 3, c.data(), n + 2,
                              accumulate);
            double worst = 0;
            for (index_t i = 0; i < m; ++i) {
              for (index_t j = 0; j < n; ++j) {
                double ref = accumulate ? static_cast<double>(c0(i, j)) : 0.0;
                for (index_t p = 0; p < k; ++p)
                  ref += static_cast<double>(a.data()[i * a_rs + p * a_cs]) *
                         static_cast<double>(b(p, j));
                worst = std::max(worst, std::abs(static_cast<double>(c(i, j)) - ref));
              }
              // Columns past n are never written.
              CHECK(c(i, n) == c0(i, n));
              CHECK(c(i, n + 1) == c0(i, n + 1));
            }
            CHECK(worst <= 1e-5 * static_cast<double>(k));
          }
        }
      }
    }
  }
}

TEST_CASE("transpose: 16 × 16 register blocks and the edges give the exact transpose") {
  for (index_t rows : {1, 15, 16, 17, 33, 64}) {
    for (index_t cols : {1, 16, 20, 49, 196}) {
      CAPTURE(rows);
      CAPTURE(cols);
      tensor<float> a(shape{rows, cols + 2}, uninitialized);  // lds > cols
      random::fill_uniform(a.view(), random::key(9));
      tensor<float> t(shape{cols, rows + 3}, uninitialized);  // ldd > rows
      t.fill(-7.0f);
      detail::transpose(rows, cols, a.data(), cols + 2, t.data(), rows + 3);
      bool exact = true, untouched = true;
      for (index_t c = 0; c < cols; ++c) {
        for (index_t r = 0; r < rows; ++r) exact = exact && t(c, r) == a(r, c);
        for (index_t r = rows; r < rows + 3; ++r) untouched = untouched && t(c, r) == -7.0f;
      }
      CHECK(exact);
      CHECK(untouched);
    }
  }
}
