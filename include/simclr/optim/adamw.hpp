// simclr::optim::adamw: Adam with decoupled weight decay (PyTorch's torch.optim.AdamW).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>

#include <simclr/backend/tags.hpp>
#include <simclr/optim/cpu/update.hpp>  // the CPU kernel
#include <simclr/optim/kernels.hpp>
#include <simclr/optim/state.hpp>
#include <simclr/parameter.hpp>

namespace simclr::optim {

/// Options of AdamW (PyTorch defaults). All runtime values.
struct adamw_options {
  double beta1 = 0.9;          ///< in [0, 1)
  double beta2 = 0.999;        ///< in [0, 1)
  double eps = 1e-8;           ///< > 0
  double weight_decay = 1e-2;  ///< decoupled, ≥ 0
  /// By default only parameters whose role decays (weights) take weight decay; true applies
  /// it to every parameter, as a single PyTorch parameter group does.
  bool decay_all_roles = false;
};

/// AdamW with PyTorch semantics (no amsgrad): at step t = 1, 2, ...
///   w ← w·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
///   w ← w − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + ε).
/// Satisfies simclr::optimizer<adamw<T, B>, T, B>.
template <class T = float, backend B = cpu_t>
class adamw {
 public:
  using scalar_type = T;
  using backend_type = B;

  adamw() = default;
  /// Throws value_error for options outside their ranges.
  explicit adamw(const adamw_options& o) : options_(o) {
    detail::check_range(o.beta1, 0.0, 1.0, true, "adamw", "beta1");
    detail::check_range(o.beta2, 0.0, 1.0, true, "adamw", "beta2");
    detail::check_range(o.weight_decay, 0.0, INFINITY, false, "adamw", "weight_decay");
    if (!(o.eps > 0.0)) throw value_error("simclr: adamw: eps must be > 0");
  }
  [[nodiscard]] const adamw_options& options() const noexcept { return options_; }

  /// Allocates the moment tensors for `params` (zero); step() does it on first use.
  void bind(std::span<const parameter<T, B>> params) {
    static constexpr std::array<const char*, 2> names{"exp_avg", "exp_avg_sq"};
    slots_.bind(params, names, "adamw");
  }

  /// One update of every parameter with learning rate `lr` (≥ 0).
  void step(std::span<const parameter<T, B>> params, double lr) {
    detail::check_range(lr, 0.0, INFINITY, false, "adamw", "learning rate");
    bind(params);
    const std::int64_t t = steps_ + 1;
    const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(t));
    const double bc2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(t)));
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& p = params[k];
      const double wd = (p.decays() || options_.decay_all_roles) ? options_.weight_decay : 0.0;
      update_kernel<B>::adamw(p.value->data(), p.grad->data(), slots_.at(k, 0).data(),
                              slots_.at(k, 1).data(), p.value->numel(),
                              static_cast<T>(1.0 - lr * wd), static_cast<T>(lr / bc1),
                              static_cast<T>(options_.beta1),
                              static_cast<T>(options_.beta2), static_cast<T>(options_.eps),
                              static_cast<T>(bc2_sqrt));
    }
    steps_ = t;
  }

  [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }
  /// The moments, named "<parameter>.exp_avg" / ".exp_avg_sq", and the step count (after bind).
  [[nodiscard]] optimizer_state<T, B> state() { return slots_.state(&steps_); }

 private:
  adamw_options options_{};
  detail::slot_store<T, B> slots_;
  std::int64_t steps_ = 0;
};

}  // namespace simclr::optim
