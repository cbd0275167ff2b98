// simclr::nn::direct_conv3: 3 × 3, stride-1 float convolutions with 16 to 48 output channels on
// the CPU, channel-last by sliding windows — no column matrix — on the avx512 and avx2 paths.
#pragma once

#include <algorithm>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/tiles_avx2.hpp>
#include <simclr/config.hpp>
#include <simclr/nn/cpu/channels_last.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/parallel/thread_pool.hpp>

#if SIMCLR_X86_KERNELS
#include <immintrin.h>
#endif

#if defined(__clang__)
#define SIMCLR_DC3_UNROLL _Pragma("unroll")
#else
#define SIMCLR_DC3_UNROLL _Pragma("GCC unroll 32")
#endif

namespace simclr::nn {

/// y (N, Cout, Ho, Wo) = conv(x (N, C, H, W), w (Cout, C, 3, 3)), stride 1, padding p ≤ 2.
///
/// Each image is copied channel-last into a zero-bordered buffer (H + 2p) × (W + 2p) pixels of
/// C floats, and the outputs are computed at every pixel of a row of that width — the 2p
/// columns past Wo are computed and dropped — so that the positions of a block are consecutive
/// across rows: output position P reads pixels P + ky·(W + 2p) + kx. A block of 24 positions
/// (avx2: 12) × 16 output channels (avx2: 8) keeps its sums in registers; per (ky, input
/// channel) it loads the 3 kx weight vectors and broadcasts the 26 (14) pixels its window
/// slides over, each pixel feeding the 3 sums whose window holds it: 72 FMAs for 29 loads
/// (36 for 17), and one store per sum at the end. The output block goes channel-first into y
/// (+ add, with BatchNorm's plane moments if asked) while the image is in cache.
///
/// Every output sums (ky, input channel, kx) in that order from zero in one register lane: the
/// same bits on both paths and for any thread count; a different rounding from im2col's.
struct direct_conv3 {
  /// Output channels per vector on both paths (avx2 takes two 8-lane halves).
  static constexpr index_t channel_vector = 16;
  /// Whether (g, Cout) runs here on `isa`: the avx512 or avx2 path, a 3 × 3 window, stride 1,
  /// padding at most 2, output channels a multiple of 16 below max_outputs, at least
  /// min_inputs input channels — unless channels_last::enabled() says otherwise.
  [[nodiscard]] static bool applies(const window2d& g, index_t c_out, cpu_isa isa) {
    if (isa != cpu_isa::avx512 && isa != cpu_isa::avx2) return false;
    if (g.kernel_h != 3 || g.kernel_w != 3 || g.stride != 1 || g.padding > 2) return false;
    if (c_out % channel_vector != 0 || c_out >= max_outputs || g.channels < min_inputs)
      return false;
    if (g.out_height() < 1 || g.out_width() < 1) return false;
    return channels_last::enabled();
  }

  /// Fewer input channels (a stem's 1 or 3) and the copies in and out of the channel-last
  /// buffers cost more than the sums (1 → 16 channels at 28 × 28: 0.56× of im2col's, whose
  /// column matrix is only 9 rows).
  static constexpr index_t min_inputs = 8;

  /// With 64 and more output channels the packed convolution and Winograd use the GEMM tiles
  /// better (their panels feed several row tiles); below, this kernel measured faster than
  /// im2col + GEMM on an Intel Xeon (see docs/encoders.md).
  static constexpr index_t max_outputs = 64;

