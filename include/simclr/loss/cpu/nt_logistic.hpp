// simclr::loss::nt_logistic_kernel<cpu_t>: NT-Logistic forward and backward on the CPU.
#pragma once

#include <algorithm>
#include <cmath>
#include <utility>

#include <simclr/loss/cpu/pairwise.hpp>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

template <>
struct nt_logistic_kernel<cpu_t> {
  /// log(1 + eˣ) without overflow.
  static double softplus(double x) noexcept {
    return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x)));
  }
  static double sigmoid(double x) noexcept {
    if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
    const double e = std::exp(x);
    return e / (1.0 + e);
  }

  template <class T>
  static detail::pairwise_sums run(const T* z, index_t rows, index_t d,
                                   const nt_logistic_options& o, T* dz) {
    const double inv_tau = 1.0 / o.temperature, w = o.negative_weight;
    auto row = [&](index_t i, index_t p, const auto& c, auto& g) {
      const double s_pos = static_cast<double>(c(p)) * inv_tau;
      double loss = softplus(-s_pos);
      g(p) = static_cast<T>((sigmoid(s_pos) - 1.0) * inv_tau);
      double best_neg = -INFINITY;
      for (index_t k = 0; k < rows; ++k) {
        if (k == i || k == p) continue;
        const double s = static_cast<double>(c(k)) * inv_tau;
        loss += w * softplus(s);
        g(k) = static_cast<T>(w * sigmoid(s) * inv_tau);
        best_neg = std::max(best_neg, s);
      }
      return std::pair<double, bool>(loss, s_pos > best_neg);
    };
    return cpu_detail::pairwise_loss(z, rows, d, o.norm_epsilon, o.allow_small_rows, 1.0,
                                     "nt_logistic", row, dz);
  }
};

}  // namespace simclr::loss
