// simclr::nn::pool_kernel<cuda_t>: max pooling with argmax and (adaptive) average pooling on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cmath>
#include <cstdint>

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/nn/kernels.hpp>

namespace simclr::nn {

namespace cuda_detail {
/// One thread per output element; the window is scanned in the CPU's row-major order.
template <class T>
__global__ void max_pool_forward(window2d g, const T* x, T* y, std::int32_t* argmax) {
  const index_t ho = g.out_height(), wo = g.out_width(), total = g.n * g.channels * ho * wo;
  for (index_t o = cuda_backend::thread_index(); o < total; o += cuda_backend::thread_stride()) {
    const index_t ox = o % wo, oy = (o / wo) % ho, p = o / (wo * ho);
    const T* plane = x + p * g.in_plane();
    T best = T(0);
    index_t best_i = -1;
    for (index_t ky = 0; ky < g.kernel_h; ++ky) {
      const index_t iy = oy * g.stride - g.padding + ky;
      if (iy < 0 || iy >= g.height) continue;
      for (index_t kx = 0; kx < g.kernel_w; ++kx) {
        const index_t ix = ox * g.stride - g.padding + kx;
        if (ix < 0 || ix >= g.width) continue;
        const T v = plane[iy * g.width + ix];
        if (best_i < 0 || v > best || v != v) {  // NaN propagates, as on the CPU
          best = v;
          best_i = iy * g.width + ix;
        }
      }
    }
    // A window always overlaps the input (padding ≤ kernel/2 is checked by the layer), so
    // best_i ≥ 0 here; −∞ only if it did not.
    y[o] = best_i >= 0 ? best : -INFINITY;
    argmax[o] = static_cast<std::int32_t>(best_i);
  }
}

/// One thread per input element, gathering from the windows that contain it in row-major
/// output order (the CPU's summation order, no atomics).
template <class T>
__global__ void max_pool_backward(window2d g, const T* dy, const std::int32_t* argmax, T* dx) {
  const index_t ho = g.out_height(), wo = g.out_width(), hw = g.in_plane();
  const index_t total = g.n * g.channels * hw;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t j = e % hw, p = e / hw, iy = j / g.width, ix = j % g.width;
    // Outputs oy with oy·s − pad ≤ iy ≤ oy·s − pad + k − 1 (all numerators kept ≥ 0).
    const index_t ty = iy + g.padding, tx = ix + g.padding;
    const index_t oy0 = ty >= g.kernel_h ? (ty - g.kernel_h) / g.stride + 1 : 0;
    const index_t ox0 = tx >= g.kernel_w ? (tx - g.kernel_w) / g.stride + 1 : 0;
    const index_t oy1 = ty / g.stride < ho - 1 ? ty / g.stride : ho - 1;
    const index_t ox1 = tx / g.stride < wo - 1 ? tx / g.stride : wo - 1;
    T s = T(0);
    for (index_t oy = oy0; oy <= oy1; ++oy)
      for (index_t ox = ox0; ox <= ox1; ++ox) {
        const index_t o = (p * ho + oy) * wo + ox;
        if (argmax[o] == j) s += dy[o];
      }
    dx[e] = s;
  }
}

/// One thread per (plane, cell), each cell summed row by row as on the CPU.
template <class T>
__global__ void avg_pool_forward(avg_grid g, const T* x, T* y, index_t ldy) {
  const index_t cells = g.cells(), total = g.n * g.channels * cells;
  for (index_t o = cuda_backend::thread_index(); o < total; o += cuda_backend::thread_stride()) {
    const index_t p = o / cells, k = o % cells;
    const auto cell = g.cell_at(k);
    const T* plane = x + p * g.in_plane();
    T s = 0;
    for (index_t iy = cell.y0; iy < cell.y1; ++iy)
      for (index_t ix = cell.x0; ix < cell.x1; ++ix) s += plane[iy * g.width + ix];
    y[(p / g.channels) * ldy + (p % g.channels) * cells + k] = s / static_cast<T>(cell.size());
  }
}
/// One thread per input element: the shares of the cells that contain it (only those: the
/// rows and columns of cells avg_grid::cells_holding names), in cell order.
template <class T>
__global__ void avg_pool_backward(avg_grid g, const T* dy, index_t lddy, T* dx, bool accumulate) {
  const index_t hw = g.in_plane(), total = g.n * g.channels * hw;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t p = e / hw, iy = (e % hw) / g.width, ix = e % g.width;
    const T* d = dy + (p / g.channels) * lddy + (p % g.channels) * g.cells();
    const auto rows = g.cells_holding(iy, g.height), cols = g.cells_holding(ix, g.width);
    T s = 0;
    for (index_t cy = rows.first; cy < rows.last; ++cy)
      for (index_t cx = cols.first; cx < cols.last; ++cx) {
        const index_t k = cy * g.grid + cx;
        s += d[k] / static_cast<T>(g.cell_at(k).size());
      }
    dx[e] = accumulate ? dx[e] + s : s;
  }
}
}  // namespace cuda_detail

/// Same contracts as pool_kernel<cpu_t> (<simclr/nn/cpu/pooling.hpp>); device pointers.
template <>
struct pool_kernel<cuda_t> {
  template <class T>
  static void max_forward(const window2d& g, const T* x, T* y, std::int32_t* argmax) {
    const index_t total = g.n * g.channels * g.out_plane();
    if (total == 0) return;
    cuda_detail::max_pool_forward<T>
        <<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(g, x, y, argmax);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void max_backward(const window2d& g, const T* dy, const std::int32_t* argmax, T* dx) {
    const index_t total = g.n * g.channels * g.in_plane();
    if (total == 0) return;
    cuda_detail::max_pool_backward<T>
        <<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(g, dy, argmax, dx);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void avg_forward(const avg_grid& g, const T* x, T* y, index_t ldy) {
    const index_t total = g.n * g.channels * g.cells();
    if (total == 0) return;
    cuda_detail::avg_pool_forward<T>
        <<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(g, x, y, ldy);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void avg_backward(const avg_grid& g, const T* dy, index_t lddy, T* dx, bool accumulate) {
    const index_t total = g.n * g.channels * g.in_plane();
    if (total == 0) return;
    cuda_detail::avg_pool_backward<T>
        <<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(g, dy, lddy, dx,
                                                                          accumulate);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace simclr::nn