  /// y ← conv(x, w) (+ add if given); with `moments` (N·Cout), each plane of y's
  /// plane_moments as well. `scratch(n)` gives the calling thread a buffer of n floats that
  /// nothing else uses meanwhile.
  template <class Scratch>
  static void run(const window2d& g, index_t c_out, const float* x, const float* w, float* y,
                  const float* add, plane_moments* moments, cpu_isa isa, const Scratch& scratch) {
    const index_t c = g.channels;
    // wk (3 ky, C, 3 kx, Cout): the three kx weight vectors of an output-channel vector for
    // one (ky, input channel) lie Cout floats apart.
    const simclr::detail::cpu_scratch<float> wk(static_cast<std::size_t>(9 * c * c_out));
    for (index_t co = 0; co < c_out; ++co)
      for (index_t ci = 0; ci < c; ++ci)
        for (index_t t = 0; t < 9; ++t)
          wk[static_cast<std::size_t>((((t / 3) * c + ci) * 3 + t % 3) * c_out + co)] =
              w[(co * c + ci) * 9 + t];
    const index_t hwo = g.out_plane(), wp = g.width + 2 * g.padding;
    const index_t pixels = input_pixels(g);
    parallel::parallel_for(0, g.n, 1, [&](index_t i0, index_t i1) {
      float* xp = channels_last::buffer(scratch, buffer_floats(g, c_out));
      float* yp = xp + pixels * c;               // (positions(g), Cout)
      float* plane = yp + positions(g) * c_out;  // x's transpose, then y's valid positions
      for (index_t i = i0; i < i1; ++i) {
        channels_last::pad(c, g.height, g.width, g.padding, x + i * c * g.in_plane(), plane, xp);
        const index_t filled = (g.height + 2 * g.padding) * wp;
        std::fill(xp + filled * c, xp + pixels * c, 0.0f);  // the last block's overrun
        blocks(g, c_out, xp, wk.data(), yp, isa);
        channels_last::crop(c_out, g.out_height(), g.out_width(), yp, wp, plane);
        channels_last::to_channels_first(c_out, hwo, plane, y + i * c_out * hwo,
                                         add != nullptr ? add + i * c_out * hwo : nullptr,
                                         moments != nullptr ? moments + i * c_out : nullptr, isa);
      }
    });
  }

 private:
  /// yp (positions(g), Cout) ← the outputs at every pixel of rows as wide as xp's, by blocks
  /// (avx512: pairs of 16-channel vectors 12 positions at a time, a last single vector 24 at a
  /// time; avx2: 8-channel halves avx2_positions at a time).
  static void blocks(const window2d& g, index_t c_out, const float* xp, const float* wk, float* yp,
                     cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    const index_t c = g.channels, row = (g.width + 2 * g.padding) * c;
    const index_t n = g.out_height() * (g.width + 2 * g.padding);
    for (index_t cv = 0; cv < c_out;) {
      const index_t vectors = isa == cpu_isa::avx512 && c_out - cv >= 32 ? 2 : 1;
      const index_t step = isa != cpu_isa::avx512 ? avx2_positions : (vectors == 2 ? 12 : 24);
      for (index_t b = 0; b * step < n; ++b) {
        const float* xb = xp + b * step * c;
        float* yb = yp + b * step * c_out + cv;
        if (isa != cpu_isa::avx512) {
          avx2_block(xb, c, row, wk + cv, c_out, yb);
          avx2_block(xb, c, row, wk + cv + 8, c_out, yb + 8);
        } else if (vectors == 2) {
          avx512_block<12, 2>(xb, c, row, wk + cv, c_out, yb);
        } else {
          avx512_block<24, 1>(xb, c, row, wk + cv, c_out, yb);
        }
      }
      cv += vectors * channel_vector;
    }
#else
    (void)g, (void)c_out, (void)xp, (void)wk, (void)yp, (void)isa;
#endif
  }

  /// Positions of an avx2 block.
  static constexpr index_t avx2_positions = 10;

  /// Output positions computed: rows as wide as the bordered input, rounded up to whole blocks
  /// of any kind (24 or 12 positions on avx512, avx2_positions on avx2).
  static index_t positions(const window2d& g) {
    const index_t n = g.out_height() * (g.width + 2 * g.padding);
    return std::max((n + 23) / 24 * 24, (n + avx2_positions - 1) / avx2_positions * avx2_positions);
  }

  /// Pixels of the input buffer: the bordered image, and past it what the last block's
  /// windows read (zeros).
  static index_t input_pixels(const window2d& g) {
    const index_t wp = g.width + 2 * g.padding, hp = g.height + 2 * g.padding;
    return std::max(hp * wp, positions(g) + 2 * wp + 2);
  }

