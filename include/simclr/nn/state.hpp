// simclr::nn::state_ref: one named tensor of a module's state (parameter, running statistic, counter).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/parameter.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// What a state entry is: a trainable parameter, a buffer that training updates without
/// gradients (BatchNorm running statistics), or an integer counter (num_batches_tracked).
enum class state_kind { parameter, buffer, counter };

/// A handle on one entry of a module's state, as `visit_state` reports it. Names follow
/// torchvision's state_dict ("layer1.0.bn1.running_mean"), so weights interoperate.
template <class T, backend Backend = cpu_t>
struct state_ref {
  std::string name;
  state_kind kind = state_kind::parameter;
  parameter_role role = parameter_role::weight;    ///< for parameters
  tensor<T, Backend>* value = nullptr;             ///< parameters and buffers
  tensor<T, Backend>* grad = nullptr;              ///< parameters only
  tensor<std::int64_t, cpu_t>* count = nullptr;    ///< counters only (a host scalar)
};

/// The callback `visit_state` calls once per state entry.
template <class T, backend Backend = cpu_t>
using state_visitor = std::function<void(const state_ref<T, Backend>&)>;

/// "prefix.name", or "name" when the prefix is empty.
[[nodiscard]] inline std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

/// Visits "prefix.weight" (role weight) and, when `bias` is non-null, "prefix.bias" (role bias):
/// the state of the affine layers (conv2d, linear).
template <class T, backend Backend>
void visit_weight_and_bias(const state_visitor<T, Backend>& f, const std::string& prefix,
                           tensor<T, Backend>& weight, tensor<T, Backend>& weight_grad,
                           tensor<T, Backend>* bias, tensor<T, Backend>* bias_grad) {
  f({join_name(prefix, "weight"), state_kind::parameter, parameter_role::weight, &weight,
     &weight_grad, nullptr});
  if (bias != nullptr)
    f({join_name(prefix, "bias"), state_kind::parameter, parameter_role::bias, bias, bias_grad,
       nullptr});
}

/// The parameters of any module with `visit_state`, as the optimizer concept takes them.
template <class T, class Backend, class Module>
[[nodiscard]] std::vector<parameter<T, Backend>> parameters_of(Module& m,
                                                               const std::string& prefix = "") {
  std::vector<parameter<T, Backend>> out;
  m.visit_state(
      [&](const state_ref<T, Backend>& s) {
        if (s.kind == state_kind::parameter) out.push_back({s.name, s.role, s.value, s.grad});
      },
      prefix);
  return out;
}

/// Sets every parameter gradient of a module to zero.
template <class T, class Backend, class Module>
void zero_grad_of(Module& m) {
  m.visit_state(
      [](const state_ref<T, Backend>& s) {
        if (s.kind == state_kind::parameter && s.grad != nullptr)
          memory<Backend>::zero(s.grad->data(), s.grad->bytes());
      },
      "");
}

}  // namespace simclr::nn
