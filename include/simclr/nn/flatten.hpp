// simclr::nn::flatten: (N, d1, d2, ...) → (N, d1·d2·...), a reshape with no arithmetic.
#pragma once

#include <string>

#include <simclr/mode.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// Flattens every axis after the first; backward restores the input's shape.
template <class T = float, backend Backend = cpu_t>
class flatten {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    if (x.rank() < 1) throw shape_error("simclr: flatten: input is a scalar, expected (N, ...)");
    if (m == mode::train) input_shape_ = x.shape();
    tensor<T, Backend> y = x;
    y.reshape(shape{x.extent(0), x.extent(0) == 0 ? 0 : x.numel() / x.extent(0)});
    return y;
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (input_shape_.rank() == 0)
      throw error("simclr: flatten::backward without a preceding forward in mode::train");
    tensor<T, Backend> dx = dy;
    dx.reshape(input_shape_);
    return dx;
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}

 private:
  shape input_shape_;
};

}  // namespace simclr::nn
