// The AVX2 + FMA kernels of the CPU backend: register-tile GEMM and 8 × 8 transpose, the same
// algorithms as the AVX-512 ones (simclr/backend/cpu/tiles_avx512.hpp) on 8-wide vectors.
// Compiled with per-function target attributes, whatever flags the host project uses; the
// dispatch (simclr/backend/cpu/tile_gemm.hpp) runs them only where current_cpu_isa() says so.
#pragma once

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/config.hpp>

#if SIMCLR_X86_KERNELS
#include <immintrin.h>

#if defined(__clang__)
#define SIMCLR_AVX2_UNROLL _Pragma("unroll")
#else
#define SIMCLR_AVX2_UNROLL _Pragma("GCC unroll 16")
#endif
#define SIMCLR_AVX2 __attribute__((target("avx2,fma")))

namespace simclr::detail {

/// avx2_gemm packs A into micro-panels for products of at least this many columns: the packing
/// (scalar, about a cycle per element) is paid back over n / 16 panels. Measured on an Intel
/// Xeon (Emerald Rapids), against OpenBLAS on the same path in one process: SGEMM 2048³
/// 0.89–0.91 → 0.96–0.99 of OpenBLAS (1 and 2 threads); 512³ unchanged; the encoder steps, whose
/// products are narrower, unchanged (docs/benchmarks.md).
inline constexpr index_t avx2_pack_min_columns = index_t{512};

/// avx2_gemm's owner tag for detail::thread_scratch (its packed A).
struct avx2_gemm_tag {};

/// The lanes of an 8-float vector whose bit is set in `bits` (bit i = lane i), as the all-ones
/// / zero int lanes of vmaskmov: masked-off lanes are neither read (no fault) nor written.
SIMCLR_AVX2 inline __m256i avx2_lane_mask(unsigned bits) {
  const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(bits)), lane),
                            lane);
}

/// One MR × 8·NV tile: C ← A·B over kk, A(r, k) at a[r·a_rs + k·a_cs], B row-major (ldb).
/// With Tail, `last` (a lane bit set) masks the columns of the last 8-wide vector. Each C element
/// sums k in order in one register lane with one FMA per step — the order of the AVX-512 tile,
/// so both paths give the same bits.
template <int MR, int NV, bool Tail>
SIMCLR_AVX2 inline void avx2_gemm_tile(index_t kk, const float* a, index_t a_rs, index_t a_cs,
                                       const float* b, index_t ldb, float* c, index_t ldc,
                                       unsigned last, bool accumulate) {
  const __m256i mask = Tail ? avx2_lane_mask(last) : _mm256_set1_epi32(-1);
  __m256 acc[MR][NV];
  SIMCLR_AVX2_UNROLL
  for (int r = 0; r < MR; ++r) SIMCLR_AVX2_UNROLL
  for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (index_t k = 0; k < kk; ++k) {
    const float* bk = b + k * ldb;
    __m256 bv[NV];
    SIMCLR_AVX2_UNROLL
    for (int v = 0; v + 1 < NV; ++v) bv[v] = _mm256_loadu_ps(bk + 8 * v);
    bv[NV - 1] =
        Tail ? _mm256_maskload_ps(bk + 8 * (NV - 1), mask) : _mm256_loadu_ps(bk + 8 * (NV - 1));
    const float* ak = a + k * a_cs;
    SIMCLR_AVX2_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(ak + r * a_rs);
      SIMCLR_AVX2_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  SIMCLR_AVX2_UNROLL
  for (int r = 0; r < MR; ++r) {
    float* cr = c + r * ldc;
    if (accumulate) {
      SIMCLR_AVX2_UNROLL
      for (int v = 0; v + 1 < NV; ++v)
        acc[r][v] = _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cr + 8 * v));
      acc[r][NV - 1] =
          _mm256_add_ps(acc[r][NV - 1], Tail ? _mm256_maskload_ps(cr + 8 * (NV - 1), mask)
                                             : _mm256_loadu_ps(cr + 8 * (NV - 1)));
    }
    SIMCLR_AVX2_UNROLL
    for (int v = 0; v + 1 < NV; ++v) _mm256_storeu_ps(cr + 8 * v, acc[r][v]);
    if (Tail) {
      _mm256_maskstore_ps(cr + 8 * (NV - 1), mask, acc[r][NV - 1]);
    } else {
      _mm256_storeu_ps(cr + 8 * (NV - 1), acc[r][NV - 1]);
    }
  }
}

