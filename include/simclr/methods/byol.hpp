// simclr::methods::byol: Bootstrap Your Own Latent — an online network predicts a momentum
// target network's projection of the other view; no negatives.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/normalized_mse.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/optim/ema.hpp>
#include <simclr/parameter.hpp>
#include <simclr/step_metrics.hpp>
#include <simclr/tensor.hpp>

namespace simclr::methods {

struct byol_options {
  /// τ_base of the target's momentum; after optimizer step k of K the target moves with
  /// τ(k) = 1 − (1 − τ_base)(cos(πk/K) + 1)/2 (optim::cosine_momentum), reaching 1 at the end.
  /// The paper: 0.996 at batch 4096 over many epochs; short runs on small data want ~0.99.
  double base_momentum = 0.996;
};

/// BYOL (Grill et al. 2020): online encoder f, projector g and predictor q; a target f', g'
/// that is an exponential moving average of f, g (optim::ema). For a two-view batch (rows i and
/// i + N the views of image i)
///   p = q(g(f(x))),  t = g'(f'(x))  (no gradient),   loss = ℓ(p, t)
/// with ℓ BYOL's symmetrised normalised MSE by default (each view's prediction against the
/// other view's target). The target runs in training mode (batch statistics, as in the paper).
/// After each optimizer step train::fit calls after_step, which moves the target.
///
///   methods::byol net{encoders::resnet18({...}),
///                     head::mlp<>::v1({.in = 512, .hidden = 4096, .out = 256}),   // projector
///                     head::mlp<>::v1({.in = 256, .hidden = 4096, .out = 256})};  // predictor
///   train::fit(net, optimizer, data, policy, {...});
///   net.encoder()   // what linear evaluation and fine-tuning use
///
/// A trainable_model: checkpoints hold the online and the target networks, so a resumed run
/// continues bit for bit. The optimizer sees the online parameters only.
template <class Encoder, class Projector, class Predictor,
          class Loss = loss::normalized_mse<typename Encoder::scalar_type,
                                            typename Encoder::backend_type>>
class byol {
  static_assert(encoder<Encoder>,
                "simclr: methods::byol: the first part must satisfy simclr::encoder (see "
                "<simclr/concepts.hpp>)");
  static_assert(projection_head<Projector>,
                "simclr: methods::byol: the projector must satisfy simclr::projection_head");
  static_assert(projection_head<Predictor>,
                "simclr: methods::byol: the predictor must satisfy simclr::projection_head");

 public:
  using scalar_type = scalar_of<Encoder>;
  using backend_type = backend_of<Encoder>;
  using tensor_type = tensor<scalar_type, backend_type>;

 private:
  static_assert(same_scalar_as<Projector, Encoder> && same_scalar_as<Predictor, Encoder>,
                "simclr: methods::byol: the projector and the predictor must satisfy "
                "same_scalar_as<Encoder> (make every part float or every part double)");
  static_assert(same_backend_as<Projector, Encoder> && same_backend_as<Predictor, Encoder>,
                "simclr: methods::byol: the projector and the predictor must satisfy "
                "same_backend_as<Encoder> (every part on cpu_t or every part on cuda_t)");
  static_assert(prediction_loss<Loss, scalar_type, backend_type>,
                "simclr: methods::byol: the loss must satisfy prediction_loss for the encoder's "
                "scalar type and backend: loss(p, t) returning {value, dp}");

 public:
  /// Throws value_error when the widths do not chain (f → g → q, q's output = g's output) or
  /// the momentum is outside [0, 1].
  byol(Encoder f, Projector g, Predictor q, byol_options options = {}, Loss loss = {})
      : options_(options), encoder_(std::move(f)), projector_(std::move(g)),
        predictor_(std::move(q)), loss_(std::move(loss)), target_encoder_(encoder_),
        target_projector_(projector_) {
    const auto width = [](index_t w) { return std::to_string(w); };
    if (projector_.input_dim() != encoder_.output_dim())
      throw value_error("simclr: methods::byol: the projector takes " +
                        width(projector_.input_dim()) + " features but the encoder gives " +
                        width(encoder_.output_dim()));
    if (predictor_.input_dim() != projector_.output_dim() ||
        predictor_.output_dim() != projector_.output_dim())
      throw value_error("simclr: methods::byol: the predictor maps " +
                        width(predictor_.input_dim()) + " → " + width(predictor_.output_dim()) +
                        " features, expected " + width(projector_.output_dim()) + " → " +
                        width(projector_.output_dim()) + " (the projector's output width)");
    if (!(options_.base_momentum >= 0.0 && options_.base_momentum <= 1.0))
      throw value_error("simclr: methods::byol: base_momentum is " +
                        std::to_string(options_.base_momentum) + ", expected in [0, 1]");
  }

