// simclr::loss::barlow_twins_kernel<cpu_t>: Barlow Twins' cross-correlation loss and its gradient.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <simclr/loss/cpu/block_gemm.hpp>
#include <simclr/loss/cpu/columns.hpp>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

/// Each view standardised per feature (x̂ = (x − μ)/√(σ² + ε), biased σ² as BatchNorm1d in
/// training), C = X̂₁ᵀ X̂₂ / N (D × D), then with G = ∂L/∂C (2(C_ii − 1) on the diagonal,
/// 2λ C_ij off it): ∂L/∂X̂₁ = X̂₂ Gᵀ / N, ∂L/∂X̂₂ = X̂₁ G / N, and through the standardisation
/// dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂ ∘ x̂)) / √(σ² + ε) per column. The three GEMMs use the
/// loss kernels' fixed-order parallel GEMM: results do not depend on the thread count.
template <>
struct barlow_twins_kernel<cpu_t> {
  template <class T>
  static barlow_twins_sums run(const T* z, index_t rows, index_t d, const barlow_twins_options& o,
                               T* dz) {
    using namespace cpu_detail;
    const index_t n = rows / 2;
    row_matrix<T> xh(rows, d);  // both views standardised
    std::vector<double> inv_std(static_cast<std::size_t>(2 * d));
    for (index_t v = 0; v < 2; ++v) {
      const T* x = z + v * n * d;
      const auto m = moments_of_columns(x, n, d);
      for (index_t j = 0; j < d; ++j) {
        const double s = 1.0 / std::sqrt(m.centred_squares[static_cast<std::size_t>(j)] /
                                             static_cast<double>(n) + o.epsilon);
        inv_std[static_cast<std::size_t>(v * d + j)] = s;
        for (index_t r = 0; r < n; ++r)
          xh(v * n + r, j) = static_cast<T>(
              (static_cast<double>(x[r * d + j]) - m.mean[static_cast<std::size_t>(j)]) * s);
      }
    }
    const T* a = xh.data();
    const T* b = xh.data() + n * d;
    row_matrix<T> c(d, d);  // C = X̂₁ᵀ X̂₂ / N
    parallel_gemm(d, d, n, a, index_t{1}, d, b, d, c.data(), d, false);
    c /= static_cast<T>(n);
    barlow_twins_sums s;
    row_matrix<T> g(d, d), gt(d, d);  // G and Gᵀ, already divided by N
    const double two_lambda = 2.0 * o.lambda;
    for (index_t i = 0; i < d; ++i)
      for (index_t j = 0; j < d; ++j) {
        const double cij = static_cast<double>(c(i, j));
        double gij;
        if (i == j) {
          s.on_diagonal += (cij - 1.0) * (cij - 1.0);
          s.diagonal += cij;
          gij = 2.0 * (cij - 1.0);
        } else {
          s.off_diagonal += cij * cij;
          gij = two_lambda * cij;
        }
        g(i, j) = gt(j, i) = static_cast<T>(gij / static_cast<double>(n));
      }
    row_matrix<T> dxh(rows, d);
    parallel_gemm(n, d, d, b, d, index_t{1}, gt.data(), d, dxh.data(), d, false);  // X̂₂ Gᵀ
    parallel_gemm(n, d, d, a, d, index_t{1}, g.data(), d, dxh.data() + n * d, d, false);  // X̂₁ G
    // Back through each view's standardisation.
    for (index_t v = 0; v < 2; ++v) {
      const T* gx = dxh.data() + v * n * d;
      const T* xv = xh.data() + v * n * d;
      std::vector<double> mean_g(static_cast<std::size_t>(d), 0.0), mean_gx(static_cast<std::size_t>(d), 0.0);
      for (index_t r = 0; r < n; ++r)
        for (index_t j = 0; j < d; ++j) {
          mean_g[static_cast<std::size_t>(j)] += static_cast<double>(gx[r * d + j]);
          mean_gx[static_cast<std::size_t>(j)] +=
              static_cast<double>(gx[r * d + j]) * static_cast<double>(xv[r * d + j]);
        }
      for (index_t r = 0; r < n; ++r)
        for (index_t j = 0; j < d; ++j) {
          const auto jj = static_cast<std::size_t>(j);
          dz[(v * n + r) * d + j] = static_cast<T>(
              (static_cast<double>(gx[r * d + j]) - mean_g[jj] / static_cast<double>(n) -
               static_cast<double>(xv[r * d + j]) * mean_gx[jj] / static_cast<double>(n)) *
              inv_std[static_cast<std::size_t>(v * d + j)]);
        }
    }
    return s;
  }
};

}  // namespace simclr::loss
