// simclr::model: an encoder f, a projection head g and a contrastive loss, composed and trained.
#pragma once

#include <cmath>
#include <concepts>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/multi_crop.hpp>
#include <simclr/methods/crop_pass.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/gradient_ready.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/parameter.hpp>
#include <simclr/step_metrics.hpp>
#include <simclr/tensor.hpp>

namespace simclr {

/// SimCLR's composition: h = f(x), z = g(h), loss(z). The backend and scalar type come from the
/// encoder; the head and the loss must use the same (checked at compile time: one static_assert
/// per part names the concept that part misses), and the head's input width must equal the
/// encoder's output width (checked when the model is made, naming both widths). A model is a
/// trainable_model, so train::fit trains it.
///
///   simclr::model net{encoders::resnet18({.stem = encoders::stem::cifar}),
///                     head::mlp<>::v1({.in = 512}), loss::nt_xent<>({.temperature = 0.5})};
///   auto m = net.train_step(views, optimizer, lr);   // views: (2N, C, H, W)
template <class Encoder, class Head, class Loss>
class model {
  // One check per part, each naming its concept (the first failing one is the one reported).
  static_assert(encoder<Encoder>,
                "simclr: model: the first part must satisfy simclr::encoder: nested scalar_type "
                "and backend_type, forward(x, mode), backward(dh), output_dim(), parameters() and "
                "visit_state(visitor, prefix) (see <simclr/concepts.hpp>)");
  static_assert(projection_head<Head>,
                "simclr: model: the second part must satisfy simclr::projection_head: nested "
                "scalar_type and backend_type, forward(h, mode), backward(dz) -> dh, input_dim(), "
                "output_dim(), parameters() and visit_state(visitor, prefix)");

 public:
  using scalar_type = scalar_of<Encoder>;
  using backend_type = backend_of<Encoder>;
  using tensor_type = tensor<scalar_type, backend_type>;
  using encoder_type = Encoder;
  using head_type = Head;
  using loss_type = Loss;

 private:
  static_assert(same_scalar_as<Head, Encoder>,
                "simclr: model: the head must satisfy same_scalar_as<Encoder>: it computes in "
                "another scalar type than the encoder (make both float or both double)");
  static_assert(same_backend_as<Head, Encoder>,
                "simclr: model: the head must satisfy same_backend_as<Encoder>: it runs on "
                "another backend than the encoder (make both cpu_t or both cuda_t)");
  static_assert(contrastive_loss<Loss, scalar_type, backend_type>,
                "simclr: model: the loss must satisfy contrastive_loss for the encoder's scalar "
                "type and backend: loss(z) with z a tensor<scalar_type, backend_type> returning "
                "{value, dz} (see <simclr/concepts.hpp>)");

 public:

  model(Encoder f, Head g, Loss loss)
      : encoder_(std::move(f)), head_(std::move(g)), loss_(std::move(loss)) {
    if (head_.input_dim() != encoder_.output_dim())
      throw value_error("simclr: model: the head takes " + std::to_string(head_.input_dim()) +
                        " features but the encoder gives " +
                        std::to_string(encoder_.output_dim()) +
                        " — make the head's input width the encoder's output_dim()");
  }

  /// One SimCLR step on a two-view batch (rows i and i + N are the views of image i):
  /// forward in training mode, loss, backward, then `opt.step(parameters, lr)`.
  /// Throws value_error, leaving the parameters untouched, if the loss is NaN or infinite.
  template <class Optimizer>
    requires optimizer<Optimizer, scalar_type, backend_type>
  step_metrics train_step(const tensor_type& views, Optimizer& opt, double lr) {
    step_metrics m = forward_backward(views);
    const auto params = parameters();
    opt.step(std::span<const parameter<scalar_type, backend_type>>(params), lr);
    return m;
  }

  /// Forward, loss and backward (gradients zeroed first, then filled); no update.
  step_metrics forward_backward(const tensor_type& views) {
    check_views(views);
    zero_grad();
    const tensor_type h = encoder_.forward(views, mode::train);
    const tensor_type z = head_.forward(h, mode::train);
    auto r = loss_(z);
    step_metrics m;
    m.loss = static_cast<double>(r.value);
    check_finite(m.loss);
    if constexpr (requires { r.top1_accuracy; }) m.top1_accuracy = r.top1_accuracy;
    if constexpr (requires { r.mean_entropy; }) m.mean_entropy = r.mean_entropy;
    if constexpr (requires { r.near_collapse; }) m.near_collapse = r.near_collapse;
    const tensor_type dh = head_.backward(r.dz);
    (void)encoder_.backward(dh);
    return m;
  }

