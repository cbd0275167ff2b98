// simclr::nn::relu: y = max(x, 0), elementwise.
#pragma once

#include <string>

#include <simclr/nn/cpu/elementwise.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// dy masked to where y > 0: the gradient through a ReLU whose output was y (0 at 0).
template <class T, backend Backend>
[[nodiscard]] tensor<T, Backend> relu_grad(const tensor<T, Backend>& y,
                                           const tensor<T, Backend>& dy) {
  expect_shape(dy, y.shape(), "relu backward: dy");
  tensor<T, Backend> dx(dy.shape(), uninitialized);
  elementwise_kernel<Backend>::relu_backward(dy.numel(), y.data(), dy.data(), dx.data());
  return dx;
}

/// ReLU on any shape. Keeps its output (not its input) for backward; the gradient at 0 is 0.
template <class T = float, backend Backend = cpu_t>
class relu {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    tensor<T, Backend> y(x.shape(), uninitialized);
    elementwise_kernel<Backend>::relu_forward(x.numel(), x.data(), y.data());
    if (m == mode::train) output_ = y;
    return y;
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (output_.empty())
      throw error("simclr: relu::backward without a preceding forward in mode::train");
    return relu_grad(output_, dy);
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}
  void clear_cache() { output_ = tensor<T, Backend>(); }

 private:
  tensor<T, Backend> output_;
};

}  // namespace simclr::nn
