// The small GEMM of the CPU loss kernels: an AVX-512 register-tile kernel (chosen at run time), else Eigen.
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include <simclr/config.hpp>
#include <simclr/parallel/thread_pool.hpp>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__CUDACC__)
#include <immintrin.h>
#define SIMCLR_LOSS_HAVE_AVX512_KERNEL 1
#if defined(__clang__)
#define SIMCLR_LOSS_UNROLL _Pragma("unroll")
#else
#define SIMCLR_LOSS_UNROLL _Pragma("GCC unroll 8")
#endif
#else
#define SIMCLR_LOSS_HAVE_AVX512_KERNEL 0
#endif

namespace simclr::loss::cpu_detail {

#if SIMCLR_LOSS_HAVE_AVX512_KERNEL
/// Whether this CPU runs AVX-512F (checked once).
inline bool cpu_has_avx512f() noexcept {
  static const bool has = __builtin_cpu_supports("avx512f") != 0;
  return has;
}

/// One MR × 32 tile of C: C ← (C +) A·B over k, with A(r, k) at a[r·a_rs + k·a_cs] and B
/// row-major (k, ldb); `m0`/`m1` mask the columns of the two 16-wide halves. The accumulators
/// stay in registers for the whole k loop.
template <int MR>
__attribute__((target("avx512f"))) inline void avx512_tile(index_t kk, const float* a,
                                                             index_t a_rs, index_t a_cs,
                                                             const float* b, index_t ldb,
                                                             float* c, index_t ldc,
                                                             __mmask16 m0, __mmask16 m1,
                                                             bool accumulate) {
  __m512 c0[MR], c1[MR];
SIMCLR_LOSS_UNROLL
  for (int r = 0; r < MR; ++r) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
  }
  for (index_t k = 0; k < kk; ++k) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + k * ldb);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + k * ldb + 16);
    const float* ak = a + k * a_cs;
SIMCLR_LOSS_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(ak[r * a_rs]);
      c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
    }
  }
SIMCLR_LOSS_UNROLL
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, c0[r]);
    _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
  }
}

template <int MR>
__attribute__((target("avx512f"))) inline void avx512_row_panel(
    index_t n, index_t kk, const float* a, index_t a_rs, index_t a_cs, const float* b,
    index_t ldb, float* c, index_t ldc, bool accumulate) {
  for (index_t j = 0; j < n; j += 32) {
    const index_t w = n - j < 32 ? n - j : 32;
    const auto m0 = static_cast<__mmask16>(w >= 16 ? 0xFFFF : (1u << w) - 1u);
    const auto m1 = static_cast<__mmask16>(w >= 32 ? 0xFFFF : w > 16 ? (1u << (w - 16)) - 1u : 0u);
    avx512_tile<MR>(kk, a, a_rs, a_cs, b + j, ldb, c + j, ldc, m0, m1, accumulate);
  }
}

/// C (m × n) ← (C +) A·B with the AVX-512 tiles: 8 rows × 32 columns at a time.
__attribute__((target("avx512f"))) inline void avx512_gemm(index_t m, index_t n, index_t kk,
                                                             const float* a, index_t a_rs,
                                                             index_t a_cs, const float* b,
                                                             index_t ldb, float* c, index_t ldc,
                                                             bool accumulate) {
  index_t i = 0;
  for (; i + 8 <= m; i += 8)
    avx512_row_panel<8>(n, kk, a + i * a_rs, a_rs, a_cs, b, ldb, c + i * ldc, ldc, accumulate);
  const float* ar = a + i * a_rs;
  float* cr = c + i * ldc;
  switch (m - i) {
    case 7: avx512_row_panel<7>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 6: avx512_row_panel<6>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 5: avx512_row_panel<5>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 4: avx512_row_panel<4>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 3: avx512_row_panel<3>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 2: avx512_row_panel<2>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    case 1: avx512_row_panel<1>(n, kk, ar, a_rs, a_cs, b, ldb, cr, ldc, accumulate); break;
    default: break;
  }
}
#endif

/// C (m × n, row-major, leading dimension ldc) ← A·B, or C + A·B when `accumulate`; A(r, k) is
/// a[r·a_rs + k·a_cs] (so a transposed A is a_rs = 1), B is row-major (k × n, ldb). Single
/// threaded (the callers parallelise over blocks). Float on an AVX-512 CPU uses a register-tile
/// kernel whose summation order is fixed (each C element sums k in order); otherwise Eigen.
template <class T>
void block_gemm(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs,
                const T* b, index_t ldb, T* c, index_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
#if SIMCLR_LOSS_HAVE_AVX512_KERNEL
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_has_avx512f()) {
      avx512_gemm(m, n, kk, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
      return;
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

/// block_gemm over the default thread pool: C's rows in fixed chunks of `row_chunk` (a function
/// of nothing but the caller's constant), so the result is the same for any thread count.
template <class T>
void parallel_gemm(index_t m, index_t n, index_t kk, const T* a, index_t a_rs, index_t a_cs,
                   const T* b, index_t ldb, T* c, index_t ldc, bool accumulate,
                   index_t row_chunk = 64) {
  parallel::parallel_for(0, m, row_chunk, [&](index_t lo, index_t hi) {
    block_gemm(hi - lo, n, kk, a + lo * a_rs, a_rs, a_cs, b, ldb, c + lo * ldc, ldc, accumulate);
  });
}

}  // namespace simclr::loss::cpu_detail
