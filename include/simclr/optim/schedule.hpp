// Learning-rate schedules (per step) and the batch-size scaling rules of SimCLR (docs/losses-and-optimizers.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include <simclr/error.hpp>

namespace simclr::optim {

/// How the base learning rate scales with the batch size B.
enum class lr_scaling {
  linear,  ///< lr = base · B / 256 (SimCLR: base 0.3)
  sqrt,    ///< lr = base · √B       (SimCLR: base 0.075, better for small batches)
};

/// The peak learning rate for batch size `batch` (≥ 1) under `rule`.
[[nodiscard]] inline double scaled_learning_rate(double base, std::int64_t batch,
                                                 lr_scaling rule) {
  if (batch < 1)
    throw value_error("simclr: scaled_learning_rate: batch size is " + std::to_string(batch) +
                      ", expected ≥ 1");
  if (!(base >= 0.0) || !std::isfinite(base))
    throw value_error("simclr: scaled_learning_rate: base is " + std::to_string(base) +
                      ", expected a finite value ≥ 0");
  const double b = static_cast<double>(batch);
  return rule == lr_scaling::linear ? base * b / 256.0 : base * std::sqrt(b);
}

/// SimCLR's defaults: 0.3·B/256 (linear) or 0.075·√B (sqrt).
[[nodiscard]] inline double simclr_learning_rate(std::int64_t batch, lr_scaling rule) {
  return scaled_learning_rate(rule == lr_scaling::linear ? 0.3 : 0.075, batch, rule);
}

namespace detail {
inline void check_schedule_value(double v, const char* schedule, const char* what) {
  if (!(v >= 0.0) || !std::isfinite(v))
    throw value_error(std::string("simclr: ") + schedule + ": " + what + " is " +
                      std::to_string(v) + ", expected a finite value ≥ 0");
}
inline void check_step(std::int64_t step, const char* schedule) {
  if (step < 0)
    throw value_error(std::string("simclr: ") + schedule + ": step " + std::to_string(step) +
                      " is negative");
}
}  // namespace detail

/// A constant learning rate.
struct constant_schedule {
  double lr = 0.0;
  /// The learning rate of step `step` (0-based).
  [[nodiscard]] double operator()(std::int64_t step) const {
    detail::check_step(step, "constant_schedule");
    return lr;
  }
};

/// Linear warm-up then cosine decay to 0, evaluated per step (as the official code, with
/// 0-based steps s and T = total_steps, W = warmup_steps):
///   s < W:       peak · s / W
///   W ≤ s < T:   peak · ½ (1 + cos(π (s − W) / (T − W)))
///   s ≥ T:       0
struct warmup_cosine_schedule {
  double peak_lr = 0.0;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;

  /// From epochs: the schedule is still stepped per step (warm-up and length in steps), which
  /// avoids the "cosine stepped per epoch with a per-step length" mistake.
  [[nodiscard]] static warmup_cosine_schedule from_epochs(double peak_lr, double warmup_epochs,
                                                          double total_epochs,
                                                          std::int64_t steps_per_epoch) {
    if (steps_per_epoch < 1)
      throw value_error("simclr: warmup_cosine_schedule: steps_per_epoch is " +
                        std::to_string(steps_per_epoch) + ", expected ≥ 1");
    const double spe = static_cast<double>(steps_per_epoch);
    return {peak_lr, static_cast<std::int64_t>(std::llround(warmup_epochs * spe)),
            static_cast<std::int64_t>(std::llround(total_epochs * spe))};
  }

  /// The learning rate of step `step` (0-based). Throws value_error for inconsistent fields.
  [[nodiscard]] double operator()(std::int64_t step) const {
    detail::check_step(step, "warmup_cosine_schedule");
    detail::check_schedule_value(peak_lr, "warmup_cosine_schedule", "peak_lr");
    if (warmup_steps < 0 || total_steps < 1 || warmup_steps > total_steps)
      throw value_error("simclr: warmup_cosine_schedule: warmup_steps = " +
                        std::to_string(warmup_steps) + ", total_steps = " +
                        std::to_string(total_steps) +
                        ", expected 0 ≤ warmup_steps ≤ total_steps and total_steps ≥ 1");
    if (step < warmup_steps)
      return peak_lr * static_cast<double>(step) / static_cast<double>(warmup_steps);
    if (step >= total_steps) return 0.0;
    const double progress = static_cast<double>(step - warmup_steps) /
                            static_cast<double>(total_steps - warmup_steps);
    return peak_lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
};

/// Step decay: lr · γ^k where k is the number of milestones (steps) ≤ `step`
/// (PyTorch's MultiStepLR, evaluated per step).
struct step_decay_schedule {
  double lr = 0.0;
  double gamma = 0.1;
  std::vector<std::int64_t> milestones;  ///< increasing step numbers

  /// Every `period` steps (PyTorch's StepLR): milestones period, 2·period, ... up to total_steps.
  [[nodiscard]] static step_decay_schedule every(double lr, double gamma, std::int64_t period,
                                                 std::int64_t total_steps) {
    if (period < 1)
      throw value_error("simclr: step_decay_schedule: period is " + std::to_string(period) +
                        ", expected ≥ 1");
    step_decay_schedule s{lr, gamma, {}};
    for (std::int64_t m = period; m < total_steps; m += period) s.milestones.push_back(m);
    return s;
  }

  /// The learning rate of step `step` (0-based).
  [[nodiscard]] double operator()(std::int64_t step) const {
    detail::check_step(step, "step_decay_schedule");
    detail::check_schedule_value(lr, "step_decay_schedule", "lr");
    detail::check_schedule_value(gamma, "step_decay_schedule", "gamma");
    double out = lr;
    std::int64_t previous = -1;
    for (const std::int64_t m : milestones) {
      if (m <= previous)
        throw value_error("simclr: step_decay_schedule: milestones must increase (" +
                          std::to_string(previous) + " then " + std::to_string(m) + ")");
      previous = m;
      if (step >= m) out *= gamma;
    }
    return out;
  }
};

}  // namespace simclr::optim