  /// Floats of one thread's buffers: the input, the output positions, the transposes' plane.
  static index_t buffer_floats(const window2d& g, index_t c_out) {
    const index_t plane = std::max(g.in_plane() * g.channels, g.out_plane() * c_out);
    return input_pixels(g) * g.channels + positions(g) * c_out + plane;
  }

#if SIMCLR_X86_KERNELS
  /// y[q·ld + 16·v …] ← Σ over ky, ci, kx of x[(q + ky·row/C + kx)·C + ci] ·
  /// wk[((ky·C + ci)·3 + kx)·ld + 16·v …] for the NP positions q of a block and NV 16-channel
  /// vectors v of output channels (NP·NV zmm sums: 24 × 1 or 12 × 2).
  template <int NP, int NV>
  __attribute__((target("avx512f"))) static void avx512_block(const float* x, index_t c,
                                                              index_t row, const float* wk,
                                                              index_t ld, float* y) {
    __m512 acc[NP][NV];
    SIMCLR_DC3_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DC3_UNROLL
    for (int v = 0; v < NV; ++v) acc[q][v] = _mm512_setzero_ps();
    for (index_t ky = 0; ky < 3; ++ky)
      for (index_t ci = 0; ci < c; ++ci) {
        const float* xc = x + ky * row + ci;
        const float* wc = wk + (ky * c + ci) * 3 * ld;
        __m512 w0[NV], w1[NV], w2[NV];
        SIMCLR_DC3_UNROLL
        for (int v = 0; v < NV; ++v) {
          w0[v] = _mm512_loadu_ps(wc + 16 * v);
          w1[v] = _mm512_loadu_ps(wc + ld + 16 * v);
          w2[v] = _mm512_loadu_ps(wc + 2 * ld + 16 * v);
        }
        SIMCLR_DC3_UNROLL
        for (int r = 0; r < NP + 2; ++r) {
          const __m512 b = _mm512_set1_ps(xc[r * c]);
          SIMCLR_DC3_UNROLL
          for (int v = 0; v < NV; ++v) {
            if (r < NP) acc[r][v] = _mm512_fmadd_ps(b, w0[v], acc[r][v]);
            if (r >= 1 && r - 1 < NP) acc[r - 1][v] = _mm512_fmadd_ps(b, w1[v], acc[r - 1][v]);
            if (r >= 2) acc[r - 2][v] = _mm512_fmadd_ps(b, w2[v], acc[r - 2][v]);
          }
        }
      }
    SIMCLR_DC3_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DC3_UNROLL
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(y + q * ld + 16 * v, acc[q][v]);
  }

  /// The same on the avx2 path for 10 positions and 8 output channels (the caller runs both
  /// halves of a 16-channel vector), the lanes' arithmetic avx512_block's: 10 sums, 3 weights
  /// and a broadcast in 14 of the 16 ymm registers (12 positions spilled sums to the stack).
  SIMCLR_AVX2 static void avx2_block(const float* x, index_t c, index_t row, const float* wk,
                                     index_t ld, float* y) {
    constexpr int np = avx2_positions;
    __m256 acc[np];
    SIMCLR_DC3_UNROLL
    for (int q = 0; q < np; ++q) acc[q] = _mm256_setzero_ps();
    for (index_t ky = 0; ky < 3; ++ky)
      for (index_t ci = 0; ci < c; ++ci) {
        const float* xc = x + ky * row + ci;
        const float* wc = wk + (ky * c + ci) * 3 * ld;
        const __m256 w0 = _mm256_loadu_ps(wc), w1 = _mm256_loadu_ps(wc + ld),
                     w2 = _mm256_loadu_ps(wc + 2 * ld);
        SIMCLR_DC3_UNROLL
        for (int r = 0; r < np + 2; ++r) {
          const __m256 b = _mm256_set1_ps(xc[r * c]);
          if (r < np) acc[r] = _mm256_fmadd_ps(b, w0, acc[r]);
          if (r >= 1 && r - 1 < np) acc[r - 1] = _mm256_fmadd_ps(b, w1, acc[r - 1]);
          if (r >= 2) acc[r - 2] = _mm256_fmadd_ps(b, w2, acc[r - 2]);
        }
      }
    SIMCLR_DC3_UNROLL
    for (int q = 0; q < np; ++q) _mm256_storeu_ps(y + q * ld, acc[q]);
  }
#endif
};

}  // namespace simclr::nn

#undef SIMCLR_DC3_UNROLL