  /// Forward, loss and backward of a multi-crop batch (augment::multi_crop; docs/training.md):
  /// `views` (2N, C, H, W) the global views as above, `local_views` (mN, C, h, w) the small
  /// crops (row j·N + i: crop j of image i; h, w may differ from H, W). Each group runs through
  /// f and g in training mode as its own batch — BatchNorm normalises each with its own
  /// statistics and updates the running ones first with the global, then with the local batch,
  /// as a PyTorch module called twice — and the loss is loss::multi_crop_pairs (every crop
  /// against the global views). The gradients of both passes are summed. With 0 local rows it
  /// is forward_backward(views).
  step_metrics forward_backward(const tensor_type& views, const tensor_type& local_views) {
    if (local_views.numel() == 0) return forward_backward(views);
    check_views(views);
    const index_t n = views.extent(0) / 2;
    if (local_views.rank() != views.rank() || local_views.extent(0) % n != 0 ||
        (views.rank() > 1 && local_views.extent(1) != views.extent(1)))
      throw shape_error("simclr: model: the local crops have shape " +
                        local_views.shape().to_string() + ", expected (m·" + std::to_string(n) +
                        ", " + (views.rank() > 1 ? std::to_string(views.extent(1)) : "") +
                        ", h, w): m crops of each of the " + std::to_string(n) +
                        " images of the global views " + views.shape().to_string());
    zero_grad();
    const tensor_type hg = encoder_.forward(views, mode::train);
    const tensor_type zg = head_.forward(hg, mode::train);
    // The small crops through a second copy of f and g (methods::crop_pass), after the global
    // pass moved the BN running statistics.
    const tensor_type zl = crops_.forward(encoder_, head_, local_views);

    auto r = loss::multi_crop_pairs(loss_, zg, zl);
    step_metrics m;
    m.loss = static_cast<double>(r.value);
    check_finite(m.loss);
    m.top1_accuracy = r.top1_accuracy;
    m.mean_entropy = r.mean_entropy;
    m.near_collapse = r.near_collapse;
    // Two backward passes summed: no gradient is final before the sum (nn::gradients_ready).
    nn::gradient_ready_scope not_yet(nullptr);
    (void)encoder_.backward(head_.backward(r.dz_global));
    crops_.backward_into(r.dz_local, parameters());
    return m;
  }

  /// The representation h = f(x) in evaluation mode (BN running statistics, no caches).
  [[nodiscard]] tensor_type represent(const tensor_type& x) { return encoder_.forward(x, mode::eval); }
  /// The embedding z = g(f(x)) in evaluation mode.
  [[nodiscard]] tensor_type embed(const tensor_type& x) {
    return head_.forward(encoder_.forward(x, mode::eval), mode::eval);
  }

  /// Every parameter: the encoder's under "encoder.", the head's under "head.".
  [[nodiscard]] std::vector<parameter<scalar_type, backend_type>> parameters() {
    return nn::parameters_of<scalar_type, backend_type>(*this);
  }
  /// Every state tensor (parameters, BN statistics, counters) under "encoder." and "head.".
  void visit_state(const nn::state_visitor<scalar_type, backend_type>& f,
                   const std::string& prefix) {
    encoder_.visit_state(f, nn::join_name(prefix, "encoder"));
    head_.visit_state(f, nn::join_name(prefix, "head"));
  }
  void zero_grad() { nn::zero_grad_of<scalar_type, backend_type>(*this); }

  [[nodiscard]] Encoder& encoder() noexcept { return encoder_; }
  [[nodiscard]] Head& head() noexcept { return head_; }
  [[nodiscard]] Loss& loss() noexcept { return loss_; }

 private:
  static void check_views(const tensor_type& views) {
    if (views.rank() < 2 || views.extent(0) < 2 || views.extent(0) % 2 != 0)
      throw shape_error("simclr: model: the two-view batch has shape " +
                        views.shape().to_string() + ", expected (2N, ...) with N ≥ 1");
  }
  static void check_finite(double loss) {
    if (!std::isfinite(loss))
      throw value_error("simclr: model: the loss is " + std::to_string(loss) +
                        " — training diverged (lower the learning rate, raise the temperature)");
  }

  Encoder encoder_;
  Head head_;
  Loss loss_;
  methods::crop_pass<Encoder, Head> crops_;  ///< multi-crop's small crops (scratch)
};

}  // namespace simclr