  /// Online forward, target forward, loss, online backward (gradients zeroed first). Throws
  /// shape_error for a batch that is not (2N, ...), value_error for a non-finite loss.
  step_metrics forward_backward(const tensor_type& views) {
    if (views.rank() < 2 || views.extent(0) < 2 || views.extent(0) % 2 != 0)
      throw shape_error("simclr: methods::byol: the two-view batch has shape " +
                        views.shape().to_string() + ", expected (2N, ...) with N ≥ 1");
    zero_grad();
    const tensor_type p =
        predictor_.forward(projector_.forward(encoder_.forward(views, mode::train), mode::train),
                           mode::train);
    const tensor_type t = target_projector_.module().forward(
        target_encoder_.module().forward(views, mode::train), mode::train);
    auto r = loss_(p, t);
    step_metrics m;
    m.loss = static_cast<double>(r.value);
    if (!std::isfinite(m.loss))
      throw value_error("simclr: methods::byol: the loss is " + std::to_string(m.loss) +
                        " — training diverged (lower the learning rate)");
    (void)encoder_.backward(projector_.backward(predictor_.backward(r.dp)));
    return m;
  }

  /// Moves the target towards the online network with τ(step) (called by train::fit after
  /// optimizer step `step` of `total_steps`).
  void after_step(std::int64_t step, std::int64_t total_steps) {
    const double tau = optim::cosine_momentum(options_.base_momentum, step, total_steps);
    target_encoder_.update(encoder_, tau);
    target_projector_.update(projector_, tau);
  }

  /// The online parameters (encoder., projector., predictor.) — what the optimizer updates.
  [[nodiscard]] std::vector<parameter<scalar_type, backend_type>> parameters() {
    return nn::parameters_of<scalar_type, backend_type>(*this);
  }
  /// Online state under encoder./projector./predictor., the target's under target.encoder. and
  /// target.projector. (as buffers).
  void visit_state(const nn::state_visitor<scalar_type, backend_type>& f,
                   const std::string& prefix) {
    encoder_.visit_state(f, nn::join_name(prefix, "encoder"));
    projector_.visit_state(f, nn::join_name(prefix, "projector"));
    predictor_.visit_state(f, nn::join_name(prefix, "predictor"));
    target_encoder_.visit_state(f, nn::join_name(prefix, "target.encoder"));
    target_projector_.visit_state(f, nn::join_name(prefix, "target.projector"));
  }
  void zero_grad() { nn::zero_grad_of<scalar_type, backend_type>(*this); }

  /// The representation h = f(x) of the online encoder in evaluation mode.
  [[nodiscard]] tensor_type represent(const tensor_type& x) {
    return encoder_.forward(x, mode::eval);
  }

  [[nodiscard]] Encoder& encoder() noexcept { return encoder_; }
  [[nodiscard]] Projector& projector() noexcept { return projector_; }
  [[nodiscard]] Predictor& predictor() noexcept { return predictor_; }
  [[nodiscard]] Encoder& target_encoder() noexcept { return target_encoder_.module(); }
  [[nodiscard]] Projector& target_projector() noexcept { return target_projector_.module(); }
  [[nodiscard]] Loss& loss() noexcept { return loss_; }
  [[nodiscard]] const byol_options& options() const noexcept { return options_; }

 private:
  byol_options options_;
  Encoder encoder_;
  Projector projector_;
  Predictor predictor_;
  Loss loss_;
  optim::ema<Encoder> target_encoder_;      // after encoder_ and projector_: copies of them
  optim::ema<Projector> target_projector_;
};

}  // namespace simclr::methods
