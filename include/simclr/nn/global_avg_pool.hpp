// simclr::nn::global_avg_pool: (N, C, H, W) → (N, C), the mean of each feature map.
#pragma once

#include <string>

#include <simclr/nn/cpu/pooling.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// Global average pooling: the ResNet representation h is this layer's output.
template <class T = float, backend Backend = cpu_t>
class global_avg_pool {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    expect_rank(x, 4, "global_avg_pool: input");
    tensor<T, Backend> y(shape{x.extent(0), x.extent(1)}, uninitialized);
    forward_into(x, y, 0, m);
    return y;
  }
  /// Pools x (N, C, H, W) into columns [column, column + C) of y (N, D): how an encoder builds
  /// one representation from several feature maps.
  void forward_into(const tensor<T, Backend>& x, tensor<T, Backend>& y, index_t column, mode m) {
    expect_rank(x, 4, "global_avg_pool: input");
    check_columns(y, x.extent(0), x.extent(1), column, "global_avg_pool::forward_into: y");
    pool_kernel<Backend>::avg_forward(x.extent(0), x.extent(1), x.extent(2) * x.extent(3),
                                      x.data(), y.data() + column, y.extent(1));
    if (m == mode::train) input_shape_ = x.shape();
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    expect_shape(dy, shape{trained_shape()[0], input_shape_[1]}, "global_avg_pool::backward: dy");
    return backward(dy, 0);
  }
  /// The gradient of forward_into: dy (N, D), of which columns [column, column + C) are this
  /// layer's output, spread over the planes: dx (N, C, H, W).
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy, index_t column) {
    tensor<T, Backend> dx(trained_shape(), uninitialized);
    spread(dy, column, dx, false);
    return dx;
  }
  /// The same gradient added to dx (N, C, H, W), for a feature map that also feeds later layers.
  void backward_add(const tensor<T, Backend>& dy, index_t column, tensor<T, Backend>& dx) {
    expect_shape(dx, trained_shape(), "global_avg_pool::backward_add: dx");
    spread(dy, column, dx, true);
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}

 private:
  [[nodiscard]] const shape& trained_shape() const {
    if (input_shape_.rank() != 4)
      throw error("simclr: global_avg_pool::backward without a preceding forward in mode::train");
    return input_shape_;
  }
  void spread(const tensor<T, Backend>& dy, index_t column, tensor<T, Backend>& dx,
              bool accumulate) const {
    check_columns(dy, input_shape_[0], input_shape_[1], column, "global_avg_pool::backward: dy");
    pool_kernel<Backend>::avg_backward(input_shape_[0], input_shape_[1],
                                       input_shape_[2] * input_shape_[3], dy.data() + column,
                                       dy.extent(1), dx.data(), accumulate);
  }
  static void check_columns(const tensor<T, Backend>& y, index_t n, index_t c, index_t column,
                            const char* what) {
    if (y.rank() != 2 || y.extent(0) != n || column < 0 || column + c > y.extent(1))
      throw shape_error(std::string("simclr: ") + what + " has shape " + y.shape().to_string() +
                        ", expected (" + std::to_string(n) + ", D) with columns [" +
                        std::to_string(column) + ", " + std::to_string(column + c) + ") in range");
  }

  shape input_shape_;
};

}  // namespace simclr::nn
