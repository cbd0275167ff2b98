// simclr::nn::direct_weight_grad: a float convolution's weight gradient on the CPU straight from
// the images — no column matrix — on the avx512 and avx2 paths.
#pragma once

#include <algorithm>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/tiles_avx2.hpp>
#include <simclr/config.hpp>
#include <simclr/nn/cpu/channels_last.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

#if SIMCLR_X86_KERNELS
#include <immintrin.h>
#endif

#if defined(__clang__)
#define SIMCLR_DWG_UNROLL _Pragma("unroll")
#else
#define SIMCLR_DWG_UNROLL _Pragma("GCC unroll 16")
#endif

namespace simclr::nn {

/// dw (Cout, C, kh, kw) += Σ over images and output positions of dy(co, p) · x(c, p's tap t).
///
/// Each image is first copied channel-last into a zero-bordered buffer, (H + 2p) × (W + 2p)
/// pixels of C floats, so that every tap of every output position reads its C input channels as
/// whole vectors and no position needs a mask. Then register blocks of 8 (avx512) or 4 (avx2)
/// output channels × 3 (tap, 16-channel vector) pairs walk the image's output positions: per
/// position 3 vector loads and one broadcast of dy per output channel feed 24 (12) FMAs, the
/// blocks' sums staying in registers over the whole image. im2col + GEMM instead writes and
/// reads a column matrix kh·kw times the image (the 16- and 32-channel layers of a small
/// ResNet spent more time building it than in the product) and its narrow GEMM (16 or 32
/// columns) loads a vector per 8 FMAs.
///
/// Every weight's gradient is one float sum per image, position by position in order from zero,
/// added to its chunk's partial; the images are taken in fixed chunks (at most max_parts, each
/// summed in image order), and the partials are added in chunk order. The order depends on the
/// shapes only: the same bits on both paths and for any thread count.
struct direct_weight_grad {
  /// Output channels per register block on the avx512 path (4 on avx2).
  static constexpr index_t block_outputs = 8;
  /// Input channels per vector on both paths (avx2 takes two 8-lane halves): the same
  /// applicability, and so the same bits, on both.
  static constexpr index_t channel_vector = 16;
  /// Most partial gradients one call keeps (chunks of images beyond that).
  static constexpr index_t max_parts = 32;
  /// Floats of padded images a register block walks before its sums go to the partial (up to
  /// a chunk's images, at least one; 1 MiB: they stay in L2).
  static constexpr index_t group_floats = index_t{1} << 18;
  /// Fewer output positions per image stay with im2col + GEMM, and so do 1 × 1 windows (one
  /// tap: a vector load per 8 FMAs) — measured on an Intel Xeon (avx512, fmnist-r18w16's
  /// layers): 4 × 4 outputs 0.92×, 1 × 1 windows 0.64–0.84×; 7 × 7 outputs 1.18×.
  static constexpr index_t min_positions = 32;
  /// The largest weight (Cout·C·kh·kw) taken here: max_parts partials of it stay within 9 MiB.
  /// Larger weights belong to wide layers, whose column matrices the GEMM uses well.
  static constexpr index_t max_weights = 128 * 64 * 9;

  /// Whether (g, Cout) runs here on `isa`: the avx512 or avx2 path, input channels a multiple of
  /// channel_vector, output channels of block_outputs, at least 2 taps, min_positions and a
  /// weight of at most max_weights — unless channels_last::enabled() says otherwise.
  [[nodiscard]] static bool applies(const window2d& g, index_t c_out, cpu_isa isa) {
    if (isa != cpu_isa::avx512 && isa != cpu_isa::avx2) return false;
    if (g.channels % channel_vector != 0 || c_out % block_outputs != 0) return false;
    const index_t taps = g.kernel_h * g.kernel_w;
    if (taps < 2 || g.out_plane() < min_positions || c_out * g.channels * taps > max_weights)
      return false;
    return channels_last::enabled();
  }

