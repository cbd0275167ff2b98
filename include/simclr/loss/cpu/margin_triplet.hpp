// simclr::loss::margin_triplet_kernel<cpu_t>: margin triplet forward and backward on the CPU.
#pragma once

#include <algorithm>
#include <cmath>
#include <utility>

#include <simclr/loss/cpu/pairwise.hpp>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

template <>
struct margin_triplet_kernel<cpu_t> {
  template <class T>
  static detail::pairwise_sums run(const T* z, index_t rows, index_t d,
                                   const margin_triplet_options& o, T* dz) {
    const double m = o.margin;
    auto row = [&](index_t i, index_t p, const auto& c, auto& g) {
      const double c_pos = static_cast<double>(c(p));
      double best_neg = -INFINITY;
      for (index_t k = 0; k < rows; ++k)
        if (k != i && k != p) best_neg = std::max(best_neg, static_cast<double>(c(k)));
      const bool top1 = c_pos > best_neg;
      if (rows <= 2) return std::pair<double, bool>(0.0, top1);  // no negatives
      double loss = 0.0;
      if (o.semi_hard) {
        index_t chosen = -1, easiest = -1;
        for (index_t k = 0; k < rows; ++k) {
          if (k == i || k == p) continue;
          const double ck = static_cast<double>(c(k));
          if (ck < c_pos && (chosen < 0 || ck > static_cast<double>(c(chosen)))) chosen = k;
          if (easiest < 0 || ck < static_cast<double>(c(easiest))) easiest = k;
        }
        const index_t k = chosen >= 0 ? chosen : easiest;
        const double h = static_cast<double>(c(k)) - c_pos + m;
        if (h > 0) {
          loss = h;
          g(k) = T(1);
          g(p) = T(-1);
        }
      } else {
        const double w = 1.0 / static_cast<double>(rows - 2);
        double pos_grad = 0.0;
        for (index_t k = 0; k < rows; ++k) {
          if (k == i || k == p) continue;
          const double h = static_cast<double>(c(k)) - c_pos + m;
          if (h > 0) {
            loss += w * h;
            g(k) = static_cast<T>(w);
            pos_grad -= w;
          }
        }
        g(p) = static_cast<T>(pos_grad);
      }
      return std::pair<double, bool>(loss, top1);
    };
    return cpu_detail::pairwise_loss(z, rows, d, o.norm_epsilon, o.allow_small_rows, 1.0,
                                     "margin_triplet", row, dz);
  }
};

}  // namespace simclr::loss
