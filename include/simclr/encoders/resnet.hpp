// simclr::encoders::resnet: ResNet-18/34/50 encoders f(x) = h (torchvision layout and names).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <simclr/encoders/basic_block.hpp>
#include <simclr/encoders/bottleneck.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/adaptive_avg_pool.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/nn/gradient_ready.hpp>
#include <simclr/nn/init.hpp>
#include <simclr/nn/max_pool2d.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::encoders {

/// The first layers of the network.
enum class stem {
  imagenet,  ///< 7×7/2 conv, BN, ReLU, 3×3/2 max-pool (inputs of ~224 px)
  cifar,     ///< 3×3/1 conv, BN, ReLU, no pool (inputs of ≤ 32 px)
  strided,   ///< 3×3/2 conv, BN, ReLU, no pool: halves a small input (28–64 px), so every stage
             ///< after it costs a quarter of the cifar stem's
};

/// What h is made of.
enum class pooling {
  last_stage,  ///< the global average of the last stage's output (8·base·w features with basic
               ///< blocks): torchvision's and the SimCLR paper's h
  every_stage, ///< the global averages of every stage's output, concatenated (15·base·w with
               ///< basic blocks, in stage order): a multi-scale h at no extra compute
};

struct resnet_options {
  std::vector<index_t> blocks{2, 2, 2, 2};  ///< blocks per stage
  index_t base_width = 64;        ///< width of the first stage; stage k has base·2^k
  index_t width_multiplier = 1;   ///< SimCLR's w: every width times w
  index_t in_channels = 3;        ///< 1 for grayscale data sets
  encoders::stem stem = stem::imagenet;
  encoders::pooling pooling = pooling::last_stage;
  /// Each pooled stage averaged over g × g cells instead of globally (PyTorch's
  /// AdaptiveAvgPool2d(g), flattened channel by channel): h grows g²-fold and keeps where in the
  /// image a feature fired. 1 (the default) is the global average; at most
  /// nn::adaptive_avg_pool::max_grid.
  index_t pool_grid = 1;
  bool zero_init_residual = false;  ///< γ = 0 in the last BN of every block
  std::uint64_t seed = 0;           ///< initialisation key (Kaiming normal, fan_out)
};

/// A ResNet v1 ("v1.5": stride on the 3×3 conv) encoder: x (N, C, H, W) → h (N, output_dim()),
/// h the global-average-pooled features of the last stage (or of every stage, concatenated:
/// resnet_options::pooling; averaged over a grid of cells: resnet_options::pool_grid). `Block`
/// is basic_block (ResNet-18/34) or bottleneck (ResNet-50); the blocks are a runtime sequence of
/// that one type. Parameter and buffer names are torchvision's (conv1.weight,
/// layer1.0.bn1.running_mean, ...), so weights load into torchvision.models.resnet* and back
/// (without its `fc`).
template <template <class, class> class Block, class T = float, backend Backend = cpu_t>
class resnet {
 public:
  using scalar_type = T;
  using backend_type = Backend;
  using block_type = Block<T, Backend>;

  explicit resnet(const resnet_options& o)
      : opt_(validated(o)),
        conv1_(o.stem == stem::imagenet ? nn::conv2d_options{o.in_channels, width(0), 7, 2, 3}
               : o.stem == stem::strided
                   ? nn::conv2d_options{o.in_channels, width(0), 3, 2, 1}
                   : nn::conv2d_options{o.in_channels, width(0), 3, 1, 1}),
        bn1_({width(0)}) {
    conv1_.set_input_gradient(false);
    if (o.stem == stem::imagenet) pool_.emplace(nn::max_pool2d_options{3, 2, 1});
    index_t in = width(0);
    for (std::size_t s = 0; s < o.blocks.size(); ++s) {
      std::vector<block_type> stage;
      const index_t planes = width(s);
      for (index_t b = 0; b < o.blocks[s]; ++b) {
        const index_t stride = (s > 0 && b == 0) ? 2 : 1;
        stage.emplace_back(in, planes, stride, o.zero_init_residual);
        stage.back().keep_output(false);  // its output is the next block's input: block_output
        in = planes * block_type::expansion;
      }
      stages_.push_back(std::move(stage));
      stage_dims_.push_back(in);
    }
    first_pooled_ = o.pooling == pooling::every_stage ? 0 : stages_.size() - 1;
    for (std::size_t s = first_pooled_; s < stages_.size(); ++s) {
      avgpools_.emplace_back(o.pool_grid);
      output_dim_ += pooled_dim(s);
    }
    reset_parameters(random::key(o.seed));
  }

