// Helpers of the CPU-vs-CUDA parity tests: random host inputs, worst differences, state copies.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/cuda.cuh>

namespace parity {

using namespace simclr;

/// A host tensor with uniform values in [lo, hi) from `seed`.
template <class T = float>
tensor<T> random_host(const shape& s, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  tensor<T> t(s, uninitialized);
  random::fill_uniform<T>(t.view(), random::key(seed), lo, hi);
  return t;
}

/// max_i |a_i − b_i| / (1 + |a_i|) of a host tensor and a device tensor of the same shape.
template <class T>
double worst_difference(const tensor<T>& cpu, const tensor<T, cuda_t>& gpu) {
  REQUIRE(cpu.shape() == gpu.shape());
  const auto back = to_host(gpu);
  double worst = 0;
  for (index_t i = 0; i < cpu.numel(); ++i) {
    const double a = static_cast<double>(cpu.data()[i]), b = static_cast<double>(back.data()[i]);
    const double d = std::abs(a - b) / (1.0 + std::abs(a));
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
  }
  return worst;
}

/// Checks a device result against the CPU one within `tol` (relative to 1 + |cpu|).
template <class T>
void check_close(const tensor<T>& cpu, const tensor<T, cuda_t>& gpu, double tol,
                 const std::string& what) {
  const double worst = worst_difference(cpu, gpu);
  INFO(what << ": worst relative difference " << worst << " (tolerance " << tol << ")");
  CHECK(worst <= tol);
}

/// Copies every state tensor (parameters, gradients, buffers) of a CPU module into the same-named
/// tensors of its CUDA twin, visited in the same order.
template <class T, class CpuModule, class CudaModule>
void copy_state(CpuModule& from, CudaModule& to) {
  std::vector<const tensor<T>*> values;
  from.visit_state(
      [&](const nn::state_ref<T, cpu_t>& s) {
        if (s.value != nullptr) values.push_back(s.value);
      },
      "");
  std::size_t k = 0;
  to.visit_state(
      [&](const nn::state_ref<T, cuda_t>& s) {
        if (s.value == nullptr) return;
        REQUIRE(k < values.size());
        *s.value = to_device(*values[k++]);
      },
      "");
  CHECK(k == values.size());
}

/// Checks every state tensor (values and gradients) of a CUDA module against its CPU twin.
template <class T, class CpuModule, class CudaModule>
void check_state(CpuModule& cpu, CudaModule& gpu, double tol) {
  std::vector<nn::state_ref<T, cpu_t>> refs;
  cpu.visit_state([&](const nn::state_ref<T, cpu_t>& s) { refs.push_back(s); }, "");
  std::size_t k = 0;
  gpu.visit_state(
      [&](const nn::state_ref<T, cuda_t>& s) {
        REQUIRE(k < refs.size());
        const auto& r = refs[k++];
        CHECK(r.name == s.name);
        if (s.value != nullptr) check_close(*r.value, *s.value, tol, s.name);
        if (s.grad != nullptr) check_close(*r.grad, *s.grad, tol, s.name + ".grad");
        if (s.count != nullptr) CHECK((*r.count)() == (*s.count)());
      },
      "");
  CHECK(k == refs.size());
}

}  // namespace parity
