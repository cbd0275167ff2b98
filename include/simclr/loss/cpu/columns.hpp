// Per-feature (column) statistics over a batch, for the losses that look across the batch
// (Barlow Twins, VICReg): means and centred sums of squares in double, in row order.
#pragma once

#include <cstddef>
#include <vector>

#include <simclr/config.hpp>

namespace simclr::loss::cpu_detail {

/// Column means and centred sums of squares Σ_n (x_nj − μ_j)² of a row-major (n, d) block,
/// accumulated in double, rows in order (two passes: no cancellation).
struct column_moments {
  std::vector<double> mean, centred_squares;
};

template <class T>
column_moments moments_of_columns(const T* x, index_t n, index_t d) {
  column_moments m;
  m.mean.assign(static_cast<std::size_t>(d), 0.0);
  m.centred_squares.assign(static_cast<std::size_t>(d), 0.0);
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < d; ++j) m.mean[static_cast<std::size_t>(j)] += static_cast<double>(x[r * d + j]);
  for (double& v : m.mean) v /= static_cast<double>(n);
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < d; ++j) {
      const double c = static_cast<double>(x[r * d + j]) - m.mean[static_cast<std::size_t>(j)];
      m.centred_squares[static_cast<std::size_t>(j)] += c * c;
    }
  return m;
}

/// g ← g − column means of g (the gradient through centring x − μ), for a row-major (n, d) g.
template <class T>
void subtract_column_means(T* g, index_t n, index_t d) {
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] += static_cast<double>(g[r * d + j]);
  for (index_t r = 0; r < n; ++r)
    for (index_t j = 0; j < d; ++j)
      g[r * d + j] -= static_cast<T>(mean[static_cast<std::size_t>(j)] / static_cast<double>(n));
}

}  // namespace simclr::loss::cpu_detail
