// simclr::optim::lars: layer-wise adaptive rate scaling, the official SimCLR optimizer (docs/losses-and-optimizers.md).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <simclr/backend/tags.hpp>
#include <simclr/optim/cpu/update.hpp>  // the CPU kernel
#include <simclr/optim/kernels.hpp>
#include <simclr/optim/state.hpp>
#include <simclr/parameter.hpp>

namespace simclr::optim {

/// Options of LARS. Defaults: η = 0.001, m = 0.9, weight decay 1e-6 (SimCLR v1; v2 uses 1e-4).
struct lars_options {
  double momentum = 0.9;       ///< m in [0, 1)
  double weight_decay = 1e-6;  ///< ≥ 0, only for parameters whose role decays
  double eta = 0.001;          ///< trust coefficient η > 0
  bool nesterov = false;       ///< false: classic momentum (the official one)
};

/// LARS exactly as the official SimCLR code (classic momentum): for each parameter w with
/// gradient g,
///   if role is weight: d = g + wd·w, trust = η‖w‖/‖d‖ (1 when either norm is 0)
///   else (bias, BN γ/β): d = g, trust = 1
///   v ← m·v + lr·trust·d;  w ← w − v.
/// Exclusion from weight decay and trust scaling is by parameter::role, never by name.
/// Satisfies simclr::optimizer<lars<T, B>, T, B>.
template <class T = float, backend B = cpu_t>
class lars {
 public:
  using scalar_type = T;
  using backend_type = B;

  lars() = default;
  /// Throws value_error for options outside their ranges.
  explicit lars(const lars_options& o) : options_(o) {
    detail::check_range(o.momentum, 0.0, 1.0, true, "lars", "momentum");
    detail::check_range(o.weight_decay, 0.0, INFINITY, false, "lars", "weight_decay");
    detail::check_range(o.eta, 0.0, INFINITY, false, "lars", "eta");
    if (o.eta == 0.0) throw value_error("simclr: lars: eta is 0, expected > 0");
  }
  [[nodiscard]] const lars_options& options() const noexcept { return options_; }

  /// Allocates the momentum tensors for `params` (zero); step() does it on first use.
  void bind(std::span<const parameter<T, B>> params) {
    static constexpr std::array<const char*, 1> names{"momentum"};
    slots_.bind(params, names, "lars");
  }

  /// The trust ratio LARS applies to `p` this step (1 for excluded roles).
  [[nodiscard]] double trust_ratio(const parameter<T, B>& p) const {
    if (!p.decays()) return 1.0;
    const index_t n = p.value->numel();
    const double w_norm = update_kernel<B>::norm(p.value->data(), n);
    const double g_norm = decayed_gradient_norm(p);
    return (w_norm > 0.0 && g_norm > 0.0) ? options_.eta * w_norm / g_norm : 1.0;
  }

  /// One update of every parameter with learning rate `lr` (≥ 0).
  void step(std::span<const parameter<T, B>> params, double lr) {
    detail::check_range(lr, 0.0, INFINITY, false, "lars", "learning rate");
    bind(params);
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& p = params[k];
      const double wd = p.decays() ? options_.weight_decay : 0.0;
      const double scaled_lr = lr * trust_ratio(p);
      update_kernel<B>::lars(p.value->data(), p.grad->data(), slots_.at(k, 0).data(),
                             p.value->numel(), static_cast<T>(scaled_lr), static_cast<T>(wd),
                             static_cast<T>(options_.momentum), options_.nesterov);
    }
    ++steps_;
  }

  [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }
  /// The momentum tensors, named "<parameter>.momentum", and the step count (after bind).
  [[nodiscard]] optimizer_state<T, B> state() { return slots_.state(&steps_); }

 private:
  /// ‖g + wd·w‖ (‖g‖ when wd = 0).
  [[nodiscard]] double decayed_gradient_norm(const parameter<T, B>& p) const {
    const index_t n = p.value->numel();
    if (options_.weight_decay == 0.0) return update_kernel<B>::norm(p.grad->data(), n);
    return update_kernel<B>::decayed_norm(p.grad->data(), p.value->data(),
                                          static_cast<T>(options_.weight_decay), n);
  }

  lars_options options_{};
  detail::slot_store<T, B> slots_;
  std::int64_t steps_ = 0;
};

}  // namespace simclr::optim
