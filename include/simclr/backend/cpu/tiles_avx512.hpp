// The AVX-512F kernels of the CPU backend: register-tile GEMM and 16 × 16 transpose. Compiled
// with per-function target attributes, so they exist whatever flags the host project uses; the
// dispatch (simclr/backend/cpu/tile_gemm.hpp) runs them only where current_cpu_isa() says so.
#pragma once

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/config.hpp>

#if SIMCLR_X86_KERNELS
#include <immintrin.h>

#if defined(__clang__)
#define SIMCLR_TILE_UNROLL _Pragma("unroll")
#else
#define SIMCLR_TILE_UNROLL _Pragma("GCC unroll 16")
#endif

namespace simclr::detail {

/// One MR × 16·NV tile: C ← A·B over kk, A(r, k) at a[r·a_rs + k·a_cs], B row-major (ldb);
/// `last` masks the columns of the last 16-wide vector. Each C element sums k in order in one
/// register lane, so the result does not depend on how the caller splits the work.
template <int MR, int NV>
__attribute__((target("avx512f"))) inline void avx512_gemm_tile(index_t kk, const float* a,
                                                                index_t a_rs, index_t a_cs,
                                                                const float* b, index_t ldb,
                                                                float* c, index_t ldc,
                                                                __mmask16 last, bool accumulate) {
  __m512 acc[MR][NV];
  SIMCLR_TILE_UNROLL
  for (int r = 0; r < MR; ++r) SIMCLR_TILE_UNROLL
  for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (index_t k = 0; k < kk; ++k) {
    const float* bk = b + k * ldb;
    __m512 bv[NV];
    SIMCLR_TILE_UNROLL
    for (int v = 0; v + 1 < NV; ++v) bv[v] = _mm512_loadu_ps(bk + 16 * v);
    bv[NV - 1] = _mm512_maskz_loadu_ps(last, bk + 16 * (NV - 1));
    const float* ak = a + k * a_cs;
    SIMCLR_TILE_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(ak[r * a_rs]);
      SIMCLR_TILE_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  SIMCLR_TILE_UNROLL
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      SIMCLR_TILE_UNROLL
      for (int v = 0; v + 1 < NV; ++v)
        acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_loadu_ps(cr + 16 * v));
      acc[r][NV - 1] =
          _mm512_add_ps(acc[r][NV - 1], _mm512_maskz_loadu_ps(last, cr + 16 * (NV - 1)));
    }
    SIMCLR_TILE_UNROLL
    for (int v = 0; v + 1 < NV; ++v) _mm512_storeu_ps(cr + 16 * v, acc[r][v]);
    _mm512_mask_storeu_ps(cr + 16 * (NV - 1), last, acc[r][NV - 1]);
  }
}

/// The rows [0, m) of one column panel (≤ 16·NV columns), MR rows at a time.
template <int NV>
__attribute__((target("avx512f"))) inline void avx512_gemm_panel(index_t m, index_t kk,
                                                                 const float* a, index_t a_rs,
                                                                 index_t a_cs, const float* b,
                                                                 index_t ldb, float* c, index_t ldc,
                                                                 __mmask16 last, bool accumulate) {
  constexpr int mr = 8;
  index_t i = 0;
  for (; i + mr <= m; i += mr)
    avx512_gemm_tile<mr, NV>(kk, a + i * a_rs, a_rs, a_cs, b, ldb, c + i * ldc, ldc, last,
                             accumulate);
  const float* ar = a + i * a_rs;
  float* cr = c + i * ldc;
  switch (m - i) {
#define SIMCLR_TILE_REST(R)                                                         \
  case R:                                                                           \
    avx512_gemm_tile<R, NV>(kk, ar, a_rs, a_cs, b, ldb, cr, ldc, last, accumulate); \
    break;
    SIMCLR_TILE_REST(7)
    SIMCLR_TILE_REST(6)
    SIMCLR_TILE_REST(5)
    SIMCLR_TILE_REST(4)
    SIMCLR_TILE_REST(3)
    SIMCLR_TILE_REST(2)
    SIMCLR_TILE_REST(1)
#undef SIMCLR_TILE_REST
        default : break;
  }
}

