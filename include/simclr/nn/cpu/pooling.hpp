// simclr::nn::pool_kernel<cpu_t>: max pooling with argmax and global average pooling.
#pragma once

#include <cstdint>
#include <limits>

#include <simclr/nn/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn {

template <>
struct pool_kernel<cpu_t> {
  /// y (N, C, Ho, Wo) ← max over each window of x (N, C, H, W) (padding counts as −∞);
  /// argmax (N, C, Ho, Wo) ← the index within the input plane of the chosen element (the first
  /// maximum in row-major window order, as PyTorch).
  template <class T>
  static void max_forward(const window2d& g, const T* x, T* y, std::int32_t* argmax) {
    const index_t ho = g.out_height(), wo = g.out_width(), hw = g.in_plane();
    parallel::parallel_for(0, g.n * g.channels, 8, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        const T* plane = x + p * hw;
        T* out = y + p * ho * wo;
        std::int32_t* arg = argmax + p * ho * wo;
        for (index_t oy = 0; oy < ho; ++oy)
          for (index_t ox = 0; ox < wo; ++ox) {
            T best = -std::numeric_limits<T>::infinity();
            index_t best_i = -1;
            for (index_t ky = 0; ky < g.kernel_h; ++ky) {
              const index_t iy = oy * g.stride - g.padding + ky;
              if (iy < 0 || iy >= g.height) continue;
              for (index_t kx = 0; kx < g.kernel_w; ++kx) {
                const index_t ix = ox * g.stride - g.padding + kx;
                if (ix < 0 || ix >= g.width) continue;
                const T v = plane[iy * g.width + ix];
                if (best_i < 0 || v > best || v != v) {  // NaN propagates, as in PyTorch
                  best = v;
                  best_i = iy * g.width + ix;
                }
              }
            }
            out[oy * wo + ox] = best;
            arg[oy * wo + ox] = static_cast<std::int32_t>(best_i);
          }
      }
    });
  }

  /// dx (N, C, H, W) ← dy routed to each window's argmax (summed where windows overlap).
  template <class T>
  static void max_backward(const window2d& g, const T* dy, const std::int32_t* argmax, T* dx) {
    const index_t hwo = g.out_plane(), hw = g.in_plane();
    parallel::parallel_for(0, g.n * g.channels, 8, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        T* plane = dx + p * hw;
        for (index_t j = 0; j < hw; ++j) plane[j] = T(0);
        for (index_t j = 0; j < hwo; ++j)
          if (argmax[p * hwo + j] >= 0) plane[argmax[p * hwo + j]] += dy[p * hwo + j];
      }
    });
  }

  /// y(i, j) ← the mean of plane (i, j) of x (N, C, L), stored at y[i·ldy + j] (ldy ≥ C: the
  /// columns of a wider matrix; ldy = C for a plain (N, C) output).
  template <class T>
  static void avg_forward(index_t n, index_t c, index_t l, const T* x, T* y, index_t ldy) {
    parallel::parallel_for(0, n * c, 64, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        T s = 0;
        for (index_t j = 0; j < l; ++j) s += x[p * l + j];
        y[(p / c) * ldy + p % c] = s / static_cast<T>(l);
      }
    });
  }
  /// dx (N, C, L) ← dy(i, j) / L over each plane (dy(i, j) at dy[i·lddy + j]); added to dx
  /// instead where `accumulate`.
  template <class T>
  static void avg_backward(index_t n, index_t c, index_t l, const T* dy, index_t lddy, T* dx,
                           bool accumulate) {
    parallel::parallel_for(0, n * c, 64, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        const T v = dy[(p / c) * lddy + p % c] / static_cast<T>(l);
        T* plane = dx + p * l;
        if (accumulate)
          for (index_t j = 0; j < l; ++j) plane[j] += v;
        else
          for (index_t j = 0; j < l; ++j) plane[j] = v;
      }
    });
  }
};

}  // namespace simclr::nn
