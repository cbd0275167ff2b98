// simclr::optim::optimizer_state and the per-parameter bookkeeping shared by the optimizers.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/error.hpp>
#include <simclr/parameter.hpp>
#include <simclr/tensor.hpp>

namespace simclr::optim {

/// One state tensor of an optimizer, named "<parameter name>.<slot>" (e.g.
/// "layer1.0.conv1.weight.momentum_buffer", PyTorch's slot names).
template <class T, class B>
struct named_state_tensor {
  std::string name;
  tensor<T, B>* value = nullptr;  ///< points into the optimizer: read to save, write to restore
};

/// Everything an optimizer needs to resume exactly: its named state tensors and its step count.
/// A view into the optimizer (valid until it is destroyed or re-bound). The checkpoint module
/// writes these tensors and `*steps`, and reads them back into a fresh optimizer bound to the
/// same parameter list.
template <class T, class B>
struct optimizer_state {
  std::int64_t* steps = nullptr;  ///< number of steps taken
  std::vector<named_state_tensor<T, B>> tensors;
};

namespace detail {

/// The state slots of one optimizer, one tensor per (parameter, slot), laid out parameter-major.
template <class T, class B>
class slot_store {
 public:
  /// Allocates zeroed slots for `params` on the first call; later calls check that the list
  /// still has the same names and shapes (state is kept by position).
  void bind(std::span<const parameter<T, B>> params, std::span<const char* const> slot_names,
            const char* optimizer_name) {
    if (!bound_) {
      names_.clear();
      shapes_.clear();
      slots_.clear();
      for (const auto& p : params) {
        check_parameter(p, optimizer_name);
        names_.push_back(p.name);
        shapes_.push_back(p.value->shape());
        for (std::size_t s = 0; s < slot_names.size(); ++s)
          slots_.emplace_back(p.value->shape());
      }
      slot_names_.assign(slot_names.begin(), slot_names.end());
      bound_ = true;
      return;
    }
    if (params.size() != names_.size())
      throw value_error(std::string("simclr: ") + optimizer_name + ": step got " +
                        std::to_string(params.size()) + " parameters, the optimizer was bound to " +
                        std::to_string(names_.size()) + " (pass the same list at every step)");
    for (std::size_t k = 0; k < params.size(); ++k) {
      check_parameter(params[k], optimizer_name);
      if (params[k].name != names_[k] || !(params[k].value->shape() == shapes_[k]))
        throw value_error(std::string("simclr: ") + optimizer_name + ": parameter " +
                          std::to_string(k) + " is '" + params[k].name + "' of shape " +
                          params[k].value->shape().to_string() + ", the optimizer was bound to '" +
                          names_[k] + "' of shape " + shapes_[k].to_string());
    }
  }

  [[nodiscard]] bool bound() const noexcept { return bound_; }
  /// Slot `s` of parameter `k`.
  [[nodiscard]] tensor<T, B>& at(std::size_t k, std::size_t s) {
    return slots_[k * slot_names_.size() + s];
  }

  /// The named view of every slot plus the step counter.
  [[nodiscard]] optimizer_state<T, B> state(std::int64_t* steps) {
    optimizer_state<T, B> st;
    st.steps = steps;
    for (std::size_t k = 0; k < names_.size(); ++k)
      for (std::size_t s = 0; s < slot_names_.size(); ++s)
        st.tensors.push_back({names_[k] + "." + slot_names_[s], &at(k, s)});
    return st;
  }

  static void check_parameter(const parameter<T, B>& p, const char* optimizer_name) {
    if (p.value == nullptr || p.grad == nullptr)
      throw value_error(std::string("simclr: ") + optimizer_name + ": parameter '" + p.name +
                        "' has no " + (p.value == nullptr ? "value" : "gradient") + " tensor");
    if (!(p.value->shape() == p.grad->shape()))
      throw shape_error(std::string("simclr: ") + optimizer_name + ": parameter '" + p.name +
                        "' has shape " + p.value->shape().to_string() + " but its gradient " +
                        p.grad->shape().to_string());
  }

 private:
  bool bound_ = false;
  std::vector<std::string> names_;
  std::vector<shape> shapes_;
  std::vector<std::string> slot_names_;
  std::vector<tensor<T, B>> slots_;
};

/// Throws value_error unless lo ≤ x (≤ hi when given) and x is finite.
inline void check_range(double x, double lo, double hi, bool hi_open, const char* optimizer_name,
                        const char* what) {
  const bool ok = std::isfinite(x) && x >= lo && (hi_open ? x < hi : x <= hi);
  if (!ok)
    throw value_error(std::string("simclr: ") + optimizer_name + ": " + what + " is " +
                      std::to_string(x) + ", expected in [" + std::to_string(lo) + ", " +
                      std::to_string(hi) + (hi_open ? ")" : "]"));
}

}  // namespace detail

}  // namespace simclr::optim