/// C (+)= A·B with the tiles, blocked for the caches: k in blocks of kc (the B panel of a
/// block, kc × 32, stays in L1), rows in blocks of mc (the A block, mc × kc, stays in L2);
/// within a block, column panels of 48 (then 32 or 16 for the rest) outermost. Each C element
/// sums its k blocks in order, so the result depends on the sizes only.
__attribute__((target("avx512f"))) inline void avx512_gemm(index_t m, index_t n, index_t kk,
                                                           const float* a, index_t a_rs,
                                                           index_t a_cs, const float* b,
                                                           index_t ldb, float* c, index_t ldc,
                                                           bool accumulate) {
  constexpr index_t kc = 256, mc = 128;
  alignas(64) float panel[kc * 48];
  for (index_t k0 = 0; k0 < kk || k0 == 0; k0 += kc) {
    const index_t kb = kk - k0 < kc ? kk - k0 : kc;
    const bool acc = accumulate || k0 > 0;
    for (index_t i0 = 0; i0 < m; i0 += mc) {
      const index_t mb = m - i0 < mc ? m - i0 : mc;
      const float* ab = a + i0 * a_rs + k0 * a_cs;
      const float* bb = b + k0 * ldb;
      float* cb = c + i0 * ldc;
      index_t j = 0;
      for (; j + 48 <= n; j += 48) {
        if (mb < 128 || ldb % 256 != 0) {
          avx512_gemm_panel<3>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, 0xFFFF, acc);
          continue;
        }
        // A full row block over B rows a multiple of 1 KiB apart (which map the panel onto a
        // few L1 sets): copy the panel into contiguous rows first, as the avx2 kernel does (the
        // sums are unchanged). Measured: 2048³ 125 → 151 GFLOP/s; fewer rows lose by it.
        for (index_t k = 0; k < kb; ++k)
          for (int v = 0; v < 3; ++v)
            _mm512_store_ps(panel + 48 * k + 16 * v, _mm512_loadu_ps(bb + k * ldb + j + 16 * v));
        avx512_gemm_panel<3>(mb, kb, ab, a_rs, a_cs, panel, 48, cb + j, ldc, 0xFFFF, acc);
      }
      for (; j < n; j += 32) {
        const index_t w = n - j < 32 ? n - j : 32;
        if (w > 16) {
          const auto last = static_cast<__mmask16>(w == 32 ? 0xFFFFu : (1u << (w - 16)) - 1u);
          avx512_gemm_panel<2>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, last, acc);
        } else {
          const auto last = static_cast<__mmask16>(w == 16 ? 0xFFFFu : (1u << w) - 1u);
          avx512_gemm_panel<1>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, last, acc);
        }
      }
    }
    if (kk == 0) break;
  }
}

/// dst (16 × 16, ldd) ← srcᵀ (16 × 16, lds): four rounds of in-register shuffles (pairs, quads,
/// 128-bit lanes, 256-bit halves) instead of 256 scalar loads and stores.
__attribute__((target("avx512f"))) inline void avx512_transpose16(const float* src, index_t lds,
                                                                  float* dst, index_t ldd) {
  // The masked forms with every lane set: GCC 12's unmasked unpack and shuffle intrinsics start
  // from _mm512_undefined_ps() and warn (-Wuninitialized) wherever they are inlined.
  constexpr __mmask16 all = 0xFFFF;
  __m512 r[16], t[16];
  SIMCLR_TILE_UNROLL
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  SIMCLR_TILE_UNROLL
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_mask_unpacklo_ps(r[i], all, r[i], r[i + 1]);
    t[i + 1] = _mm512_mask_unpackhi_ps(r[i], all, r[i], r[i + 1]);
  }
  SIMCLR_TILE_UNROLL
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  SIMCLR_TILE_UNROLL
  for (int h = 0; h < 16; h += 8) SIMCLR_TILE_UNROLL
  for (int i = 0; i < 4; ++i) {
    t[h + i] = _mm512_mask_shuffle_f32x4(r[h + i], all, r[h + i], r[h + i + 4], 0x88);
    t[h + i + 4] = _mm512_mask_shuffle_f32x4(r[h + i], all, r[h + i], r[h + i + 4], 0xDD);
  }
  SIMCLR_TILE_UNROLL
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_mask_shuffle_f32x4(t[i], all, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_mask_shuffle_f32x4(t[i], all, t[i], t[i + 8], 0xDD);
  }
  SIMCLR_TILE_UNROLL
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ldd, r[i]);
}

}  // namespace simclr::detail
#endif
