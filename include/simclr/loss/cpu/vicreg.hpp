// simclr::loss::vicreg_kernel<cpu_t>: VICReg's invariance, variance and covariance terms and their gradient.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <simclr/loss/cpu/block_gemm.hpp>
#include <simclr/loss/cpu/columns.hpp>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

/// Per view: X_c = X − μ, std_j = √(Σ_n X_c,nj²/(N − 1) + ε), K = X_cᵀ X_c/(N − 1). The
/// gradient with respect to X_c is ν·4 X_c K_off/(D(N − 1)) (one GEMM) minus
/// μ·[std_j < γ] X_c,nj/(2D·std_j·(N − 1)), then centred (the gradient through X − μ); the
/// invariance term adds ±2λ(x − y)/(N·D). GEMMs in the loss kernels' fixed order.
template <>
struct vicreg_kernel<cpu_t> {
  template <class T>
  static vicreg_sums run(const T* z, index_t rows, index_t d, const vicreg_options& o, T* dz) {
    using namespace cpu_detail;
    const index_t n = rows / 2;
    const double nd = static_cast<double>(n), dd = static_cast<double>(d);
    vicreg_sums s;
    row_matrix<T> xc(n, d), k(d, d), m(d, d);
    for (index_t v = 0; v < 2; ++v) {
      const T* x = z + v * n * d;
      T* dx = dz + v * n * d;
      const auto mom = moments_of_columns(x, n, d);
      std::vector<double> var_coef(static_cast<std::size_t>(d));  // ∂/∂X_c = coef_j · X_c,nj
      double hinge = 0.0;
      for (index_t j = 0; j < d; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        const double sd = std::sqrt(mom.centred_squares[jj] / (nd - 1.0) + o.epsilon);
        const bool active = o.variance_target - sd > 0.0;
        hinge += active ? o.variance_target - sd : 0.0;
        var_coef[jj] = active ? -o.variance_weight / (2.0 * dd * sd * (nd - 1.0)) : 0.0;
        for (index_t r = 0; r < n; ++r)
          xc(r, j) = static_cast<T>(static_cast<double>(x[r * d + j]) - mom.mean[jj]);
      }
      s.variance += hinge / dd / 2.0;
      parallel_gemm(d, d, n, xc.data(), index_t{1}, d, xc.data(), d, k.data(), d, false);
      const double cov_scale = 4.0 * o.covariance_weight / (dd * (nd - 1.0));
      double off = 0.0;
      for (index_t i = 0; i < d; ++i)
        for (index_t j = 0; j < d; ++j) {
          const double kij = static_cast<double>(k(i, j)) / (nd - 1.0);
          if (i != j) off += kij * kij;
          m(i, j) = i == j ? T(0) : static_cast<T>(kij * cov_scale);
        }
      s.covariance += off / dd;
      parallel_gemm(n, d, d, xc.data(), d, index_t{1}, m.data(), d, dx, d, false);  // X_c M
      for (index_t r = 0; r < n; ++r)
        for (index_t j = 0; j < d; ++j)
          dx[r * d + j] += static_cast<T>(var_coef[static_cast<std::size_t>(j)] *
                                          static_cast<double>(xc(r, j)));
      subtract_column_means(dx, n, d);
    }
    // Invariance: (1/(N·D)) Σ (x − y)², ∂/∂x = 2λ(x − y)/(N·D) = −∂/∂y.
    const double inv_scale = 2.0 * o.invariance_weight / (nd * dd);
    for (index_t e = 0; e < n * d; ++e) {
      const double diff = static_cast<double>(z[e]) - static_cast<double>(z[n * d + e]);
      s.invariance += diff * diff;
      const T g = static_cast<T>(inv_scale * diff);
      dz[e] += g;
      dz[n * d + e] -= g;
    }
    s.invariance /= nd * dd;
    return s;
  }
};

}  // namespace simclr::loss
