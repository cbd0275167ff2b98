// simclr::encoders::bottleneck: the 1×1–3×3–1×1 residual block of ResNet-50 (stride on the 3×3).
#pragma once

#include <optional>
#include <string>

#include <simclr/mode.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/residual_add.hpp>
#include <simclr/error.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::encoders {

/// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)) with conv1 1×1
/// (in → planes), conv2 3×3 with the stride (torchvision "v1.5"), conv3 1×1 (planes → 4·planes).
/// State names follow torchvision: conv1..3, bn1..3, downsample.0, downsample.1.
template <class T = float, backend Backend = cpu_t>
class bottleneck {
 public:
  using scalar_type = T;
  using backend_type = Backend;
  static constexpr index_t expansion = 4;

  bottleneck(index_t in, index_t planes, index_t stride, bool zero_init_last_bn)
      : conv1_({in, planes, 1, 1, 0}),
        bn1_({planes}),
        conv2_({planes, planes, 3, stride, 1}),
        bn2_({planes}),
        conv3_({planes, planes * expansion, 1, 1, 0}),
        bn3_({.channels = planes * expansion, .zero_init = zero_init_last_bn}) {
    if (stride != 1 || in != planes * expansion) {
      down_conv_.emplace(nn::conv2d_options{in, planes * expansion, 1, stride, 0});
      down_bn_.emplace(nn::batch_norm_options{planes * expansion});
    }
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    return forward(tensor<T, Backend>(x), m);
  }
  /// The block keeps its input and inner activations (the convolutions refer to them).
  [[nodiscard]] tensor<T, Backend> forward(tensor<T, Backend>&& x, mode m) {
    // Training keeps the activations in the block for backward; evaluation uses locals so
    // that it never disturbs a pending backward. bn → relu and bn → + shortcut → relu each
    // run as one pass (batch_norm's epilogue).
    tensor<T, Backend> local_in, local_a1, local_a2;
    const bool train = m == mode::train;
    tensor<T, Backend>& in = train ? x_ : local_in;
    tensor<T, Backend>& a1 = train ? a1_ : local_a1;
    tensor<T, Backend>& a2 = train ? a2_ : local_a2;
    in = std::move(x);
    a1 = bn1_.forward(conv1_.forward_ref(in, m), m, {.relu = true});
    a2 = bn2_.forward(conv2_.forward_ref(a1, m), m, {.relu = true});
    auto z3 = conv3_.forward_ref(a2, m);
    tensor<T, Backend> shortcut;
    if (down_conv_) shortcut = down_bn_->forward(down_conv_->forward_ref(in, m), m);
    auto out = bn3_.forward(std::move(z3), m, {.residual = down_conv_ ? &shortcut : &in, .relu = true});
    if (train) out_ = out;  // the output masks the final ReLU's gradient
    return out;
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (out_.empty())
      throw error("simclr: bottleneck::backward without a preceding forward in mode::train");
    const auto d_sum = nn::relu_grad(out_, dy);  // through the final ReLU
    auto d = bn2_.backward(conv3_.backward(bn3_.backward(d_sum)), a2_);
    auto dx = conv1_.backward(bn1_.backward(conv2_.backward(d), a1_));
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
    conv3_.visit_state(f, nn::join_name(prefix, "conv3"));
    bn3_.visit_state(f, nn::join_name(prefix, "bn3"));
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
  nn::conv2d<T, Backend> conv3_;
  nn::batch_norm<T, Backend> bn3_;
  std::optional<nn::conv2d<T, Backend>> down_conv_;
  std::optional<nn::batch_norm<T, Backend>> down_bn_;
  tensor<T, Backend> x_, a1_, a2_, out_;  // input, inner activations and output, for backward
};

}  // namespace simclr::encoders
