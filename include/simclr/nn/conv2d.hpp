// simclr::nn::conv2d: 2-D convolution over NCHW batches (kernel, stride, padding, optional bias).
#pragma once

#include <string>

#include <simclr/nn/cpu/conv2d.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/init.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

struct conv2d_options {
  index_t in_channels = 0;
  index_t out_channels = 0;
  index_t kernel_size = 3;
  index_t stride = 1;
  index_t padding = 0;
  bool bias = false;  ///< ResNet convolutions have none (BatchNorm follows)
};

/// y = w ⋆ x (+ b): x (N, C_in, H, W) → y (N, C_out, Ho, Wo), Ho = (H + 2p − k)/s + 1.
/// Weight (C_out, C_in, k, k) as in PyTorch. Initialised Kaiming-normal (fan_out, ReLU) as
/// torchvision's ResNet does; the bias (if any) to zero.
template <class T = float, backend Backend = cpu_t>
class conv2d {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  explicit conv2d(const conv2d_options& o) : opt_(o) {
    if (o.in_channels < 1 || o.out_channels < 1 || o.kernel_size < 1 || o.stride < 1 ||
        o.padding < 0)
      throw value_error("simclr: conv2d options: in_channels " + std::to_string(o.in_channels) +
                        ", out_channels " + std::to_string(o.out_channels) + ", kernel_size " +
                        std::to_string(o.kernel_size) + ", stride " + std::to_string(o.stride) +
                        ", padding " + std::to_string(o.padding) +
                        " — expected channels, kernel and stride ≥ 1 and padding ≥ 0");
    const shape ws{o.out_channels, o.in_channels, o.kernel_size, o.kernel_size};
    weight_ = tensor<T, Backend>(ws);
    weight_grad_ = tensor<T, Backend>(ws);
    if (o.bias) {
      bias_ = tensor<T, Backend>(shape{o.out_channels});
      bias_grad_ = tensor<T, Backend>(shape{o.out_channels});
    }
  }

  /// Kaiming-normal weights (fan_out, ReLU) from `k` (bias zero).
  void reset_parameters(const random::key& k) {
    init::kaiming_normal_fan_out(weight_, k);
    if (opt_.bias) memory<Backend>::zero(bias_.data(), bias_.bytes());
  }

  /// Whether backward computes dx (off for a first layer that sees images: saves a GEMM).
  void set_input_gradient(bool on) noexcept { input_gradient_ = on; }

