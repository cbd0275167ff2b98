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
    pool_kernel<Backend>::avg_forward(x.extent(0) * x.extent(1), x.extent(2) * x.extent(3),
                                      x.data(), y.data());
    if (m == mode::train) input_shape_ = x.shape();
    return y;
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (input_shape_.rank() != 4)
      throw error("simclr: global_avg_pool::backward without a preceding forward in mode::train");
    expect_shape(dy, shape{input_shape_[0], input_shape_[1]}, "global_avg_pool::backward: dy");
    tensor<T, Backend> dx(input_shape_, uninitialized);
    pool_kernel<Backend>::avg_backward(input_shape_[0] * input_shape_[1],
                                       input_shape_[2] * input_shape_[3], dy.data(), dx.data());
    return dx;
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}

 private:
  shape input_shape_;
};

}  // namespace simclr::nn
