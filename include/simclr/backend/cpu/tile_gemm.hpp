// The single-threaded GEMM of the CPU kernels (convolution, losses): register tiles over strided
// operands on the path current_cpu_isa() names (AVX-512 or AVX2 + FMA), else Eigen.
#pragma once

#include <algorithm>
#include <type_traits>

#include <Eigen/Core>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/tiles_avx2.hpp>
#include <simclr/backend/cpu/tiles_avx512.hpp>
#include <simclr/config.hpp>

namespace simclr::detail {

/// C (m × n, row-major, ldc) ← A·B (C + A·B when `accumulate`), A(r, k) = a[r·a_rs + k·a_cs], B
/// row-major (kk × n, ldb). Single threaded (callers parallelise over fixed blocks).
/// Float on the avx512 and avx2 paths uses the register tiles (the same bits on both), anything
/// else one Eigen product per scalar type.
template <class T>
void tile_gemm(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs, const T* b,
               index_t ldb, T* c, index_t ldc, bool accumulate = false) {
  if (m <= 0 || n <= 0) return;
#if SIMCLR_X86_KERNELS
  if constexpr (std::is_same_v<T, float>) {
    switch (current_cpu_isa()) {
      case cpu_isa::avx512:
        avx512_gemm(m, n, kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
        return;
      case cpu_isa::avx2:
        avx2_gemm(m, n, kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
        return;
      default:
        break;
    }
  }
#endif
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using strided = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const matrix, Eigen::Unaligned, strided> am(a, m, kk, strided(a_rs, a_cs));
  const Eigen::Map<const matrix, Eigen::Unaligned, Eigen::OuterStride<>> bm(
      b, kk, n, Eigen::OuterStride<>(ldb));
  Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>> cm(c, m, n, Eigen::OuterStride<>(ldc));
  if (!accumulate) cm.setZero();
  cm.noalias() += am * bm;  // one Eigen product per scalar type (keeps compile times down)
}

/// dst (cols × rows, ldd) ← srcᵀ for src (rows × cols, lds): 16 × 16 (avx512) or 8 × 8 (avx2)
/// blocks in registers for float, the edges (and anything else) element by element.
template <class T>
void transpose(index_t rows, index_t cols, const T* src, index_t lds, T* dst, index_t ldd) {
  index_t r0 = 0, c0 = 0;
#if SIMCLR_X86_KERNELS
  if constexpr (std::is_same_v<T, float>) {
    const cpu_isa isa = current_cpu_isa();
    if (isa == cpu_isa::avx512) {
      r0 = rows - rows % 16;
      c0 = cols - cols % 16;
      for (index_t r = 0; r < r0; r += 16)
        for (index_t c = 0; c < c0; c += 16)
          avx512_transpose16(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    } else if (isa == cpu_isa::avx2) {
      r0 = rows - rows % 8;
      c0 = cols - cols % 8;
      for (index_t r = 0; r < r0; r += 8)
        for (index_t c = 0; c < c0; c += 8)
          avx2_transpose8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
    }
  }
#endif
  // The rest: columns [c0, cols) of rows [0, r0), and all columns of rows [r0, rows).
  for (index_t r = 0; r < r0; ++r)
    for (index_t c = c0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
  for (index_t c = 0; c < cols; ++c)
    for (index_t r = r0; r < rows; ++r) dst[c * ldd + r] = src[r * lds + c];
}

/// The width of the column panels the tiles of `isa` walk B in (48 for avx512, 16 for avx2): the
/// panels ops::gemm packs B into. 0 where no tiles run (the generic path, other architectures).
inline index_t packed_panel_width([[maybe_unused]] cpu_isa isa) {
#if SIMCLR_X86_KERNELS
  if (isa == cpu_isa::avx512) return 48;
  if (isa == cpu_isa::avx2) return 16;
#endif
  return 0;
}

/// Panel p of op(B) (kk × n) for tile_gemm_packed, into dst: columns [w·p, w·p + wp), wp =
/// min(w, n − w·p), as a row-major kk × wp matrix. B is kk × n (ldb), or n × kk when
/// `transposed` (op(B) = Bᵀ, by the register-block transposes). The packed panels of all p lie
/// back to back: panel p at w·p·kk.
inline void pack_b_panel(index_t kk, index_t n, index_t w, index_t p, const float* b, index_t ldb,
                         bool transposed, float* dst) {
  const index_t j = w * p, wp = std::min(w, n - j);
  if (transposed) {
    transpose(wp, kk, b + j * ldb, ldb, dst, wp);
  } else {
    for (index_t r = 0; r < kk; ++r) std::copy_n(b + r * ldb + j, wp, dst + r * wp);
  }
}

/// tile_gemm with op(B) packed by pack_b_panel in panels of w columns: one tile_gemm per
/// panel, each reading its panel contiguously (kk × wp, a leading dimension of wp: no copies and
/// no rows that alias in L1) instead of every row block copying or striding through B. Each
/// element sums the same products in the same order, so the bits equal tile_gemm's on the
/// unpacked B. For products whose B is read by many row blocks (ops::gemm packs it once).
template <class T>
void tile_gemm_packed(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs,
                      const T* bp, index_t w, T* c, index_t ldc, bool accumulate = false) {
  for (index_t j = 0; j < n; j += w) {
    const index_t wp = std::min(w, n - j);
    tile_gemm(m, wp, kk, a, a_rs, a_cs, bp + j * kk, wp, c + j, ldc, accumulate);
  }
}

}  // namespace simclr::detail
