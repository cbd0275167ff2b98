// simclr::plot::pca: principal components of features (N, D) by an eigen-decomposition of the covariance, with a fixed sign convention.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <simclr/error.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::plot {

/// The leading principal components of a feature matrix and the map onto them.
struct pca_result {
  std::vector<double> mean;                      ///< (D) feature means
  tensor<double, cpu_t> components;              ///< (k, D) unit eigenvectors, largest variance first
  std::vector<double> explained_variance;        ///< (k) eigenvalues of the covariance (divisor N − 1)
  std::vector<double> explained_variance_ratio;  ///< (k) eigenvalue / trace of the covariance

  /// (N, k) coordinates of `x` (N, D): (x − mean) · componentsᵀ.
  template <class T>
  [[nodiscard]] tensor<double, cpu_t> project(tensor_view<const T, cpu_t> x) const {
    const index_t k = components.extent(0), d = components.extent(1);
    if (x.rank() != 2 || x.extent(1) != d || !x.is_contiguous())
      throw shape_error("simclr: plot::pca_result::project: features have shape " +
                        x.shape().to_string() + ", expected contiguous (N, " + std::to_string(d) + ")");
    const index_t n = x.extent(0);
    tensor<double, cpu_t> out(shape{n, k});  // (N, k)
    for (index_t i = 0; i < n; ++i)
      for (index_t c = 0; c < k; ++c) {
        double s = 0.0;
        for (index_t j = 0; j < d; ++j)
          s += (static_cast<double>(x.data()[i * d + j]) - mean[static_cast<std::size_t>(j)]) *
               components(c, j);
        out(i, c) = s;
      }
    return out;
  }
  /// Same for a tensor.
  template <class T>
  [[nodiscard]] tensor<double, cpu_t> project(const tensor<T, cpu_t>& x) const {
    return project(x.view());
  }
};

/// The `k` leading principal components of `x` (N, D), N ≥ 2: the covariance (1 / (N − 1))
/// Σ (x − mean)ᵀ(x − mean) accumulated in double, then Eigen's SelfAdjointEigenSolver.
/// Deterministic sign: in each component the entry of largest magnitude (the first one on a tie)
/// is positive. Throws value_error unless 1 ≤ k ≤ D and N ≥ 2.
template <class T>
[[nodiscard]] pca_result pca(tensor_view<const T, cpu_t> x, index_t k = 2) {
  if (x.rank() != 2 || !x.is_contiguous())
    throw shape_error("simclr: plot::pca: features have shape " + x.shape().to_string() +
                      ", expected contiguous (N, D)");
  const index_t n = x.extent(0), d = x.extent(1);
  if (n < 2) throw value_error("simclr: plot::pca needs at least 2 rows, got " + std::to_string(n));
  if (k < 1 || k > d)
    throw value_error("simclr: plot::pca: k is " + std::to_string(k) + ", expected 1.." + std::to_string(d));
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  pca_result r;
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(d);
  for (index_t i = 0; i < n; ++i)
    for (index_t j = 0; j < d; ++j) mean(j) += static_cast<double>(x.data()[i * d + j]);
  mean /= static_cast<double>(n);
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  constexpr index_t block = 2048;
  for (index_t lo = 0; lo < n; lo += block) {
    const index_t rows = std::min(block, n - lo);
    row_major xc(rows, d);
    for (index_t i = 0; i < rows; ++i)
      for (index_t j = 0; j < d; ++j) xc(i, j) = static_cast<double>(x.data()[(lo + i) * d + j]) - mean(j);
    cov.noalias() += xc.transpose() * xc;
  }
  cov /= static_cast<double>(n - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  if (eig.info() != Eigen::Success) throw value_error("simclr: plot::pca: the eigen-decomposition failed");
  const double trace = cov.trace();
  r.mean.assign(mean.data(), mean.data() + d);
  r.components = tensor<double, cpu_t>(shape{k, d});  // (k, D)
  for (index_t c = 0; c < k; ++c) {
    const index_t col = d - 1 - c;  // eigenvalues come in increasing order
    Eigen::VectorXd v = eig.eigenvectors().col(col);
    index_t arg = 0;
    for (index_t j = 1; j < d; ++j)
      if (std::abs(v(j)) > std::abs(v(arg))) arg = j;
    if (v(arg) < 0) v = -v;
    for (index_t j = 0; j < d; ++j) r.components(c, j) = v(j);
    const double ev = std::max(0.0, eig.eigenvalues()(col));
    r.explained_variance.push_back(ev);
    r.explained_variance_ratio.push_back(trace > 0 ? ev / trace : 0.0);
  }
  return r;
}

/// Same for a tensor.
template <class T>
[[nodiscard]] pca_result pca(const tensor<T, cpu_t>& x, index_t k = 2) {
  return pca(x.view(), k);
}

}  // namespace simclr::plot
