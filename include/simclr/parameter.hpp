// simclr::parameter: a trainable tensor, its gradient, its name and its role (for optimizers).
#pragma once

#include <string>
#include <string_view>

#include <simclr/backend/tags.hpp>
#include <simclr/tensor.hpp>

namespace simclr {

/// What a parameter does in its layer. Optimizers decide by role, never by name, which
/// parameters get weight decay and trust-ratio scaling (LARS excludes norm and bias ones).
enum class parameter_role { weight, bias, norm_scale, norm_shift };

[[nodiscard]] constexpr std::string_view to_string(parameter_role r) noexcept {
  switch (r) {
    case parameter_role::weight: return "weight";
    case parameter_role::bias: return "bias";
    case parameter_role::norm_scale: return "norm_scale";
    case parameter_role::norm_shift: return "norm_shift";
  }
  return "?";
}

/// A non-owning handle on one trainable tensor and its gradient, as a module lists them.
/// `name` follows torchvision's state_dict names ("layer1.0.conv1.weight") so checkpoints
/// interoperate; `value` and `grad` point into the module and have the same shape.
template <class T, backend Backend = cpu_t>
struct parameter {
  std::string name;
  parameter_role role = parameter_role::weight;
  tensor<T, Backend>* value = nullptr;
  tensor<T, Backend>* grad = nullptr;

  /// True for roles that take weight decay and LARS trust scaling (weights only).
  [[nodiscard]] bool decays() const noexcept { return role == parameter_role::weight; }
};

}  // namespace simclr
