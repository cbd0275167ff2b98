// simclr::nn::linear: y = x·Wᵀ + b on (N, in) batches, PyTorch's layout and default init.
#pragma once

#include <string>

#include <simclr/nn/cpu/elementwise.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/init.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/ops/gemm.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

struct linear_options {
  index_t in = 0;
  index_t out = 0;
  bool bias = true;
};

/// A fully connected layer: x (N, in) → y (N, out) = x·Wᵀ + b, W (out, in). Initialised as
/// PyTorch's nn.Linear: W and b ~ U(−1/√in, 1/√in).
template <class T = float, backend Backend = cpu_t>
class linear {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  explicit linear(const linear_options& o) : opt_(o) {
    if (o.in < 1 || o.out < 1)
      throw value_error("simclr: linear options: in " + std::to_string(o.in) +
                        ", out " + std::to_string(o.out) +
                        " — expected both ≥ 1");
    weight_ = tensor<T, Backend>(shape{o.out, o.in});
    weight_grad_ = tensor<T, Backend>(weight_.shape());
    if (o.bias) {
      bias_ = tensor<T, Backend>(shape{o.out});
      bias_grad_ = tensor<T, Backend>(bias_.shape());
    }
  }

  /// PyTorch's default init from `k` (weight and bias from separate child keys).
  void reset_parameters(const random::key& k) {
    init::uniform_fan_in(weight_, opt_.in, k.fold_in(0));
    if (opt_.bias) init::uniform_fan_in(bias_, opt_.in, k.fold_in(1));
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    if (x.rank() != 2 || x.extent(1) != opt_.in)
      throw shape_error("simclr: linear: input has shape " + x.shape().to_string() +
                        ", expected (N, " + std::to_string(opt_.in) + ")");
    tensor<T, Backend> y(shape{x.extent(0), opt_.out}, uninitialized);
    ops::gemm(x, weight_, y, {.transpose_b = true});
    if (opt_.bias)
      elementwise_kernel<Backend>::add_row_bias(y.extent(0), y.extent(1), bias_.data(),
                                                y.data());
    if (m == mode::train) input_ = x;
    return y;
  }

  /// dy (N, out) → dx (N, in); accumulates dW += dyᵀ·x and db += Σ_rows dy.
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (input_.empty())
      throw error("simclr: linear::backward without a preceding forward in mode::train");
    expect_shape(dy, shape{input_.extent(0), opt_.out}, "linear::backward: dy");
    ops::gemm(dy, input_, weight_grad_, {.transpose_a = true, .beta = 1.0});
    if (opt_.bias)
      elementwise_kernel<Backend>::sum_rows(dy.extent(0), dy.extent(1), dy.data(),
                                            bias_grad_.data());
    return ops::matmul(dy, weight_);
  }

  void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) {
    visit_weight_and_bias(f, prefix, weight_, weight_grad_, opt_.bias ? &bias_ : nullptr,
                          opt_.bias ? &bias_grad_ : nullptr);
  }

  [[nodiscard]] const linear_options& options() const noexcept { return opt_; }
  [[nodiscard]] tensor<T, Backend>& weight() noexcept { return weight_; }
  [[nodiscard]] tensor<T, Backend>& weight_grad() noexcept { return weight_grad_; }
  [[nodiscard]] tensor<T, Backend>& bias() noexcept { return bias_; }
  [[nodiscard]] tensor<T, Backend>& bias_grad() noexcept { return bias_grad_; }
  void clear_cache() { input_ = tensor<T, Backend>(); }

 private:
  linear_options opt_;
  tensor<T, Backend> weight_, weight_grad_, bias_, bias_grad_;
  tensor<T, Backend> input_;
};

}  // namespace simclr::nn
