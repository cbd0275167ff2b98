// simclr::testing::gradcheck: central finite differences against analytic gradients, in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr::testing {

/// One input of the function under test: its name (for the report), the tensor that the
/// checker perturbs in place (and restores), and the analytic gradient of the function with
/// respect to it (same shape).
struct gradcheck_input {
  std::string name;
  tensor<double, cpu_t>& value;
  const tensor<double, cpu_t>& gradient;
};

struct gradcheck_options {
  double step = 1e-6;         ///< h in (f(x + h) − f(x − h)) / 2h
  double tolerance = 1e-5;    ///< pass when every relative error is at most this
  double scale_floor = 1e-3;  ///< relative error = |a − n| / max(|a|, |n|, scale_floor)
  index_t max_checks = 0;     ///< per input; 0 checks every element, else an even subset
};

/// The outcome: the worst element found, and whether all were within tolerance.
struct gradcheck_result {
  bool passed = true;
  double max_relative_error = 0.0;
  double max_absolute_error = 0.0;
  std::string worst_input;
  index_t worst_index = -1;
  double worst_analytic = 0.0;
  double worst_numeric = 0.0;
  index_t checked = 0;

  /// One line for test output: "gradcheck passed: 120 elements, worst relative error 3e-09 at
  /// x[17] (analytic 0.25, numeric 0.25000001)".
  [[nodiscard]] std::string message() const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "gradcheck %s: %lld elements, worst relative error %.3g (absolute %.3g) at "
                  "%s[%lld] (analytic %.10g, numeric %.10g)",
                  passed ? "passed" : "FAILED", static_cast<long long>(checked),
                  max_relative_error, max_absolute_error, worst_input.c_str(),
                  static_cast<long long>(worst_index), worst_analytic, worst_numeric);
    return buf;
  }
};

/// Checks the analytic gradients of the scalar function `f()` with respect to each input by
/// central finite differences. `f` reads the inputs by reference (capture them); the checker
/// perturbs one element at a time and restores it, so `f` must be deterministic.
///
///   auto f = [&] { return loss(x, w); };
///   auto r = testing::gradcheck(f, {{"x", x, dx}, {"w", w, dw}});
///   CHECK_MESSAGE(r.passed, r.message());
///
/// For a function with a tensor output y, check the scalar ⟨y, r⟩ for a fixed random r and
/// feed r as the upstream gradient to backward.
template <class F>
  requires std::invocable<F&> && std::convertible_to<std::invoke_result_t<F&>, double>
[[nodiscard]] gradcheck_result gradcheck(F&& f, std::vector<gradcheck_input> inputs,
                                         const gradcheck_options& opt = {}) {
  gradcheck_result r;
  for (auto& in : inputs) {
    if (!(in.value.shape() == in.gradient.shape()))
      throw shape_error("simclr: gradcheck: gradient of '" + in.name + "' has shape " +
                        in.gradient.shape().to_string() + ", expected " +
                        in.value.shape().to_string());
    const index_t n = in.value.numel();
    const index_t stride = (opt.max_checks > 0 && n > opt.max_checks)
                               ? (n + opt.max_checks - 1) / opt.max_checks
                               : 1;
    double* x = in.value.data();
    for (index_t i = 0; i < n; i += stride) {
      const double saved = x[i];
      x[i] = saved + opt.step;
      const double up = static_cast<double>(f());
      x[i] = saved - opt.step;
      const double down = static_cast<double>(f());
      x[i] = saved;
      const double numeric = (up - down) / (2.0 * opt.step);
      const double analytic = in.gradient.data()[i];
      const double abs_err = std::abs(analytic - numeric);
      const double rel_err =
          abs_err / std::max({std::abs(analytic), std::abs(numeric), opt.scale_floor});
      r.max_absolute_error = std::max(r.max_absolute_error, abs_err);
      if (rel_err > r.max_relative_error || r.worst_index < 0 || std::isnan(rel_err)) {
        r.max_relative_error = std::isnan(rel_err) ? INFINITY : rel_err;
        r.worst_input = in.name;
        r.worst_index = i;
        r.worst_analytic = analytic;
        r.worst_numeric = numeric;
      }
      ++r.checked;
    }
  }
  r.passed = r.max_relative_error <= opt.tolerance;
  return r;
}

/// ⟨a, b⟩ over all elements (host tensors of equal shape): turns a tensor output into the
/// scalar a gradient check needs.
template <class T>
[[nodiscard]] double dot(const tensor<T, cpu_t>& a, const tensor<T, cpu_t>& b) {
  if (!(a.shape() == b.shape()))
    throw shape_error("simclr: testing::dot of shapes " + a.shape().to_string() + " and " +
                      b.shape().to_string());
  double s = 0.0;
  for (index_t i = 0; i < a.numel(); ++i)
    s += static_cast<double>(a.data()[i]) * static_cast<double>(b.data()[i]);
  return s;
}

}  // namespace simclr::testing
