// simclr::nn::direct_input_grad: a float convolution's input gradient on the CPU straight from
// dy — no column matrix, no col2im — on the avx512 and avx2 paths.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

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
#define SIMCLR_DIG_UNROLL _Pragma("unroll")
#else
#define SIMCLR_DIG_UNROLL _Pragma("GCC unroll 16")
#endif

namespace simclr::nn {

/// dx (N, C, H, W) = Σ over output positions p and taps t of Σ_co dy(co, p) · w(co, ·, t) at the
/// input pixel tap t of p reads — the convolution's adjoint, scattered from dy.
///
/// Per image, dx is built channel-last in a zero-bordered buffer, (H + 2p) × (W + 2p) pixels of
/// C floats, so that every (position, tap) lands on whole vectors of channels with no mask. Then
/// register blocks of 8 positions × 3 (tap, 16-channel vector) pairs (avx2: 4 positions × 3
/// 8-channel halves) sum over the output channels — per output channel 3 vector loads of the
/// weights (laid out (Cout, taps, C)) and one broadcast of dy per position feed 24 (12) FMAs —
/// and add their sums into the buffer; finally the buffer's interior is transposed back into dx
/// (plus dx_add). For stride 2 this replaces Wᵀ·dy into a column matrix and its col2im; for
/// stride 1 the convolution of dy with the flipped weights through im2col.
///
/// Each element of dx adds its contributions in a fixed order — blocks of pairs, then positions
/// in order, then pairs — each contribution summed over the output channels in order from zero;
/// images are independent. The order depends on the shapes only: the same bits on both paths
/// and for any thread count.
struct direct_input_grad {
  /// Input channels per vector on both paths (avx2 takes two 8-lane halves).
  static constexpr index_t channel_vector = 16;

  /// Whether (g, Cout) runs here on `isa`: the avx512 or avx2 path, input channels a multiple of
  /// channel_vector, at least 3 (tap, channel vector) pairs, fewer than max_stride1_channels
  /// input channels where the stride is 1 — unless channels_last::enabled() says otherwise.
  [[nodiscard]] static bool applies(const window2d& g, index_t c_out, cpu_isa isa) {
    if (isa != cpu_isa::avx512 && isa != cpu_isa::avx2) return false;
    if (g.channels % channel_vector != 0 || c_out < min_sums) return false;
    if (g.kernel_h * g.kernel_w * (g.channels / channel_vector) < 3) return false;
    if (g.stride == 1 && g.channels >= max_stride1_channels) return false;
    return channels_last::enabled();
  }

  /// Measured on an Intel Xeon (avx512, fmnist-r18w16's layers, against the path each layer
  /// took before): stride 2 1.5–2.2× (3 × 3) and 1.4–1.5× (1 × 1 from 64 channels; from 16 and
  /// 32 channels, one or two pairs, 0.8–0.97×: a vector load per 8 FMAs); stride 1 1.05–1.4× at
  /// 16 and 32 channels, while with 64 and more channels the input gradient of a stride-1
  /// convolution runs as a forward convolution by Winograd or the packed product (128 channels
  /// at 4 × 4: direct 0.59–0.77×).
  static constexpr index_t max_stride1_channels = 64;

  /// Fewer output channels (the sums of a block) and a block would spend more on adding its
  /// sums to the buffer than on its FMAs (a convolution's forward runs here with its input
  /// channels in that place: a stem's 1 or 3 stay with im2col).
  static constexpr index_t min_sums = 8;

