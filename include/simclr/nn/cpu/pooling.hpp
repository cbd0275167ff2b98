// simclr::nn::pool_kernel<cpu_t>: max pooling with argmax and (adaptive) average pooling.
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

  /// y(i, j·cells + cell) ← the mean of cell `cell` (row-major in the grid) of plane (i, j) of
  /// x (N, C, H, W), stored at y[i·ldy + …] (ldy ≥ C·cells: the columns of a wider matrix; ldy =
  /// C·cells for a plain (N, C·cells) output). Each cell sums its rows in order.
  template <class T>
  static void avg_forward(const avg_grid& g, const T* x, T* y, index_t ldy) {
    const index_t cells = g.cells(), hw = g.in_plane();
    parallel::parallel_for(0, g.n * g.channels, 64, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        const T* plane = x + p * hw;
        T* out = y + (p / g.channels) * ldy + (p % g.channels) * cells;
        for (index_t k = 0; k < cells; ++k) {
          const auto cell = g.cell_at(k);
          T s = 0;
          for (index_t iy = cell.y0; iy < cell.y1; ++iy)
            for (index_t ix = cell.x0; ix < cell.x1; ++ix) s += plane[iy * g.width + ix];
          out[k] = s / static_cast<T>(cell.size());
        }
      }
    });
  }
  /// dx (N, C, H, W) ← each cell's dy / (its element count) over the cell's elements (summed,
  /// in cell order, where cells overlap); dy(i, j·cells + cell) at dy[i·lddy + …]. Added to dx
  /// instead where `accumulate`.
  template <class T>
  static void avg_backward(const avg_grid& g, const T* dy, index_t lddy, T* dx, bool accumulate) {
    const index_t cells = g.cells(), hw = g.in_plane();
    const bool overlapping = g.overlapping();
    parallel::parallel_for(0, g.n * g.channels, 64, [&](index_t p0, index_t p1) {
      for (index_t p = p0; p < p1; ++p) {
        T* plane = dx + p * hw;
        const T* d = dy + (p / g.channels) * lddy + (p % g.channels) * cells;
        if (!accumulate && overlapping)
          for (index_t j = 0; j < hw; ++j) plane[j] = T(0);
        const bool add = accumulate || overlapping;
        for (index_t k = 0; k < cells; ++k) {
          const auto cell = g.cell_at(k);
          const T v = d[k] / static_cast<T>(cell.size());
          for (index_t iy = cell.y0; iy < cell.y1; ++iy) {
            T* row = plane + iy * g.width;
            if (add)
              for (index_t ix = cell.x0; ix < cell.x1; ++ix) row[ix] += v;
            else
              for (index_t ix = cell.x0; ix < cell.x1; ++ix) row[ix] = v;
          }
        }
      }
    });
  }
};

}  // namespace simclr::nn