  /// dw += ∂/∂w for x (N, C, H, W) and dy (N, Cout, Ho, Wo), where applies(). `scratch(n)`
  /// gives the calling thread a buffer of n floats that nothing else uses meanwhile.
  template <class Scratch>
  static void run(const window2d& g, index_t c_out, const float* x, const float* dy, float* dw,
                  cpu_isa isa, const Scratch& scratch) {
    const index_t taps = g.kernel_h * g.kernel_w, c = g.channels;
    const index_t part = c_out * taps * c;  // a partial: (Cout, taps, C)
    const index_t chunk = (g.n + max_parts - 1) / max_parts;
    const index_t n_chunks = (g.n + chunk - 1) / chunk;
    const simclr::detail::cpu_scratch<float> parts(static_cast<std::size_t>(n_chunks * part));
    const index_t padded = channels_last::padded_floats(g);
    const index_t group = std::clamp<index_t>(group_floats / padded, 1, chunk);
    parallel::parallel_for(0, g.n, chunk, [&](index_t i0, index_t i1) {
      float* p = parts.data() + (i0 / chunk) * part;
      std::fill(p, p + part, 0.0f);
      float* xp = channels_last::buffer(scratch, group * padded + g.in_plane() * c);
      float* plane = xp + group * padded;
      for (index_t n0 = i0; n0 < i1; n0 += group) {
        const index_t n1 = std::min(i1, n0 + group);
        for (index_t i = n0; i < n1; ++i)
          channels_last::pad(c, g.height, g.width, g.padding, x + i * c * g.in_plane(), plane,
                             xp + (i - n0) * padded);
        images(g, c_out, xp, n1 - n0, dy + n0 * c_out * g.out_plane(), p, isa);
      }
    });
    // Chunk 0's partial sums the others in order, then dw (Cout, C, taps) += it.
    parallel::parallel_for(0, c_out, 4, [&](index_t o0, index_t o1) {
      float* sum = parts.data() + o0 * taps * c;
      const index_t len = (o1 - o0) * taps * c;
      for (index_t k = 1; k < n_chunks; ++k) {
        const float* q = sum + k * part;
        for (index_t e = 0; e < len; ++e) sum[e] += q[e];
      }
      for (index_t co = o0; co < o1; ++co)
        for (index_t t = 0; t < taps; ++t)
          for (index_t ci = 0; ci < c; ++ci)
            dw[(co * c + ci) * taps + t] += sum[((co - o0) * taps + t) * c + ci];
    });
  }

 private:
  /// Output positions and how xp is walked: `images` images `image` floats apart (their dy
  /// dy_image apart), each rows of Ho × Wo positions, the window corner of output row oy at
  /// oy·row_step, of column ox at ox·col_step further.
  struct geometry {
    index_t images, image, dy_image, ho, wo, row_step, col_step, hwo;
  };

