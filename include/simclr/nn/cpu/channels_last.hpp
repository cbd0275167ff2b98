// simclr::nn::channels_last: images between the library's (C, H, W) layout and the channel-last,
// zero-bordered buffers the direct convolution kernels (direct_conv3, direct_weight_grad,
// direct_input_grad) work in, on the CPU.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/backend/cpu/tile_gemm.hpp>
#include <simclr/config.hpp>
#include <simclr/nn/cpu/moments.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>

namespace simclr::nn::channels_last {

/// Whether the direct kernels run where they apply: unless SIMCLR_CONV_DIRECT=0, which keeps
/// the column matrix and the paths before them (read at each call, for side-by-side
/// benchmarks).
inline bool enabled() {
  const char* e = std::getenv("SIMCLR_CONV_DIRECT");
  return e == nullptr || std::strcmp(e, "0") != 0;
}

/// Floats of one image of g's input channel-last with g's zero border.
inline index_t padded_floats(const window2d& g) {
  return (g.height + 2 * g.padding) * (g.width + 2 * g.padding) * g.channels;
}

/// n floats of the calling thread's scratch (`scratch(m)`: a buffer of m floats nothing else
/// uses meanwhile), from a 64-byte boundary: every vector a kernel loads from or stores to
/// them is then one cache line.
template <class Scratch>
float* buffer(const Scratch& scratch, index_t n) {
  return simclr::detail::align_to_line(scratch(n + 16));
}

/// xp ((H + 2·pad) × (W + 2·pad) pixels of C floats) ← image (C, H, W) channel-last inside a
/// zero border of `pad` pixels; `plane` (H·W·C floats) holds the transpose on the way.
inline void pad(index_t c, index_t h, index_t w, index_t pad, const float* image, float* plane,
                float* xp) {
  const index_t wp = w + 2 * pad, row = wp * c;
  simclr::detail::transpose(c, h * w, image, h * w, plane, c);
  std::fill(xp, xp + pad * row, 0.0f);
  for (index_t iy = 0; iy < h; ++iy) {
    float* dst = xp + (iy + pad) * row;
    std::fill(dst, dst + pad * c, 0.0f);
    std::copy_n(plane + iy * w * c, w * c, dst + pad * c);
    std::fill(dst + (pad + w) * c, dst + row, 0.0f);
  }
  std::fill(xp + (h + pad) * row, xp + (h + 2 * pad) * row, 0.0f);
}

/// Where pair j = t·(C / 16) + v of window g — tap t, 16-channel vector v — lies in a bordered
/// channel-last buffer of g's input, in floats from a window's corner.
inline index_t pair_offset(const window2d& g, index_t j) {
  const index_t vectors = g.channels / 16, t = j / vectors, v = j % vectors;
  const index_t wp = g.width + 2 * g.padding;
  return ((t / g.kernel_w) * wp + t % g.kernel_w) * g.channels + v * 16;
}

/// plane (H·W, C) ← the H × W pixels of C floats starting at `first`, rows `pitch` pixels apart
/// (the interior of a bordered buffer, or the valid columns of a wider one).
inline void crop(index_t c, index_t h, index_t w, const float* first, index_t pitch, float* plane) {
  for (index_t y = 0; y < h; ++y) std::copy_n(first + y * pitch * c, w * c, plane + y * w * c);
}

/// dst (C, L) ← planeᵀ for plane (L, C), + add (C, L) if given; with `moments`, each of dst's
/// C planes' plane_moments (for a BatchNorm that follows), while they are in cache.
inline void to_channels_first(index_t c, index_t l, const float* plane, float* dst,
                              const float* add, plane_moments* moments, cpu_isa isa) {
  simclr::detail::transpose(l, c, plane, c, dst, l);
  if (add == nullptr && moments == nullptr) return;
  simclr::detail::with_isa(isa, [&](auto bytes) {
    constexpr std::size_t W = decltype(bytes)::value;
    using L = simclr::detail::simd<float, W>;
    if (add != nullptr) {
      typename L::vec a, b;
      index_t e = 0;
      for (; e + L::width <= c * l; e += L::width) {
        L::load(a, dst + e);
        L::load(b, add + e);
        a += b;
        L::store(dst + e, a);
      }
      for (; e < c * l; ++e) dst[e] += add[e];
    }
    if (moments != nullptr)
      for (index_t ci = 0; ci < c; ++ci) moments[ci] = cpu_moments::plane<W>(dst + ci * l, l);
  });
}

}  // namespace simclr::nn::channels_last
