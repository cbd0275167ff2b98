// simclr::optim::sgd: stochastic gradient descent with momentum, Nesterov and weight decay (PyTorch).
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

/// Options of SGD (PyTorch's torch.optim.SGD defaults). All runtime values.
struct sgd_options {
  double momentum = 0.0;      ///< m in [0, 1)
  double dampening = 0.0;     ///< in [0, 1]
  bool nesterov = false;      ///< needs momentum > 0 and dampening = 0
  double weight_decay = 0.0;  ///< L2 coupled into the gradient, ≥ 0
  /// By default only parameters whose role decays (weights) take weight decay; true applies
  /// it to every parameter, as a single PyTorch parameter group does.
  bool decay_all_roles = false;
};

/// SGD with PyTorch semantics: d = g + wd·w; with momentum, buf = d at the first step and
/// buf = m·buf + (1 − dampening)·d after, then d = buf (or d + m·buf with Nesterov);
/// w ← w − lr·d. Satisfies simclr::optimizer<sgd<T, B>, T, B>.
template <class T = float, backend B = cpu_t>
class sgd {
 public:
  using scalar_type = T;
  using backend_type = B;

  sgd() = default;
  /// Throws value_error for options outside their ranges.
  explicit sgd(const sgd_options& o) : options_(o) {
    detail::check_range(o.momentum, 0.0, 1.0, true, "sgd", "momentum");
    detail::check_range(o.dampening, 0.0, 1.0, false, "sgd", "dampening");
    detail::check_range(o.weight_decay, 0.0, INFINITY, false, "sgd", "weight_decay");
    if (o.nesterov && (o.momentum <= 0.0 || o.dampening != 0.0))
      throw value_error("simclr: sgd: Nesterov momentum needs momentum > 0 and dampening = 0");
  }
  [[nodiscard]] const sgd_options& options() const noexcept { return options_; }

  /// Allocates the momentum buffers for `params` (zero); step() does it on first use. Call it
  /// before restoring a saved state into a fresh optimizer.
  void bind(std::span<const parameter<T, B>> params) {
    slots_.bind(params, slot_names(), "sgd");
  }

  /// One update of every parameter with learning rate `lr` (≥ 0).
  void step(std::span<const parameter<T, B>> params, double lr) {
    detail::check_range(lr, 0.0, INFINITY, false, "sgd", "learning rate");
    bind(params);
    const bool first = steps_ == 0;
    for (std::size_t k = 0; k < params.size(); ++k) {
      const auto& p = params[k];
      const double wd = (p.decays() || options_.decay_all_roles) ? options_.weight_decay : 0.0;
      T* buf = options_.momentum != 0.0 ? slots_.at(k, 0).data() : nullptr;
      update_kernel<B>::sgd(p.value->data(), p.grad->data(), buf, p.value->numel(),
                            static_cast<T>(lr), static_cast<T>(wd),
                            static_cast<T>(options_.momentum), static_cast<T>(options_.dampening),
                            options_.nesterov, first);
    }
    ++steps_;
  }

  [[nodiscard]] std::int64_t steps() const noexcept { return steps_; }
  /// The momentum buffers, named "<parameter>.momentum_buffer", and the step count (after bind).
  [[nodiscard]] optimizer_state<T, B> state() { return slots_.state(&steps_); }

 private:
  [[nodiscard]] std::span<const char* const> slot_names() const noexcept {
    static constexpr std::array<const char*, 1> names{"momentum_buffer"};
    return options_.momentum != 0.0 ? std::span<const char* const>(names)
                                    : std::span<const char* const>();
  }

  sgd_options options_{};
  detail::slot_store<T, B> slots_;
  std::int64_t steps_ = 0;
};

}  // namespace simclr::optim
