// simclr::optim::ema: a momentum (target) copy of a module — BYOL's target network, MoCo's key
// encoder — updated as an exponential moving average of the online module's state.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/optim/cpu/update.hpp>  // the CPU kernel
#include <simclr/optim/kernels.hpp>

namespace simclr::optim {

/// BYOL's momentum schedule: m(k) = 1 − (1 − base)·(cos(π k / K) + 1) / 2, rising from `base`
/// at step 0 to 1 at step K = total_steps (the target freezes at the end of training).
[[nodiscard]] inline double cosine_momentum(double base, std::int64_t step,
                                            std::int64_t total_steps) {
  if (!(base >= 0.0 && base <= 1.0))
    throw value_error("simclr: optim::cosine_momentum: base is " + std::to_string(base) +
                      ", expected in [0, 1]");
  if (total_steps <= 0) return base;
  const double t = std::min(1.0, double(std::max<std::int64_t>(step, 0)) / double(total_steps));
  return 1.0 - (1.0 - base) * (std::cos(std::numbers::pi * t) + 1.0) / 2.0;
}

/// target ← m·target + (1 − m)·online for every parameter and buffer (BatchNorm running
/// statistics) of two modules of the same structure, and counters copied. The entries are
/// matched by position and must agree in name and shape (value_error naming the first that
/// does not: the modules were built differently). m = 0 copies the online module; m = 1 leaves
/// the target as it is. Runs on the modules' backend (its optim::update_kernel::ema).
template <module Module>
void ema_update(Module& target, Module& online, double momentum) {
  using T = scalar_of<Module>;
  using B = backend_of<Module>;
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw value_error("simclr: optim::ema_update: momentum is " + std::to_string(momentum) +
                      ", expected in [0, 1]");
  std::vector<nn::state_ref<T, B>> src;
  online.visit_state([&](const nn::state_ref<T, B>& s) { src.push_back(s); }, "");
  std::vector<nn::state_ref<T, B>> dst;
  target.visit_state([&](const nn::state_ref<T, B>& s) { dst.push_back(s); }, "");
  if (src.size() != dst.size())
    throw value_error("simclr: optim::ema_update: the online module has " +
                      std::to_string(src.size()) + " state entries, the target " +
                      std::to_string(dst.size()) + " (build both the same way)");
  for (std::size_t k = 0; k < src.size(); ++k) {
    const auto& s = src[k];
    const auto& d = dst[k];
    const bool same_shape = s.kind == nn::state_kind::counter
                                ? d.kind == s.kind && s.count->shape() == d.count->shape()
                                : d.kind == s.kind && s.value->shape() == d.value->shape();
    if (s.name != d.name || !same_shape)
      throw value_error("simclr: optim::ema_update: entry " + std::to_string(k) + " is '" +
                        s.name + "' in the online module and '" + d.name +
                        "' in the target, or their shapes differ (build both the same way)");
  }
  for (std::size_t k = 0; k < src.size(); ++k) {
    const auto& s = src[k];
    const auto& d = dst[k];
    if (s.kind == nn::state_kind::counter) {
      *d.count = *s.count;
    } else {
      update_kernel<B>::ema(d.value->data(), s.value->data(), d.value->numel(),
                            static_cast<T>(momentum));
    }
  }
}

/// A momentum copy of a module, kept next to the online one:
///
///   optim::ema<decltype(f)> target(f);           // a copy of f at construction
///   ... after each optimizer step:
///   target.update(f, optim::cosine_momentum(0.996, step, total));
///   target.module().forward(x, mode::eval);      // the target's outputs (no gradients kept)
///
/// The copy is the module's own copy constructor (a deep copy for every simclr module).
/// `visit_state` reports the copy's state (its parameters as buffers), so a checkpoint of a
/// method that holds an ema writes the target too and resume restores it exactly, while the
/// method's parameters() (nn::parameters_of) leaves the target out of the optimizer.
template <module Module>
class ema {
 public:
  explicit ema(const Module& online) : target_(online) {}

  /// target ← m·target + (1 − m)·online (ema_update).
  void update(Module& online, double momentum) { ema_update(target_, online, momentum); }

  [[nodiscard]] Module& module() noexcept { return target_; }
  [[nodiscard]] const Module& module() const noexcept { return target_; }

  using scalar_type = scalar_of<Module>;
  using backend_type = backend_of<Module>;
  /// The target's state, its parameters reported as buffers: checkpoints hold them, optimizers
  /// (which take the parameters) never see them.
  void visit_state(const nn::state_visitor<scalar_type, backend_type>& f,
                   const std::string& prefix) {
    target_.visit_state(
        [&](const nn::state_ref<scalar_type, backend_type>& s) {
          if (s.kind != nn::state_kind::parameter) return f(s);
          nn::state_ref<scalar_type, backend_type> b = s;
          b.kind = nn::state_kind::buffer;
          b.grad = nullptr;
          f(b);
        },
        prefix);
  }

 private:
  Module target_;
};

}  // namespace simclr::optim
