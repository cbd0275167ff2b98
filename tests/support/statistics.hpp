// Test support: a two-sample Kolmogorov–Smirnov test and binomial tolerances for randomized tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace simclr::test {

/// The two-sample Kolmogorov–Smirnov statistic D = sup |F_a − F_b|, evaluated at every distinct
/// value (correct with ties, as discrete crop sizes have).
inline double ks_statistic(std::vector<double> a, std::vector<double> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::size_t i = 0, j = 0;
  double d = 0.0;
  const auto na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  while (i < a.size() && j < b.size()) {
    const double x = std::min(a[i], b[j]);
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    d = std::max(d, std::abs(static_cast<double>(i) / na - static_cast<double>(j) / nb));
  }
  return d;
}

/// The KS critical value at level α = 0.001: c(α)·√((n + m)/(n·m)), c = 1.949.
inline double ks_critical(std::size_t n, std::size_t m) {
  const auto dn = static_cast<double>(n), dm = static_cast<double>(m);
  return 1.949 * std::sqrt((dn + dm) / (dn * dm));
}

/// True when `hits` successes in `n` trials are within 5 standard deviations of n·p.
inline bool binomial_ok(std::size_t hits, std::size_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1.0 - p));
  return std::abs(static_cast<double>(hits) - mean) <= 5.0 * sd + 1e-9;
}

}  // namespace simclr::test
