// simclr::ops::gemm_kernel<cpu_t>: fixed row blocks over the thread pool, each one register-tile
// GEMM for float on the avx2 / avx512 paths, else one Eigen product.
#pragma once

#include <algorithm>
#include <optional>
#include <type_traits>

#include <Eigen/Core>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/tile_gemm.hpp>
#include <simclr/ops/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::ops {

template <>
struct gemm_kernel<cpu_t> {
  /// Rows of C per task. Depends on the problem only, never on the thread count, so every
  /// element of C is computed by the same Eigen call whatever the pool size (bit-identical).
  static index_t row_block(index_t m, index_t n, index_t k) {
    if (m * n * k < (index_t{1} << 18)) return std::max<index_t>(m, 1);
    return std::max<index_t>(32, (m + 15) / 16);
  }

  template <class T>
  static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, const T* a,
                  index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using const_map = Eigen::Map<const matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    using map = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    if (m == 0 || n == 0) return;
    if constexpr (std::is_same_v<T, float>) {
      // The tiles read op(B) row-major: a transposed B is packed once per call, worth it from
      // a few dozen rows of A on.
      if (alpha == 1.0f && simclr::detail::packed_panel_width(current_cpu_isa()) > 0 &&
          (!tb || m >= 32)) {
        run_tiles(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
      }
    }
    const const_map A(a, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
    const const_map B(b, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
    map C(c, m, n, Eigen::OuterStride<>(ldc));
    const index_t rb = row_block(m, n, k);
    parallel::parallel_for(0, m, rb, [&](index_t r0, index_t r1) {
      auto c_rows = C.middleRows(r0, r1 - r0);
      if (beta == T(0)) {
        c_rows.setZero();
      } else if (beta != T(1)) {
        c_rows *= beta;
      }
      if (k == 0) return;
      // Each of the four transpose cases is its own Eigen product (no runtime-typed expression).
      if (!ta && !tb)
        c_rows.noalias() += alpha * A.middleRows(r0, r1 - r0) * B;
      else if (!ta && tb)
        c_rows.noalias() += alpha * A.middleRows(r0, r1 - r0) * B.transpose();
      else if (ta && !tb)
        c_rows.noalias() += alpha * A.middleCols(r0, r1 - r0).transpose() * B;
      else
        c_rows.noalias() += alpha * A.middleCols(r0, r1 - r0).transpose() * B.transpose();
    });
  }

  /// A product of at least this many rows, in row blocks under 128 rows, packs B (see run_tiles).
  static constexpr index_t pack_min_rows = 1024;

  /// C ← op(A)·op(B) + β·C for float with the register tiles (simclr/backend/cpu/tile_gemm.hpp,
  /// the same blocks as run: each element's sum in a fixed order, whatever the thread count).
  /// op(B) is packed once into the tiles' column panels (in parallel; the same bits as the
  /// unpacked tiles) when it is transposed, instead of transposed row-major, and when at least
  /// pack_min_rows rows come in blocks under 128 rows, each of which would otherwise re-copy or
  /// stride through B. Measured on an Intel Xeon (Emerald Rapids) against the unpacked
  /// tiles: Bᵀ of 2048 × 512 (a linear layer's forward, 512 rows, 2 threads) 1.24× (avx2) and
  /// 1.48× (avx512); 1024³ 1.06–1.14× on both paths, 1 and 2 threads (docs/benchmarks.md).
  /// Products of 256–768 rows and of 2048 rows (copied per 128-row block already) lost 1–30 %
  /// packed, so they are not.
  static void run_tiles(bool ta, bool tb, index_t m, index_t n, index_t k, const float* a,
                        index_t lda, const float* b, index_t ldb, float beta, float* c,
                        index_t ldc) {
    const cpu_isa isa = current_cpu_isa();
    const index_t rb = row_block(m, n, k), w = simclr::detail::packed_panel_width(isa);
    const bool pack = k > 0 && (tb || (m >= pack_min_rows && rb < 128));
    std::optional<simclr::detail::cpu_scratch<float>> packed;
    float* bp = pack ? packed.emplace(static_cast<std::size_t>(k * n)).data() : nullptr;
    if (pack)
      parallel::parallel_for(0, (n + w - 1) / w, 4, [&](index_t p0, index_t p1) {
        for (index_t p = p0; p < p1; ++p)
          simclr::detail::pack_b_panel(k, n, w, p, b, ldb, tb, bp + p * w * k);
      });
    const index_t a_rs = ta ? 1 : lda, a_cs = ta ? lda : 1;
    parallel::parallel_for(0, m, rb, [&](index_t r0, index_t r1) {
      float* cr = c + r0 * ldc;
      if (beta != 0.0f && beta != 1.0f)
        for (index_t i = 0; i < r1 - r0; ++i)
          for (index_t j = 0; j < n; ++j) cr[i * ldc + j] *= beta;
      if (pack) {
        simclr::detail::tile_gemm_packed(r1 - r0, n, k, a + r0 * a_rs, a_rs, a_cs, bp, w, cr,
                                         ldc, beta != 0.0f);
      } else {
        simclr::detail::tile_gemm(r1 - r0, n, k, a + r0 * a_rs, a_rs, a_cs, b, ldb, cr, ldc,
                                  beta != 0.0f);
      }
    });
  }
};

}  // namespace simclr::ops