  /// Re-initialises every convolution Kaiming-normal (fan_out, ReLU), each from
  /// `k.fold_in(hash of its name)`; BatchNorm γ = 1 (0 where zero_init_residual), β = 0.
  void reset_parameters(const random::key& k) {
    visit_state(
        [&](const nn::state_ref<T, Backend>& s) {
          if (s.kind == nn::state_kind::parameter && s.role == parameter_role::weight &&
              s.value->rank() == 4)
            nn::init::kaiming_normal_fan_out(*s.value, k.fold_in(nn::init::name_id(s.name)));
        },
        "");
  }

  /// h = f(x): (N, in_channels, H, W) → (N, output_dim()).
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    if (x.rank() != 4 || x.extent(1) != opt_.in_channels)
      throw shape_error("simclr: resnet: input has shape " + x.shape().to_string() +
                        ", expected (N, " + std::to_string(opt_.in_channels) + ", H, W)");
    nn::activation_moments mom;  // the stem conv's output moments, for its BatchNorm
    auto y = bn1_.forward(conv1_.forward(x, m, &mom), m, {.relu = true}, &mom);  // one pass
    // The stem's output masks its ReLU's gradient: kept here before a max pool, else it is the
    // first block's input (each block's output is the next one's input, and the last one's is
    // kept below: the blocks keep no copies).
    if (pool_) {
      if (m == mode::train) stem_out_ = y;
      y = pool_->forward(y, m);
    }
    // h: the pooled output of the last stage, or of every stage, each in its own columns (g²
    // per channel with pool_grid g).
    tensor<T, Backend> h(shape{x.extent(0), output_dim_}, uninitialized);
    index_t column = 0;
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      for (auto& block : stages_[s]) y = block.forward(std::move(y), m);
      if (s < first_pooled_) continue;
      avgpools_[s - first_pooled_].forward_into(y, h, column, m);
      column += pooled_dim(s);
    }
    if (m == mode::train) out_ = std::move(y);
    return h;
  }

  /// dh (N, output_dim()) → dx (empty unless set_input_gradient(true)); accumulates every
  /// parameter gradient of the last train-mode forward.
  tensor<T, Backend> backward(const tensor<T, Backend>& dh) {
    if (dh.rank() != 2 || dh.extent(1) != output_dim_)
      throw shape_error("simclr: resnet::backward: dh has shape " + dh.shape().to_string() +
                        ", expected (N, " + std::to_string(output_dim_) + ")");
    tensor<T, Backend> d;
    index_t column = output_dim_;
    for (std::size_t s = stages_.size(); s-- > 0;) {
      // The gradient at stage s's output: from its own columns of h (if pooled), plus (every
      // stage but the last) what flowed back through the later stages.
      if (s >= first_pooled_) {
        column -= pooled_dim(s);
        auto& pool = avgpools_[s - first_pooled_];
        if (s + 1 == stages_.size())
          d = pool.backward(dh, column);
        else
          pool.backward_add(dh, column, d);
      }
      for (std::size_t b = stages_[s].size(); b-- > 0;) {
        d = stages_[s][b].backward(d, block_output(s, b));
        nn::gradients_ready<T, Backend>(stages_[s][b]);  // a data-parallel sum may start now
      }
    }
    if (pool_) d = pool_->backward(d);
    d = conv1_.backward(bn1_.backward(d, pool_ ? stem_out_ : stages_[0][0].input()));
    nn::gradients_ready<T, Backend>(bn1_);
    nn::gradients_ready<T, Backend>(conv1_);
    return d;
  }

  /// Whether backward returns dx for the images (off by default: nothing consumes it).
  void set_input_gradient(bool on) { conv1_.set_input_gradient(on); }

  void visit_state(const nn::state_visitor<T, Backend>& f, const std::string& prefix) {
    conv1_.visit_state(f, nn::join_name(prefix, "conv1"));
    bn1_.visit_state(f, nn::join_name(prefix, "bn1"));
    for (std::size_t s = 0; s < stages_.size(); ++s)
      for (std::size_t b = 0; b < stages_[s].size(); ++b)
        stages_[s][b].visit_state(
            f, nn::join_name(prefix, "layer" + std::to_string(s + 1) + "." + std::to_string(b)));
  }

  /// Every trainable tensor with its torchvision name and role.
  [[nodiscard]] std::vector<parameter<T, Backend>> parameters() {
    return nn::parameters_of<T, Backend>(*this);
  }
  void zero_grad() { nn::zero_grad_of<T, Backend>(*this); }

  /// Width of h: 8·base·w (basic blocks) or 32·base·w (bottleneck), for 4 stages; with
  /// pooling::every_stage the sum over the stages, 15·base·w or 60·base·w; times g² with
  /// pool_grid g.
  [[nodiscard]] index_t output_dim() const noexcept { return output_dim_; }
  [[nodiscard]] const resnet_options& options() const noexcept { return opt_; }

 private:
  static const resnet_options& validated(const resnet_options& o) {
    bool ok = !o.blocks.empty() && o.base_width >= 1 && o.width_multiplier >= 1 &&
              o.in_channels >= 1;
    for (index_t b : o.blocks) ok = ok && b >= 1;
    if (!ok)
      throw value_error("simclr: resnet options: need ≥ 1 stage with ≥ 1 block each, "
                        "base_width, width_multiplier and in_channels ≥ 1");
    if (o.pool_grid < 1 || o.pool_grid > nn::adaptive_avg_pool<T, Backend>::max_grid)
      throw value_error("simclr: resnet options: pool_grid is " + std::to_string(o.pool_grid) +
                        ", expected 1 to " +
                        std::to_string(nn::adaptive_avg_pool<T, Backend>::max_grid));
    return o;
  }
  /// Block b of stage s's output in the last training forward: the next block's input, or the
  /// network's last output.
  [[nodiscard]] const tensor<T, Backend>& block_output(std::size_t s, std::size_t b) const {
    if (b + 1 < stages_[s].size()) return stages_[s][b + 1].input();
    if (s + 1 < stages_.size()) return stages_[s + 1][0].input();
    return out_;
  }
  /// Columns of h that pooled stage s fills.
  [[nodiscard]] index_t pooled_dim(std::size_t s) const {
    return stage_dims_[s] * avgpools_[s - first_pooled_].cells();
  }
  [[nodiscard]] index_t width(std::size_t stage) const {
    return opt_.base_width * opt_.width_multiplier * (index_t{1} << stage);
  }

  resnet_options opt_;
  nn::conv2d<T, Backend> conv1_;
  nn::batch_norm<T, Backend> bn1_;
  tensor<T, Backend> stem_out_;  // relu(bn1(conv1(x))) of the last training forward, if pooled
  tensor<T, Backend> out_;       // the last block's output in the last training forward
  std::optional<nn::max_pool2d<T, Backend>> pool_;
  std::vector<std::vector<block_type>> stages_;
  std::vector<index_t> stage_dims_;                       // channels out of each stage
  std::size_t first_pooled_ = 0;                          // stages from here on make up h
  std::vector<nn::adaptive_avg_pool<T, Backend>> avgpools_;  // one per pooled stage (grid g)
  index_t output_dim_ = 0;
};

/// ResNet-18: basic blocks [2, 2, 2, 2]; h has 512·w features (with base_width 64).
template <class T = float, backend Backend = cpu_t>
[[nodiscard]] resnet<basic_block, T, Backend> resnet18(resnet_options o = {}) {
  o.blocks = {2, 2, 2, 2};
  return resnet<basic_block, T, Backend>(o);
}
/// ResNet-34: basic blocks [3, 4, 6, 3].
template <class T = float, backend Backend = cpu_t>
[[nodiscard]] resnet<basic_block, T, Backend> resnet34(resnet_options o = {}) {
  o.blocks = {3, 4, 6, 3};
  return resnet<basic_block, T, Backend>(o);
}
/// ResNet-50: bottleneck blocks [3, 4, 6, 3]; h has 2048·w features.
template <class T = float, backend Backend = cpu_t>
[[nodiscard]] resnet<bottleneck, T, Backend> resnet50(resnet_options o = {}) {
  o.blocks = {3, 4, 6, 3};
  return resnet<bottleneck, T, Backend>(o);
}

}  // namespace simclr::encoders
