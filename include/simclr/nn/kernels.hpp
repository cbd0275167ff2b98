// The per-backend kernels of the nn layers: primary templates that name the op when a backend lacks it.
#pragma once

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>

namespace simclr::nn {

/// Geometry of a 2-D convolution or pooling window over an (N, C, H, W) batch.
struct window2d {
  index_t n = 0, channels = 0, height = 0, width = 0;  // input
  index_t kernel_h = 1, kernel_w = 1, stride = 1, padding = 0;
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t out_height() const {
    return (height + 2 * padding - kernel_h) / stride + 1;
  }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t out_width() const {
    return (width + 2 * padding - kernel_w) / stride + 1;
  }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t out_plane() const {
    return out_height() * out_width();
  }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t in_plane() const {
    return height * width;
  }
};

/// Geometry of adaptive average pooling: each (H, W) plane of an (N, C, H, W) batch split into
/// grid × grid cells with PyTorch's AdaptiveAvgPool2d bounds — cell i of an axis of size S covers
/// [⌊i·S/grid⌋, ⌈(i+1)·S/grid⌉), so cells overlap where grid does not divide S. grid 1 is the
/// global average.
struct avg_grid {
  index_t n = 0, channels = 0, height = 0, width = 0, grid = 1;
  /// Rows [y0, y1) and columns [x0, x1) of one cell.
  struct cell {
    index_t y0, y1, x0, x1;
    [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t size() const {
      return (y1 - y0) * (x1 - x0);
    }
  };
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t cells() const { return grid * grid; }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr index_t in_plane() const { return height * width; }
  /// Cell k, row-major in the grid.
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr cell cell_at(index_t k) const {
    const index_t cy = k / grid, cx = k % grid;
    return {cy * height / grid, ((cy + 1) * height + grid - 1) / grid, cx * width / grid,
            ((cx + 1) * width + grid - 1) / grid};
  }
  /// The cells along one axis of `side` elements whose span holds element i: [first, last), at
  /// least one, several where cells overlap (⌊k·side/grid⌋ ≤ i < ⌈(k+1)·side/grid⌉).
  struct span {
    index_t first, last;
  };
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr span cells_holding(index_t i, index_t side) const {
    const index_t first = i * grid / side, last = ((i + 1) * grid + side - 1) / side;
    return {first, last < grid ? last : grid};
  }
  /// Whether some element lies in more than one cell.
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr bool overlapping() const {
    return height % grid != 0 || width % grid != 0;
  }
};

// Each primary template fails with the op's name; a backend provides a specialisation:
//   CPU: <simclr/backend/cpu/*.hpp> (included by the layer headers)
//   CUDA: <simclr/backend/cuda/*.cuh> (nvcc only)

template <class Backend>
struct conv2d_kernel {
  static_assert(detail::always_false<Backend>,
                "simclr: op 'conv2d' has no kernel for this backend — for simclr::cuda_t include "
                "<simclr/cuda.cuh>, compile with nvcc and link simclr::cuda");
};
template <class Backend>
struct batch_norm_kernel {
  static_assert(detail::always_false<Backend>,
                "simclr: op 'batch_norm' has no kernel for this backend — for simclr::cuda_t "
                "include <simclr/cuda.cuh>, compile with nvcc and link simclr::cuda");
};
template <class Backend>
struct pool_kernel {
  static_assert(detail::always_false<Backend>,
                "simclr: ops 'max_pool2d' / 'adaptive_avg_pool' have no kernel for this backend — "
                "for simclr::cuda_t include <simclr/cuda.cuh>, compile with nvcc and link "
                "simclr::cuda");
};
template <class Backend>
struct elementwise_kernel {
  static_assert(detail::always_false<Backend>,
                "simclr: elementwise ops (relu, add, bias) have no kernel for this backend — for "
                "simclr::cuda_t include <simclr/cuda.cuh>, compile with nvcc and link "
                "simclr::cuda");
};

}  // namespace simclr::nn