  /// dx ← ∂/∂x (+ dx_add if given) for w (Cout, C, kh, kw) and dy (N, Cout, Ho, Wo), where
  /// applies(); with `moments` (N·C), each plane of dx's plane_moments as well, taken while
  /// the image is in cache (conv2d's stride-1 forward runs here as the adjoint of its
  /// transposed convolution, for a BatchNorm that follows). `scratch(n)` gives the calling
  /// thread a buffer of n floats that nothing else uses meanwhile.
  template <class Scratch>
  static void run(const window2d& g, index_t c_out, const float* w, const float* dy, float* dx,
                  const float* dx_add, cpu_isa isa, const Scratch& scratch,
                  plane_moments* moments = nullptr) {
    const index_t taps = g.kernel_h * g.kernel_w, c = g.channels;
    // wt (pairs, Cout, 16): pair j = t·(C / 16) + v (tap t, channel vector v) holds each output
    // channel's 16 weights in a row, so that a block streams its pairs' weights in order.
    const index_t vectors = c / channel_vector;
    const simclr::detail::cpu_scratch<float> wt(static_cast<std::size_t>(c_out * taps * c));
    for (index_t co = 0; co < c_out; ++co)
      for (index_t ci = 0; ci < c; ++ci)
        for (index_t t = 0; t < taps; ++t) {
          const index_t j = t * vectors + ci / channel_vector;
          wt[static_cast<std::size_t>((j * c_out + co) * channel_vector + ci % channel_vector)] =
              w[(co * c + ci) * taps + t];
        }
    const index_t hw = g.in_plane(), image = c * hw;
    // Each output position's window corner in the buffer (the same for every image).
    const index_t wp = g.width + 2 * g.padding, wo = g.out_width();
    std::vector<index_t> corner(static_cast<std::size_t>(g.out_plane()));
    for (index_t p = 0; p < g.out_plane(); ++p)
      corner[static_cast<std::size_t>(p)] = ((p / wo) * wp + p % wo) * g.stride * c;
    parallel::parallel_for(0, g.n, 1, [&](index_t i0, index_t i1) {
      const index_t padded = channels_last::padded_floats(g);
      float* buf = channels_last::buffer(scratch, padded + hw * c);
      float* plane = buf + padded;
      for (index_t i = i0; i < i1; ++i) {
        std::fill(buf, buf + padded, 0.0f);
        scatter(g, c_out, wt.data(), dy + i * c_out * g.out_plane(), corner.data(), buf, isa);
        channels_last::crop(c, g.height, g.width, buf + (g.padding * wp + g.padding) * c, wp,
                            plane);
        channels_last::to_channels_first(c, hw, plane, dx + i * image,
                                         dx_add != nullptr ? dx_add + i * image : nullptr,
                                         moments != nullptr ? moments + i * c : nullptr, isa);
      }
    });
  }

 private:
  /// A block's constants: output channels, dy's plane, floats between pairs in wt.
  struct block_geometry {
    index_t c_out, hwo, ld;
  };

  /// buf += the contributions of one image's dy (Cout, Ho, Wo).
  static void scatter(const window2d& g, index_t c_out, const float* wt, const float* dy,
                      const index_t* corner, float* buf, cpu_isa isa) {
#if SIMCLR_X86_KERNELS
    const index_t pairs = g.kernel_h * g.kernel_w * (g.channels / channel_vector);
    const index_t hwo = g.out_plane();
    const block_geometry geo{c_out, hwo, c_out * channel_vector};
    const index_t np = isa == cpu_isa::avx512 ? 8 : 4;
    for (index_t j0 = 0; j0 < pairs; j0 += 3) {
      const index_t nj = std::min<index_t>(3, pairs - j0);
      index_t to[3] = {0, 0, 0};
      for (index_t u = 0; u < nj; ++u) to[u] = channels_last::pair_offset(g, j0 + u);
      const float* wj = wt + j0 * geo.ld;
      for (index_t p0 = 0; p0 < hwo; p0 += np) {
        const index_t n = std::min(np, hwo - p0);
        const index_t* at = corner + p0;
        const float* d = dy + p0;
        if (isa == cpu_isa::avx512) {
          by_size<8>(n, nj, [&](auto np, auto pairs_in_block) {
            avx512_block<np.value, pairs_in_block.value>(geo, wj, d, buf, at, to);
          });
        } else {
          for (index_t half = 0; half < 2; ++half) {
            const index_t h[3] = {to[0] + 8 * half, to[1] + 8 * half, to[2] + 8 * half};
            by_size<4>(n, nj, [&](auto np, auto pairs_in_block) {
              avx2_block<np.value, pairs_in_block.value>(geo, wj + 8 * half, d, buf, at, h);
            });
          }
        }
      }
    }
#else
    (void)g, (void)c_out, (void)wt, (void)dy, (void)corner, (void)buf, (void)isa;
#endif
  }

#if SIMCLR_X86_KERNELS
  /// f(NP, NJ) (integral constants) for n ≤ MaxNP positions and nj ≤ 3 pairs: the block
  /// kernel instantiated for that size.
  template <int MaxNP, class F>
  static void by_size(index_t n, index_t nj, const F& f) {
    if constexpr (MaxNP > 1) {
      if (n < MaxNP) {
        by_size<MaxNP - 1>(n, nj, f);
        return;
      }
    }
    using np = std::integral_constant<int, MaxNP>;
    if (nj == 3) {
      f(np{}, std::integral_constant<int, 3>{});
    } else if (nj == 2) {
      f(np{}, std::integral_constant<int, 2>{});
    } else {
      f(np{}, std::integral_constant<int, 1>{});
    }
  }

