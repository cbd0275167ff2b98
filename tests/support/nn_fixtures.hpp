// Test helpers: the PyTorch fixtures of tests/fixtures/nn (made by generate_nn.py).
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include <simclr/io/safetensors.hpp>
#include <simclr/tensor.hpp>

namespace simclr::test {

/// tests/fixtures/nn/<name>.
inline std::filesystem::path nn_fixture(const std::string& name) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "fixtures" / "nn" / name;
}

/// max |a − b| / max(1, |b|) over all elements (shapes must match).
template <class A, class B>
double max_scaled_error(const A& a, const B& b) {
  if (!(a.shape() == b.shape()))
    throw shape_error("max_scaled_error: " + a.shape().to_string() + " vs " + b.shape().to_string());
  double worst = 0;
  for (index_t i = 0; i < a.numel(); ++i) {
    const double x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
    worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
  }
  return worst;
}

/// ‖a − b‖₂ / ‖b‖₂ (0 when both are zero): the error measure for float32 gradients, whose
/// individual elements carry the rounding of long sums.
template <class A, class B>
double relative_norm_error(const A& a, const B& b) {
  if (!(a.shape() == b.shape()))
    throw shape_error("relative_norm_error: " + a.shape().to_string() + " vs " +
                      b.shape().to_string());
  double num = 0, den = 0;
  for (index_t i = 0; i < a.numel(); ++i) {
    const double x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
    num += (x - y) * (x - y);
    den += y * y;
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace simclr::test
