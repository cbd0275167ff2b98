// simclr::nn::adaptive_avg_pool: (N, C, H, W) → (N, C·g²), each plane averaged over a g × g grid
// of cells (PyTorch's AdaptiveAvgPool2d(g) then flatten); g = 1 is the global average.
#pragma once

#include <string>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/cpu/pooling.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// Adaptive average pooling, flattened: output column c·g² + (row·g + col) is the mean of cell
/// (row, col) of plane c, the cells bounded as in PyTorch (nn::avg_grid: they overlap where g
/// does not divide the plane's side). The ResNet representation h is this layer's output (g = 1,
/// global_avg_pool) or, with resnet_options::pool_grid, over a grid.
template <class T = float, backend Backend = cpu_t>
class adaptive_avg_pool {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  /// `grid` cells per side, in [1, max_grid].
  explicit adaptive_avg_pool(index_t grid = 1) : grid_(grid) {
    if (grid < 1 || grid > max_grid)
      throw value_error("simclr: adaptive_avg_pool: grid is " + std::to_string(grid) +
                        ", expected 1 to " + std::to_string(max_grid));
  }
  static constexpr index_t max_grid = 64;

  [[nodiscard]] index_t grid() const noexcept { return grid_; }
  /// Output columns per input channel, g².
  [[nodiscard]] index_t cells() const noexcept { return grid_ * grid_; }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    expect_rank(x, 4, "adaptive_avg_pool: input");
    tensor<T, Backend> y(shape{x.extent(0), x.extent(1) * cells()}, uninitialized);
    forward_into(x, y, 0, m);
    return y;
  }
  /// Pools x (N, C, H, W) into columns [column, column + C·g²) of y (N, D): how an encoder
  /// builds one representation from several feature maps.
  void forward_into(const tensor<T, Backend>& x, tensor<T, Backend>& y, index_t column, mode m) {
    expect_rank(x, 4, "adaptive_avg_pool: input");
    check_columns(y, x.extent(0), x.extent(1), column, "adaptive_avg_pool::forward_into: y");
    pool_kernel<Backend>::avg_forward(geometry(x.shape()), x.data(), y.data() + column,
                                      y.extent(1));
    if (m == mode::train) input_shape_ = x.shape();
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    expect_shape(dy, shape{trained_shape()[0], input_shape_[1] * cells()},
                 "adaptive_avg_pool::backward: dy");
    return backward(dy, 0);
  }
  /// The gradient of forward_into: dy (N, D), of which columns [column, column + C·g²) are this
  /// layer's output, spread over the cells: dx (N, C, H, W).
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy, index_t column) {
    tensor<T, Backend> dx(trained_shape(), uninitialized);
    spread(dy, column, dx, false);
    return dx;
  }
  /// The same gradient added to dx (N, C, H, W), for a feature map that also feeds later layers.
  void backward_add(const tensor<T, Backend>& dy, index_t column, tensor<T, Backend>& dx) {
    expect_shape(dx, trained_shape(), "adaptive_avg_pool::backward_add: dx");
    spread(dy, column, dx, true);
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}

 private:
  [[nodiscard]] avg_grid geometry(const shape& s) const {
    return {.n = s[0], .channels = s[1], .height = s[2], .width = s[3], .grid = grid_};
  }
  [[nodiscard]] const shape& trained_shape() const {
    if (input_shape_.rank() != 4)
      throw error("simclr: adaptive_avg_pool::backward without a preceding forward in mode::train");
    return input_shape_;
  }
  void spread(const tensor<T, Backend>& dy, index_t column, tensor<T, Backend>& dx,
              bool accumulate) const {
    check_columns(dy, input_shape_[0], input_shape_[1], column, "adaptive_avg_pool::backward: dy");
    pool_kernel<Backend>::avg_backward(geometry(input_shape_), dy.data() + column, dy.extent(1),
                                       dx.data(), accumulate);
  }
  void check_columns(const tensor<T, Backend>& y, index_t n, index_t c, index_t column,
                     const char* what) const {
    const index_t width = c * cells();
    if (y.rank() != 2 || y.extent(0) != n || column < 0 || column + width > y.extent(1))
      throw shape_error(std::string("simclr: ") + what + " has shape " + y.shape().to_string() +
                        ", expected (" + std::to_string(n) + ", D) with columns [" +
                        std::to_string(column) + ", " + std::to_string(column + width) +
                        ") in range");
  }

  index_t grid_;
  shape input_shape_;
};

}  // namespace simclr::nn
