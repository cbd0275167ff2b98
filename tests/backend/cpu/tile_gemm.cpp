// Tests of the CPU kernels' single-threaded GEMM (AVX-512 or AVX2 register tiles, else Eigen),
// shared by the convolution and the losses: every path this CPU runs.
#include <simclr/backend/cpu/tile_gemm.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>
#include <simclr/tensor.hpp>

using namespace simclr;

namespace {

/// c = a·b (+ c0 when `accumulate`) for m × n × k, A(r, p) = a[r·a_rs + p·a_cs], within
/// 1e-5·k of a double reference; the two columns past n (c and c0 have n + 2) untouched.
void check_product(index_t m, index_t n, index_t k, const tensor<float>& a, index_t a_rs,
                   index_t a_cs, const tensor<float>& b, const tensor<float>& c0,
                   const tensor<float>& c, bool accumulate) {
  double worst = 0;
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) {
      double ref = accumulate ? static_cast<double>(c0(i, j)) : 0.0;
      for (index_t p = 0; p < k; ++p)
        ref += static_cast<double>(a.data()[i * a_rs + p * a_cs]) * static_cast<double>(b(p, j));
      worst = std::max(worst, std::abs(static_cast<double>(c(i, j)) - ref));
    }
    // Columns past n are never written.
    CHECK(c(i, n) == c0(i, n));
    CHECK(c(i, n + 1) == c0(i, n + 1));
  }
  CHECK(worst <= 1e-5 * static_cast<double>(k));
}

}  // namespace

TEST_CASE("tile_gemm: edge shapes, both layouts of A, cache blocks match a double reference") {
  for (cpu_isa isa : all_cpu_isas) {
    if (!cpu_supports(isa)) continue;
    cpu_isa_scope path(isa);
    CAPTURE(to_string(isa));
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
              check_product(m, n, k, a, a_rs, a_cs, b, c0, c, accumulate);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("tile_gemm: the avx2 and avx512 tiles give the same bits (one FMA order)") {
  if (!cpu_supports(cpu_isa::avx512)) {
    MESSAGE("skipped: this CPU has no AVX-512");
    return;
  }
  for (const auto& entry : {std::tuple<index_t, index_t, index_t>{37, 70, 600},
                            {130, 200, 27},
                            {5, 9, 1},
                            {64, 784, 144}}) {
    const auto& m = std::get<0>(entry);
    const auto& n = std::get<1>(entry);
    const auto& k = std::get<2>(entry);
    tensor<float> a(shape{m, k}, uninitialized), b(shape{k, n}, uninitialized);
    random::fill_normal(a.view(), random::key(4));
    random::fill_normal(b.view(), random::key(5));
    auto product = [&](cpu_isa isa, bool accumulate) {
      cpu_isa_scope path(isa);
      tensor<float> c(shape{m, n});
      c.fill(0.5f);
      detail::tile_gemm(m, n, k, a.data(), k, index_t{1}, b.data(), n, c.data(), n, accumulate);
      return c;
    };
    for (bool accumulate : {false, true}) {
      const auto c2 = product(cpu_isa::avx2, accumulate);
      const auto c5 = product(cpu_isa::avx512, accumulate);
      CHECK(std::memcmp(c2.data(), c5.data(), c2.bytes()) == 0);
    }
  }
}

TEST_CASE("tile_gemm: wide products (A packed on avx2) match a double reference and avx512's bits") {
  // n ≥ avx2_pack_min_columns: avx2_gemm runs the blocks' whole tiles on packed copies of A and
  // B; 130 rows are two row blocks with 4 rows left over, 300 columns of A two k blocks.
  if (!cpu_supports(cpu_isa::avx2)) {
    MESSAGE("skipped: this CPU has no AVX2");
    return;
  }
  for (index_t m : {12, 13, 130}) {
    for (index_t n : {index_t{512}, index_t{530}}) {
      for (index_t k : {7, 300}) {
        for (bool transposed_a : {false, true}) {
          CAPTURE(m);
          CAPTURE(n);
          CAPTURE(k);
          CAPTURE(transposed_a);
          tensor<float> a(shape{transposed_a ? k : m, transposed_a ? m : k}, uninitialized);
          tensor<float> b(shape{k, n + 3}, uninitialized);
          tensor<float> c0(shape{m, n + 2}, uninitialized);
          random::fill_uniform(a.view(), random::key(6), -1.f, 1.f);
          random::fill_uniform(b.view(), random::key(7), -1.f, 1.f);
          random::fill_uniform(c0.view(), random::key(8), -1.f, 1.f);
          const index_t a_rs = transposed_a ? 1 : k, a_cs = transposed_a ? m : 1;
          for (bool accumulate : {false, true}) {
            auto product = [&](cpu_isa isa) {
              cpu_isa_scope path(isa);
              tensor<float> c = c0;
              detail::tile_gemm(m, n, k, a.data(), a_rs, a_cs, b.data(), n + 3, c.data(), n + 2,
                                accumulate);
              return c;
            };
            const tensor<float> c = product(cpu_isa::avx2);
            check_product(m, n, k, a, a_rs, a_cs, b, c0, c, accumulate);
            if (cpu_supports(cpu_isa::avx512)) {
              const tensor<float> c5 = product(cpu_isa::avx512);
              CHECK(std::memcmp(c.data(), c5.data(), c.bytes()) == 0);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("transpose: register blocks and the edges give the exact transpose") {
  for (cpu_isa isa : all_cpu_isas) {
    if (!cpu_supports(isa)) continue;
    cpu_isa_scope path(isa);
    CAPTURE(to_string(isa));
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
}