/// The rows [0, m) of one column panel (≤ 8·NV columns), 6 rows at a time (12 accumulators,
/// two B vectors and a broadcast fill the 16 registers).
template <int NV, bool Tail>
SIMCLR_AVX2 inline void avx2_gemm_panel(index_t m, index_t kk, const float* a, index_t a_rs,
                                        index_t a_cs, const float* b, index_t ldb, float* c,
                                        index_t ldc, unsigned last, bool accumulate) {
  constexpr int mr = 6;
  index_t i = 0;
  for (; i + mr <= m; i += mr)
    avx2_gemm_tile<mr, NV, Tail>(kk, a + i * a_rs, a_rs, a_cs, b, ldb, c + i * ldc, ldc, last,
                                 accumulate);
  const float* ar = a + i * a_rs;
  float* cr = c + i * ldc;
  switch (m - i) {
#define SIMCLR_AVX2_REST(R)                                                             \
  case R:                                                                               \
    avx2_gemm_tile<R, NV, Tail>(kk, ar, a_rs, a_cs, b, ldb, cr, ldc, last, accumulate); \
    break;
    SIMCLR_AVX2_REST(5)
    SIMCLR_AVX2_REST(4)
    SIMCLR_AVX2_REST(3)
    SIMCLR_AVX2_REST(2)
    SIMCLR_AVX2_REST(1)
#undef SIMCLR_AVX2_REST
    default:
      break;
  }
}

/// A 6 × 16 tile over packed operands: A as a 6-row micro-panel (a[6·k + r]), B as a 16-column
/// panel (b[16·k + j]). The FMA order of avx2_gemm_tile<6, 2, false> (the same bits); the k
/// loop unrolled by 4 with A prefetched 16 steps ahead, and C's rows fetched at the start
/// (they are read, or written, only after the loop).
SIMCLR_AVX2 inline void avx2_gemm_packed_tile(index_t kk, const float* a, const float* b, float* c,
                                              index_t ldc, bool accumulate) {
  constexpr int mr = 6;
  __m256 acc[mr][2];
  SIMCLR_AVX2_UNROLL
  for (int r = 0; r < mr; ++r) {
    acc[r][0] = _mm256_setzero_ps();
    acc[r][1] = _mm256_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  }
  index_t k = 0;
  for (; k + 4 <= kk; k += 4, a += 4 * mr, b += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(a + 16 * mr), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(a + 16 * mr + 16), _MM_HINT_T0);
    SIMCLR_AVX2_UNROLL
    for (int u = 0; u < 4; ++u) {
      const __m256 b0 = _mm256_loadu_ps(b + 16 * u), b1 = _mm256_loadu_ps(b + 16 * u + 8);
      SIMCLR_AVX2_UNROLL
      for (int r = 0; r < mr; ++r) {
        const __m256 ar = _mm256_broadcast_ss(a + mr * u + r);
        acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
      }
    }
  }
  for (; k < kk; ++k, a += mr, b += 16) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    SIMCLR_AVX2_UNROLL
    for (int r = 0; r < mr; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
  SIMCLR_AVX2_UNROLL
  for (int r = 0; r < mr; ++r) {
    float* cr = c + r * ldc;
    SIMCLR_AVX2_UNROLL
    for (int v = 0; v < 2; ++v) {
      if (accumulate) acc[r][v] = _mm256_add_ps(acc[r][v], _mm256_loadu_ps(cr + 8 * v));
      _mm256_storeu_ps(cr + 8 * v, acc[r][v]);
    }
  }
}

/// Rows [0, 6·q) of A (kk columns; A(r, k) = a[r·a_rs + k·a_cs]) as q micro-panels of
/// avx2_gemm_packed_tile, back to back: row 6·p + r, column k at dst[6·kk·p + 6·k + r].
inline void avx2_pack_a(index_t q, index_t kk, const float* a, index_t a_rs, index_t a_cs,
                        float* dst) {
  for (index_t p = 0; p < q; ++p, dst += 6 * kk)
    for (index_t r = 0; r < 6; ++r) {
      const float* row = a + (6 * p + r) * a_rs;
      for (index_t k = 0; k < kk; ++k) dst[6 * k + r] = row[k * a_cs];
    }
}

