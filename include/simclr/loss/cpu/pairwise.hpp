// CPU skeleton of the losses written per anchor row of the cosine matrix (NT-Logistic, margin).
#pragma once

#include <vector>

#include <Eigen/Core>

#include <simclr/loss/cpu/block_gemm.hpp>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/row_checks.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::loss::cpu_detail {

/// Normalises z (rows, d), forms C = U Uᵀ (cosines) and calls
///   row_fn(i, p, c_row, g_row) -> std::pair<double, bool>
/// for every anchor i with positive p = (i + N) mod 2N: c_row is row i of C (with c_row[i]
/// meaningless), g_row receives ∂ℓ_i/∂C_i· (g_row[i] is ignored); it returns ℓ_i and whether
/// the positive is the strict arg-max. Then dz of (scale/2N) Σ ℓ_i through C = U Uᵀ and the
/// normalisation: ∂/∂U = (G + Gᵀ) U with G the rows g scaled by 1/2N.
template <class T, class RowFn>
detail::pairwise_sums pairwise_loss(const T* z, index_t rows, index_t d, double eps,
                                    bool allow_small, double scale, const char* name,
                                    RowFn&& row_fn, T* dz) {
  const auto nr = normalise_rows(z, rows, d, eps, allow_small, name);
  const index_t half = rows / 2;
  row_matrix<T> c(rows, rows);  // (2N, 2N) cosines, then G in place
  const row_matrix<T> ut = nr.u.transpose();  // (D, 2N)
  parallel_gemm(rows, rows, d, nr.u.data(), d, index_t{1}, ut.data(), rows, c.data(), rows, false);
  std::vector<double> loss_i(static_cast<std::size_t>(rows));
  std::vector<char> correct(static_cast<std::size_t>(rows));
  const T inv_rows = static_cast<T>(1.0 / static_cast<double>(rows));
  parallel::parallel_for(0, rows, row_grain, [&](index_t lo, index_t hi) {
    vector<T> g(rows);
    for (index_t i = lo; i < hi; ++i) {
      g.setZero();
      const auto [l, ok] = row_fn(i, (i + half) % rows, c.row(i), g);
      loss_i[static_cast<std::size_t>(i)] = l;
      correct[static_cast<std::size_t>(i)] = ok ? 1 : 0;
      g(i) = T(0);
      c.row(i) = g.transpose() * inv_rows;
    }
  });
  detail::pairwise_sums s;
  for (index_t i = 0; i < rows; ++i) {
    s.loss += loss_i[static_cast<std::size_t>(i)];
    s.top1_correct += correct[static_cast<std::size_t>(i)];
  }
  row_matrix<T> gu(rows, d);  // (2N, D) ∂L/∂U = G U + Gᵀ U
  parallel_gemm(rows, d, rows, c.data(), rows, index_t{1}, nr.u.data(), d, gu.data(), d, false);
  parallel_gemm(rows, d, rows, c.data(), index_t{1}, rows, nr.u.data(), d, gu.data(), d, true);
  project_rows(gu.data(), nr, static_cast<T>(scale), dz);
  return s;
}

}  // namespace simclr::loss::cpu_detail
