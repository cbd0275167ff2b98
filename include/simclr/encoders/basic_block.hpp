// simclr::encoders::basic_block: the two-3×3-conv residual block of ResNet-18/34.
#pragma once

#include <optional>
#include <string>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/residual_add.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::encoders {

/// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); conv1 carries the stride, and the
/// shortcut is a 1×1 strided conv + BN ("downsample") when the shape changes.
/// BN + ReLU and BN + shortcut + ReLU run fused (one pass each). Not copyable once trained: the convolutions refer to the activations the block owns.
/// State names follow torchvision: conv1, bn1, conv2, bn2, downsample.0, downsample.1.
template <class T = float, backend Backend = cpu_t>
class basic_block {
 public:
  using scalar_type = T;
  using backend_type = Backend;
  static constexpr index_t expansion = 1;

  /// `in` input channels, `planes` output channels, `stride` of the first conv.
  basic_block(index_t in, index_t planes, index_t stride, bool zero_init_last_bn)
      : conv1_({in, planes, 3, stride, 1}),
        bn1_({planes}),
        conv2_({planes, planes, 3, 1, 1}),
        bn2_({.channels = planes, .zero_init = zero_init_last_bn}) {
    if (stride != 1 || in != planes) {
      down_conv_.emplace(nn::conv2d_options{in, planes, 1, stride, 0});
      down_bn_.emplace(nn::batch_norm_options{planes});
    }
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    return forward(tensor<T, Backend>(x), m);
  }
  /// The block keeps its input and its inner activation itself (the convolutions refer to
  /// them instead of copying), so pass the input by value or move it in.
  [[nodiscard]] tensor<T, Backend> forward(tensor<T, Backend>&& x, mode m) {
    // Training keeps the activations in the block for backward; evaluation uses locals so
    // that it never disturbs a pending backward.
    tensor<T, Backend> local_in, local_a1;
    const bool train = m == mode::train;
    tensor<T, Backend>& in = train ? x_ : local_in;
    tensor<T, Backend>& a1 = train ? a1_ : local_a1;
    in = std::move(x);
    // bn → relu and bn → + shortcut → relu each run as one pass (batch_norm's epilogue).
    a1 = bn1_.forward(conv1_.forward_ref(in, m), m, {.relu = true});
    auto z2 = conv2_.forward_ref(a1, m);
    tensor<T, Backend> shortcut;
    if (down_conv_) shortcut = down_bn_->forward(down_conv_->forward_ref(in, m), m);
    auto out = bn2_.forward(std::move(z2), m, {.residual = down_conv_ ? &shortcut : &in, .relu = true});
    if (train) out_ = out;  // the output masks the final ReLU's gradient
    return out;
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (out_.empty())
      throw error("simclr: basic_block::backward without a preceding forward in mode::train");
    const auto d_sum = nn::relu_grad(out_, dy);  // through the final ReLU
    auto dx = conv1_.backward(bn1_.backward(conv2_.backward(bn2_.backward(d_sum)), a1_));
    if (down_conv_) {
      nn::residual_add_inplace(dx, down_conv_->backward(down_bn_->backward(d_sum)));
    } else {
      nn::residual_add_inplace(dx, d_sum);
    }
    return dx;
  }

  void visit_state(const nn::state_visitor<T, Backend>& f, const std::string& prefix) {
    conv1_.visit_state(f, nn::join_name(prefix, "conv1"));
    bn1_.visit_state(f, nn::join_name(prefix, "bn1"));
    conv2_.visit_state(f, nn::join_name(prefix, "conv2"));
    bn2_.visit_state(f, nn::join_name(prefix, "bn2"));
    if (down_conv_) {
      down_conv_->visit_state(f, nn::join_name(prefix, "downsample.0"));
      down_bn_->visit_state(f, nn::join_name(prefix, "downsample.1"));
    }
  }

 private:
  nn::conv2d<T, Backend> conv1_;
  nn::batch_norm<T, Backend> bn1_;
  nn::conv2d<T, Backend> conv2_;
  nn::batch_norm<T, Backend> bn2_;
  std::optional<nn::conv2d<T, Backend>> down_conv_;
  std::optional<nn::batch_norm<T, Backend>> down_bn_;
  // The block's input, relu(bn1(conv1(x))) and its output, kept for backward.
  tensor<T, Backend> x_, a1_, out_;
};

}  // namespace simclr::encoders
