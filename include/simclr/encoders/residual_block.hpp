// simclr::encoders::residual_block: what both ResNet blocks are — a chain of conv → BN → ReLU
// stages, a shortcut, and the last conv's BN fused with the shortcut's addition and the ReLU.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::encoders {

/// One convolution of a block's chain: output channels, square kernel, stride (padding k/2).
struct residual_stage {
  index_t out = 0, kernel = 3, stride = 1;
};

/// relu(bn_K(conv_K(… relu(bn_1(conv_1(x))) …)) + shortcut(x)) for a chain of K convolutions;
/// the shortcut is the identity, or a 1×1 conv with the chain's stride + BN ("downsample") when
/// the shape changes. BN + ReLU and BN + shortcut + ReLU run fused (one pass each). State names
/// follow torchvision: conv1..K, bn1..K, downsample.0, downsample.1. basic_block and
/// bottleneck are this class with their chains; a new block type is a new chain.
///
/// The block keeps its input and inner activations itself (the convolutions refer to them
/// instead of copying), so pass the input by value or move it in. Copies are deep; a copy's
/// convolutions refer to its own activations from its next forward pass on.
template <class T = float, backend Backend = cpu_t>
class residual_block {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  /// `name` for messages ("basic_block"), `in` input channels, the chain of convolutions, and
  /// whether the last BN starts with γ = 0 (the block then starts as the identity + ReLU).
  residual_block(const char* name, index_t in, std::initializer_list<residual_stage> chain,
                 bool zero_init_last_bn)
      : name_(name) {
    if (chain.size() == 0) throw value_error(std::string("simclr: ") + name + ": empty chain");
    conv_.reserve(chain.size());
    bn_.reserve(chain.size());
    index_t channels = in, stride = 1;
    for (const residual_stage& s : chain) {
      const bool last = conv_.size() + 1 == chain.size();
      conv_.emplace_back(nn::conv2d_options{channels, s.out, s.kernel, s.stride, s.kernel / 2});
      bn_.emplace_back(
          nn::batch_norm_options{.channels = s.out, .zero_init = last && zero_init_last_bn});
      channels = s.out;
      stride *= s.stride;
    }
    acts_.resize(chain.size() - 1);
    if (stride != 1 || in != channels) {
      down_conv_.emplace(nn::conv2d_options{in, channels, 1, stride, 0});
      down_bn_.emplace(nn::batch_norm_options{channels});
    }
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    return forward(tensor<T, Backend>(x), m);
  }
  [[nodiscard]] tensor<T, Backend> forward(tensor<T, Backend>&& x, mode m) {
    // Training keeps the activations in the block for backward; evaluation uses locals so
    // that it never disturbs a pending backward.
    const bool train = m == mode::train;
    tensor<T, Backend> local_in;
    std::vector<tensor<T, Backend>> local_acts(train ? 0 : acts_.size());
    tensor<T, Backend>& in = train ? x_ : local_in;
    std::vector<tensor<T, Backend>>& acts = train ? acts_ : local_acts;
    in = std::move(x);
    const tensor<T, Backend>* prev = &in;
    // In training each convolution hands its BatchNorm the output planes' moments (CPU).
    nn::activation_moments* mom = train ? &moments_ : nullptr;
    for (std::size_t k = 0; k + 1 < conv_.size(); ++k) {
      acts[k] = bn_[k].forward(conv_[k].forward_ref(*prev, m, mom), m, {.relu = true}, mom);
      prev = &acts[k];
    }
    tensor<T, Backend> shortcut;
    if (down_conv_) shortcut = down_bn_->forward(down_conv_->forward_ref(in, m, mom), m, {}, mom);
    auto z = conv_.back().forward_ref(*prev, m, mom);
    auto out = bn_.back().forward(std::move(z), m,
                                  {.residual = down_conv_ ? &shortcut : &in, .relu = true}, mom);
    if (train && keep_output_) out_ = out;  // the output masks the final ReLU's gradient
    return out;
  }

  /// dy → dx, accumulating every parameter gradient of the last training forward.
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (!keep_output_)
      throw error(std::string("simclr: ") + name_ +
                  "::backward(dy): keep_output(false) — call backward(dy, y) with forward's "
                  "output y");
    if (out_.empty())
      throw error(std::string("simclr: ") + name_ +
                  "::backward without a preceding forward in mode::train");
    return backward(dy, out_);
  }

  /// dy → dx, with y the last training forward's output (its final ReLU masks dy), as the
  /// caller kept it: for keep_output(false).
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy,
                                            const tensor<T, Backend>& y) {
    if (x_.empty())
      throw error(std::string("simclr: ") + name_ +
                  "::backward without a preceding forward in mode::train");
    expect_shape(y, dy.shape(), "residual_block::backward: y");
    const auto d_sum = nn::relu_grad(y, dy);  // through the final ReLU
    tensor<T, Backend> d = bn_.back().backward(d_sum);
    for (std::size_t k = conv_.size() - 1; k > 0; --k)
      d = bn_[k - 1].backward(conv_[k].backward(d), acts_[k - 1]);
    // dx = the chain's input gradient + the shortcut's, joined inside the first convolution's.
    if (down_conv_) {
      const auto d_short = down_conv_->backward(down_bn_->backward(d_sum));
      return conv_.front().backward(d, &d_short);
    }
    return conv_.front().backward(d, &d_sum);
  }

  /// Whether training forward keeps a copy of its output for backward(dy) (the default). Off,
  /// the caller keeps forward's output itself, unchanged, and calls backward(dy, y): a network
  /// that hands each block's output to the next block as its input saves a copy per block.
  void keep_output(bool on) {
    keep_output_ = on;
    if (!on) out_ = tensor<T, Backend>();
  }
  /// The input of the last training forward (the previous block's output, in a chain).
  [[nodiscard]] const tensor<T, Backend>& input() const noexcept { return x_; }

  void visit_state(const nn::state_visitor<T, Backend>& f, const std::string& prefix) {
    for (std::size_t k = 0; k < conv_.size(); ++k) {
      conv_[k].visit_state(f, nn::join_name(prefix, "conv" + std::to_string(k + 1)));
      bn_[k].visit_state(f, nn::join_name(prefix, "bn" + std::to_string(k + 1)));
    }
    if (down_conv_) {
      down_conv_->visit_state(f, nn::join_name(prefix, "downsample.0"));
      down_bn_->visit_state(f, nn::join_name(prefix, "downsample.1"));
    }
  }

 private:
  const char* name_;
  std::vector<nn::conv2d<T, Backend>> conv_;
  std::vector<nn::batch_norm<T, Backend>> bn_;
  std::optional<nn::conv2d<T, Backend>> down_conv_;
  std::optional<nn::batch_norm<T, Backend>> down_bn_;
  // The block's input, relu(bn_k(conv_k(·))) for every stage but the last, and its output.
  tensor<T, Backend> x_;
  std::vector<tensor<T, Backend>> acts_;
  tensor<T, Backend> out_;
  bool keep_output_ = true;
  nn::activation_moments moments_;  // a convolution's output moments (training), reused
};

}  // namespace simclr::encoders