  /// p (Cout, taps, C) += the sums of `count` images (xp: each padded channel-last, dy (count,
  /// Cout, Ho, Wo)).
  static void images(const window2d& g, index_t c_out, const float* xp, index_t count,
                     const float* dy, float* p, cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    const index_t c = g.channels, vectors = c / channel_vector;
    const index_t pairs = g.kernel_h * g.kernel_w * vectors, row = g.kernel_h * g.kernel_w * c;
    const index_t wp = g.width + 2 * g.padding;
    const geometry geo{count,
                       channels_last::padded_floats(g),
                       c_out * g.out_plane(),
                       g.out_height(),
                       g.out_width(),
                       g.stride * wp * c,
                       g.stride * c,
                       g.out_plane()};
    // Pairs j = t·(C / 16) + v (tap t, channel vector v), in blocks of up to 3: where each
    // reads from an output position's window corner in xp; its 16 sums go to j·16 of a row.
    for (index_t j0 = 0; j0 < pairs; j0 += 3) {
      const index_t nj = std::min<index_t>(3, pairs - j0);
      index_t read[3] = {0, 0, 0};
      for (index_t u = 0; u < nj; ++u) read[u] = channels_last::pair_offset(g, j0 + u);
      float* out = p + j0 * channel_vector;
      if (isa == cpu_isa::avx512) {
        for (index_t co = 0; co < c_out; co += 8) {
          const float* d = dy + co * geo.hwo;
          float* o = out + co * row;
          if (nj == 3) avx512_block<3>(geo, xp, read, d, o, row);
          if (nj == 2) avx512_block<2>(geo, xp, read, d, o, row);
          if (nj == 1) avx512_block<1>(geo, xp, read, d, o, row);
        }
      } else {
        for (index_t co = 0; co < c_out; co += 4) {
          const float* d = dy + co * geo.hwo;
          float* o = out + co * row;
          for (index_t half = 0; half < 2; ++half) {
            const index_t r[3] = {read[0] + 8 * half, read[1] + 8 * half, read[2] + 8 * half};
            if (nj == 3) avx2_block<3>(geo, xp, r, d, o + 8 * half, row);
            if (nj == 2) avx2_block<2>(geo, xp, r, d, o + 8 * half, row);
            if (nj == 1) avx2_block<1>(geo, xp, r, d, o + 8 * half, row);
          }
        }
      }
    }
#else
    (void)g, (void)c_out, (void)xp, (void)count, (void)dy, (void)p, (void)isa;
#endif
  }

#if SIMCLR_X86_KERNELS
  /// out[co·ld + 16·u …] += Σ over positions of dy[co·hwo + pos] · xp[corner + read[u] …], for
  /// 8 output channels co and NJ pairs u: 8·NJ zmm sums, one broadcast of dy per channel.
  template <int NJ>
  __attribute__((target("avx512f"))) static void avx512_block(const geometry& geo, const float* xp,
                                                              const index_t* read, const float* dy,
                                                              float* out, index_t ld) {
    __m512 acc[8][NJ];
    SIMCLR_DWG_UNROLL
    for (int o = 0; o < 8; ++o) SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) acc[o][u] = _mm512_setzero_ps();
    const float* src[NJ];
    SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) src[u] = xp + read[u];
    for (index_t i = 0; i < geo.images; ++i)
      for (index_t oy = 0; oy < geo.ho; ++oy) {
        const float* d = dy + i * geo.dy_image + oy * geo.wo;
        const index_t corner = i * geo.image + oy * geo.row_step;
        for (index_t ox = 0; ox < geo.wo; ++ox) {
          const index_t at = corner + ox * geo.col_step;
          __m512 xv[NJ];
          SIMCLR_DWG_UNROLL
          for (int u = 0; u < NJ; ++u) xv[u] = _mm512_loadu_ps(src[u] + at);
          SIMCLR_DWG_UNROLL
          for (int o = 0; o < 8; ++o) {
            const __m512 b = _mm512_set1_ps(d[o * geo.hwo + ox]);
            SIMCLR_DWG_UNROLL
            for (int u = 0; u < NJ; ++u) acc[o][u] = _mm512_fmadd_ps(b, xv[u], acc[o][u]);
          }
        }
      }
    SIMCLR_DWG_UNROLL
    for (int o = 0; o < 8; ++o) SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) {
      float* q = out + o * ld + 16 * u;
      _mm512_storeu_ps(q, _mm512_add_ps(_mm512_loadu_ps(q), acc[o][u]));
    }
  }

  /// The same on the avx2 path for 4 output channels and NJ 8-channel halves of pairs (the
  /// caller runs both halves): 4·NJ ymm sums, the lanes' arithmetic avx512_block's.
  template <int NJ>
  SIMCLR_AVX2 static void avx2_block(const geometry& geo, const float* xp, const index_t* read,
                                     const float* dy, float* out, index_t ld) {
    __m256 acc[4][NJ];
    SIMCLR_DWG_UNROLL
    for (int o = 0; o < 4; ++o) SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) acc[o][u] = _mm256_setzero_ps();
    const float* src[NJ];
    SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) src[u] = xp + read[u];
    for (index_t i = 0; i < geo.images; ++i)
      for (index_t oy = 0; oy < geo.ho; ++oy) {
        const float* d = dy + i * geo.dy_image + oy * geo.wo;
        const index_t corner = i * geo.image + oy * geo.row_step;
        for (index_t ox = 0; ox < geo.wo; ++ox) {
          const index_t at = corner + ox * geo.col_step;
          __m256 xv[NJ];
          SIMCLR_DWG_UNROLL
          for (int u = 0; u < NJ; ++u) xv[u] = _mm256_loadu_ps(src[u] + at);
          SIMCLR_DWG_UNROLL
          for (int o = 0; o < 4; ++o) {
            const __m256 b = _mm256_set1_ps(d[o * geo.hwo + ox]);
            SIMCLR_DWG_UNROLL
            for (int u = 0; u < NJ; ++u) acc[o][u] = _mm256_fmadd_ps(b, xv[u], acc[o][u]);
          }
        }
      }
    SIMCLR_DWG_UNROLL
    for (int o = 0; o < 4; ++o) SIMCLR_DWG_UNROLL
    for (int u = 0; u < NJ; ++u) {
      float* q = out + o * ld + 16 * u;
      _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), acc[o][u]));
    }
  }
#endif
};

}  // namespace simclr::nn

#undef SIMCLR_DWG_UNROLL