  /// buf[at[q] + to[u] …] += Σ_co dy[co·hwo + q] · wj[u·ld + 16·co …] for NP positions q and NJ
  /// pairs u: NP·NJ zmm sums over the output channels, added position by position, pair by pair.
  template <int NP, int NJ>
  __attribute__((target("avx512f"))) static void avx512_block(const block_geometry& geo,
                                                              const float* wj, const float* d,
                                                              float* buf, const index_t* at,
                                                              const index_t* to) {
    __m512 acc[NP][NJ];
    SIMCLR_DIG_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DIG_UNROLL
    for (int u = 0; u < NJ; ++u) acc[q][u] = _mm512_setzero_ps();
    for (index_t co = 0; co < geo.c_out; ++co) {
      const float* wc = wj + 16 * co;
      const float* dc = d + co * geo.hwo;
      __m512 wv[NJ];
      SIMCLR_DIG_UNROLL
      for (int u = 0; u < NJ; ++u) wv[u] = _mm512_loadu_ps(wc + u * geo.ld);
      SIMCLR_DIG_UNROLL
      for (int q = 0; q < NP; ++q) {
        const __m512 b = _mm512_set1_ps(dc[q]);
        SIMCLR_DIG_UNROLL
        for (int u = 0; u < NJ; ++u) acc[q][u] = _mm512_fmadd_ps(b, wv[u], acc[q][u]);
      }
    }
    SIMCLR_DIG_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DIG_UNROLL
    for (int u = 0; u < NJ; ++u) {
      float* o = buf + at[q] + to[u];
      _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), acc[q][u]));
    }
  }

  /// The same on the avx2 path for NP positions and NJ 8-channel halves of pairs (the caller
  /// runs both halves), the lanes' arithmetic avx512_block's.
  template <int NP, int NJ>
  SIMCLR_AVX2 static void avx2_block(const block_geometry& geo, const float* wj, const float* d,
                                     float* buf, const index_t* at, const index_t* to) {
    __m256 acc[NP][NJ];
    SIMCLR_DIG_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DIG_UNROLL
    for (int u = 0; u < NJ; ++u) acc[q][u] = _mm256_setzero_ps();
    for (index_t co = 0; co < geo.c_out; ++co) {
      const float* wc = wj + 16 * co;
      const float* dc = d + co * geo.hwo;
      __m256 wv[NJ];
      SIMCLR_DIG_UNROLL
      for (int u = 0; u < NJ; ++u) wv[u] = _mm256_loadu_ps(wc + u * geo.ld);
      SIMCLR_DIG_UNROLL
      for (int q = 0; q < NP; ++q) {
        const __m256 b = _mm256_set1_ps(dc[q]);
        SIMCLR_DIG_UNROLL
        for (int u = 0; u < NJ; ++u) acc[q][u] = _mm256_fmadd_ps(b, wv[u], acc[q][u]);
      }
    }
    SIMCLR_DIG_UNROLL
    for (int q = 0; q < NP; ++q) SIMCLR_DIG_UNROLL
    for (int u = 0; u < NJ; ++u) {
      float* o = buf + at[q] + to[u];
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), acc[q][u]));
    }
  }
#endif
};

}  // namespace simclr::nn

#undef SIMCLR_DIG_UNROLL
