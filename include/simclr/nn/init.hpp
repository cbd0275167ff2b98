// simclr::nn::init: parameter initialisers (torchvision's ResNet conventions), keyed by parameter name.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

#include <simclr/random/fill.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn::init {

/// FNV-1a hash of a parameter name: init keys are `key.fold_in(name_id(name))`, so a
/// parameter's initial values depend on the seed and its name only (not on creation order).
[[nodiscard]] constexpr std::uint64_t name_id(std::string_view name) {
  std::uint64_t h = 1469598103934665603ull;
  for (char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  return h;
}

/// Kaiming (He) normal with fan_out and ReLU gain: N(0, 2 / fan_out), fan_out = Cout·kh·kw —
/// torchvision's init for every ResNet convolution.
template <class T, class B>
void kaiming_normal_fan_out(tensor<T, B>& w, const random::key& k) {
  const index_t fan_out = w.extent(0) * (w.numel() / std::max<index_t>(1, w.extent(0) * w.extent(1)));
  // Unqualified: found by argument-dependent lookup where the template is instantiated, so
  // the device fill of <simclr/random/cuda/fill.cuh> serves tensors of cuda_t.
  fill_normal(w.view(), k, T(0), static_cast<T>(std::sqrt(2.0 / double(fan_out))));
}

/// PyTorch's default for Linear weights and biases: U(−1/√fan_in, 1/√fan_in).
template <class T, class B>
void uniform_fan_in(tensor<T, B>& t, index_t fan_in, const random::key& k) {
  const T bound = static_cast<T>(1.0 / std::sqrt(double(std::max<index_t>(1, fan_in))));
  fill_uniform(t.view(), k, -bound, bound);  // unqualified, as above
}

}  // namespace simclr::nn::init
