// simclr::head::mlp: SimCLR's projection heads g (v1: 2 layers, v2: 3 layers), BN optional.
#pragma once

#include <string>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/gradient_ready.hpp>
#include <simclr/nn/linear.hpp>
#include <simclr/nn/relu.hpp>
#include <simclr/nn/sequential.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::head {

struct mlp_options {
  index_t in = 0;           ///< width of h (the encoder's output_dim())
  index_t hidden = 0;       ///< hidden width; 0 means `in` (the paper's choice)
  index_t out = 128;        ///< width of z
  bool batch_norm = true;   ///< BN after each Linear (official code); off in many PyTorch ports
  std::uint64_t seed = 0;   ///< initialisation key
};

/// A projection head z = g(h) made of `layers` Linear layers:
///   v1 (2 layers): Linear(in, hidden) → [BN] → ReLU → Linear(hidden, out)
///   v2 (3 layers): Linear → BN → ReLU → Linear → BN → ReLU → Linear → BN   (BN optional)
/// Linear layers followed by BN have no bias (BN's shift replaces it). State names are those
/// of a torch.nn.Sequential ("0.weight", "1.running_mean", ...).
template <class T = float, backend Backend = cpu_t>
class mlp {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  /// SimCLR v1's head: two layers.
  [[nodiscard]] static mlp v1(const mlp_options& o) { return mlp(2, o); }
  /// SimCLR v2's head: three layers, BN after every one.
  [[nodiscard]] static mlp v2(const mlp_options& o) { return mlp(3, o); }

  mlp(int layers, const mlp_options& o) : opt_(o), layers_(layers) {
    if (opt_.hidden == 0) opt_.hidden = opt_.in;
    if (layers < 1 || opt_.in < 1 || opt_.hidden < 1 || opt_.out < 1)
      throw value_error("simclr: head::mlp: layers " + std::to_string(layers) + ", in " +
                        std::to_string(opt_.in) + ", hidden " + std::to_string(opt_.hidden) +
                        ", out " + std::to_string(opt_.out) + " — expected all ≥ 1");
    const random::key k(opt_.seed);
    for (int i = 0; i < layers; ++i) {
      const bool last = i == layers - 1;
      const index_t in = i == 0 ? opt_.in : opt_.hidden;
      const index_t out = last ? opt_.out : opt_.hidden;
      // v1's last Linear keeps its bias (no BN after it); v2 normalises every layer.
      const bool bn = opt_.batch_norm && (!last || layers >= 3);
      auto& fc = seq_.push_back(nn::linear<T, Backend>({in, out, !bn}));
      fc.reset_parameters(k.fold_in(static_cast<std::uint64_t>(i)));
      if (bn) seq_.push_back(nn::batch_norm<T, Backend>({out}));
      if (!last) seq_.push_back(nn::relu<T, Backend>{});
      if (i == 0) first_layer_end_ = seq_.size();
    }
  }

  /// z = g(h): (N, in) → (N, out).
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& h, mode m) {
    expect_input(h);
    return seq_.forward(h, m);
  }
  /// dz (N, out) → dh (N, in); accumulates the head's parameter gradients.
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dz) {
    tensor<T, Backend> dh = seq_.backward(dz);
    nn::gradients_ready<T, Backend>(*this);  // a data-parallel sum of them may start now
    return dh;
  }

  /// The output of the first layer (after its BN and ReLU), in evaluation mode: SimCLR v2
  /// fine-tunes from this "middle of the head" representation. Leaves no training state.
  [[nodiscard]] tensor<T, Backend> first_layer_features(const tensor<T, Backend>& h) {
    expect_input(h);
    return seq_.forward_prefix(h, mode::eval, first_layer_end_);
  }

  void visit_state(const nn::state_visitor<T, Backend>& f, const std::string& prefix) {
    seq_.visit_state(f, prefix);
  }
  [[nodiscard]] std::vector<parameter<T, Backend>> parameters() {
    return nn::parameters_of<T, Backend>(*this);
  }
  void zero_grad() { nn::zero_grad_of<T, Backend>(*this); }

  [[nodiscard]] index_t input_dim() const noexcept { return opt_.in; }
  [[nodiscard]] index_t output_dim() const noexcept { return opt_.out; }
  [[nodiscard]] int layers() const noexcept { return layers_; }
  [[nodiscard]] const mlp_options& options() const noexcept { return opt_; }

 private:
  void expect_input(const tensor<T, Backend>& h) const {
    if (h.rank() != 2 || h.extent(1) != opt_.in)
      throw shape_error("simclr: head::mlp: input has shape " + h.shape().to_string() +
                        ", expected (N, " + std::to_string(opt_.in) +
                        ") — the head's `in` must equal the encoder's output_dim()");
  }
  mlp_options opt_;
  int layers_;
  nn::sequential<T, Backend> seq_;
  std::size_t first_layer_end_ = 0;
};

}  // namespace simclr::head