  /// y = conv(x). `moments`, if given: in training mode on a host backend, the moments of
  /// every plane of y (N·C_out, plane_moments) for the BatchNorm that follows, taken while each
  /// plane is still in cache; elsewhere left empty (BatchNorm then computes its own).
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m,
                                           activation_moments* moments = nullptr) {
    auto y = run(x, m, moments);
    if (m == mode::train) {
      input_ = x;
      input_ref_ = nullptr;
    }
    return y;
  }

  /// As forward, but in training mode it keeps a pointer to `x` instead of a copy: the caller
  /// guarantees that `x` lives, unchanged, until backward (blocks that own their activations
  /// use this to save a copy per convolution).
  [[nodiscard]] tensor<T, Backend> forward_ref(const tensor<T, Backend>& x, mode m,
                                               activation_moments* moments = nullptr) {
    auto y = run(x, m, moments);
    if (m == mode::train) {
      input_ = tensor<T, Backend>();
      input_ref_ = &x;
    }
    return y;
  }

  /// dy (N, C_out, Ho, Wo) → dx (N, C_in, H, W) (empty when the input gradient is off);
  /// accumulates the weight and bias gradients. With `add` (x's shape), dx + add: a residual
  /// block's shortcut gradient joins on the CPU while dx is still in cache.
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy,
                                            const tensor<T, Backend>* add = nullptr) {
    const tensor<T, Backend>& input = input_ref_ != nullptr ? *input_ref_ : input_;
    if (input.empty())
      throw error("simclr: conv2d::backward without a preceding forward in mode::train");
    const window2d g = geometry(input);
    expect_shape(dy, shape{g.n, opt_.out_channels, g.out_height(), g.out_width()},
                 "conv2d::backward: dy");
    if (add != nullptr) expect_shape(*add, input.shape(), "conv2d::backward: add");
    tensor<T, Backend> dx;
    if (input_gradient_) dx = tensor<T, Backend>(input.shape(), uninitialized);
    T* dxp = input_gradient_ ? dx.data() : nullptr;
    T* dbias = opt_.bias ? bias_grad_.data() : nullptr;
    if constexpr (Backend::host_accessible) {
      conv2d_kernel<Backend>::backward(g, opt_.out_channels, input.data(), weight_.data(),
                                       dy.data(), dxp, weight_grad_.data(), dbias,
                                       add != nullptr ? add->data() : nullptr);
    } else {
      conv2d_kernel<Backend>::backward(g, opt_.out_channels, input.data(), weight_.data(),
                                       dy.data(), dxp, weight_grad_.data(), dbias);
      if (add != nullptr && input_gradient_)
        elementwise_kernel<Backend>::add(dx.numel(), dx.data(), add->data(), dx.data());
    }
    return dx;
  }

  void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) {
    visit_weight_and_bias(f, prefix, weight_, weight_grad_, opt_.bias ? &bias_ : nullptr,
                          opt_.bias ? &bias_grad_ : nullptr);
  }

  [[nodiscard]] const conv2d_options& options() const noexcept { return opt_; }
  [[nodiscard]] tensor<T, Backend>& weight() noexcept { return weight_; }
  [[nodiscard]] tensor<T, Backend>& weight_grad() noexcept { return weight_grad_; }
  [[nodiscard]] tensor<T, Backend>& bias() noexcept { return bias_; }
  [[nodiscard]] tensor<T, Backend>& bias_grad() noexcept { return bias_grad_; }
  /// Forgets the saved input (frees its memory).
  void clear_cache() {
    input_ = tensor<T, Backend>();
    input_ref_ = nullptr;
  }

 private:
  /// y = conv(x), with the output planes' moments where forward's `moments` asks for them.
  tensor<T, Backend> run(const tensor<T, Backend>& x, mode m, activation_moments* moments) const {
    const window2d g = geometry(x);
    tensor<T, Backend> y(shape{g.n, opt_.out_channels, g.out_height(), g.out_width()},
                         uninitialized);
    const T* bias = opt_.bias ? bias_.data() : nullptr;
    if (moments != nullptr) moments->clear();
    if constexpr (Backend::host_accessible) {
      plane_moments* pm = nullptr;
      if (moments != nullptr && m == mode::train) {
        moments->resize(static_cast<std::size_t>(g.n * opt_.out_channels));
        pm = moments->data();
      }
      conv2d_kernel<Backend>::forward(g, opt_.out_channels, x.data(), weight_.data(), bias,
                                      y.data(), pm);
    } else {
      conv2d_kernel<Backend>::forward(g, opt_.out_channels, x.data(), weight_.data(), bias,
                                      y.data());
    }
    return y;
  }

  window2d geometry(const tensor<T, Backend>& x) const {
    if (x.rank() != 4 || x.extent(1) != opt_.in_channels)
      throw shape_error("simclr: conv2d: input has shape " + x.shape().to_string() +
                        ", expected (N, " + std::to_string(opt_.in_channels) + ", H, W)");
    window2d g{x.extent(0), x.extent(1), x.extent(2),      x.extent(3),
               opt_.kernel_size, opt_.kernel_size, opt_.stride, opt_.padding};
    if (g.height + 2 * g.padding < g.kernel_h || g.width + 2 * g.padding < g.kernel_w)
      throw shape_error("simclr: conv2d: input " + x.shape().to_string() +
                        " is smaller than the " + std::to_string(opt_.kernel_size) + "×" +
                        std::to_string(opt_.kernel_size) + " kernel with padding " +
                        std::to_string(opt_.padding));
    return g;
  }

  conv2d_options opt_;
  tensor<T, Backend> weight_, weight_grad_, bias_, bias_grad_;
  tensor<T, Backend> input_;
  const tensor<T, Backend>* input_ref_ = nullptr;
  bool input_gradient_ = true;
};

}  // namespace simclr::nn