/// C (+)= A·B with the tiles, blocked like the AVX-512 kernel (k in blocks of 256, rows in
/// blocks of 128), column panels of 16 (then 8 or fewer) outermost within a block; wide products
/// (avx2_pack_min_columns) run the blocks' whole tiles on packed copies of A and B. Each C
/// element sums its k blocks in order, one FMA per step, so the result depends on the sizes
/// only — and equals the AVX-512 kernel's.
SIMCLR_AVX2 inline void avx2_gemm(index_t m, index_t n, index_t kk, const float* a, index_t a_rs,
                                  index_t a_cs, const float* b, index_t ldb, float* c, index_t ldc,
                                  bool accumulate) {
  constexpr index_t kc = 256, mc = 128;
  alignas(32) float panel[kc * 16];
  // Blocks of at least two full tiles that many column panels read: A's block goes into
  // micro-panels once (contiguous, prefetched rows instead of six streams 4·a_rs bytes apart)
  // and each panel of B into contiguous rows.
  const bool pack = n >= avx2_pack_min_columns && m >= 12 && kk > 0;
  float* const packed_a =
      pack ? thread_scratch<float, avx2_gemm_tag>(static_cast<std::size_t>(mc * kc), 0) : nullptr;
  for (index_t k0 = 0; k0 < kk || k0 == 0; k0 += kc) {
    const index_t kb = kk - k0 < kc ? kk - k0 : kc;
    const bool acc = accumulate || k0 > 0;
    for (index_t i0 = 0; i0 < m; i0 += mc) {
      const index_t mb = m - i0 < mc ? m - i0 : mc;
      const float* ab = a + i0 * a_rs + k0 * a_cs;
      const float* bb = b + k0 * ldb;
      float* cb = c + i0 * ldc;
      const index_t full = mb / 6 * 6;  // rows in whole packed tiles
      if (pack) avx2_pack_a(full / 6, kb, ab, a_rs, a_cs, packed_a);
      index_t j = 0;
      for (; j + 16 <= n; j += 16) {
        if (!pack && (mb <= 12 || ldb % 256 != 0)) {
          avx2_gemm_panel<2, false>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, 0u, acc);
          continue;
        }
        // Several tiles read this panel (and unpacked, B's rows a multiple of 1 KiB apart would
        // map the whole panel onto a few L1 sets): copy it into contiguous rows first (measured:
        // 1024-wide B 67 → 81–94 GFLOP/s; elsewhere, unpacked, the copy costs more than it saves).
        for (index_t k = 0; k < kb; ++k) {
          _mm256_store_ps(panel + 16 * k, _mm256_loadu_ps(bb + k * ldb + j));
          _mm256_store_ps(panel + 16 * k + 8, _mm256_loadu_ps(bb + k * ldb + j + 8));
        }
        if (!pack) {
          avx2_gemm_panel<2, false>(mb, kb, ab, a_rs, a_cs, panel, 16, cb + j, ldc, 0u, acc);
          continue;
        }
        for (index_t i = 0; i < full; i += 6)
          avx2_gemm_packed_tile(kb, packed_a + i * kb, panel, cb + i * ldc + j, ldc, acc);
        if (full < mb)  // the last 1–5 rows, from A itself
          avx2_gemm_panel<2, false>(mb - full, kb, ab + full * a_rs, a_rs, a_cs, panel, 16,
                                    cb + full * ldc + j, ldc, 0u, acc);
      }
      const index_t w = n - j;
      if (w > 8) {
        avx2_gemm_panel<2, true>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc,
                                 (1u << (w - 8)) - 1u, acc);
      } else if (w == 8) {
        avx2_gemm_panel<1, false>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, 0u, acc);
      } else if (w > 0) {
        avx2_gemm_panel<1, true>(mb, kb, ab, a_rs, a_cs, bb + j, ldb, cb + j, ldc, (1u << w) - 1u,
                                 acc);
      }
    }
    if (kk == 0) break;
  }
}

/// dst (8 × 8, ldd) ← srcᵀ (8 × 8, lds): three rounds of in-register shuffles.
SIMCLR_AVX2 inline void avx2_transpose8(const float* src, index_t lds, float* dst, index_t ldd) {
  __m256 r[8], t[8];
  SIMCLR_AVX2_UNROLL
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  SIMCLR_AVX2_UNROLL
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  SIMCLR_AVX2_UNROLL
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  SIMCLR_AVX2_UNROLL
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
    t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
  }
  SIMCLR_AVX2_UNROLL
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + i * ldd, t[i]);
}

}  // namespace simclr::detail
#endif
