// CPU helpers shared by the losses: row normalisation with its checks, and the gradient projection.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/row_checks.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::loss::cpu_detail {

/// Row-major Eigen matrix and maps over raw row-major storage.
template <class T>
using row_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using matrix_map = Eigen::Map<row_matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using const_matrix_map = Eigen::Map<const row_matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Rows per task of the row-wise passes: a constant, so results never depend on the thread count.
inline constexpr index_t row_grain = 64;

/// The rows of z scaled to unit length, with what the backward pass needs to undo it.
template <class T>
struct normalised_rows {
  row_matrix<T> u;           // (rows, D) u_i = z_i / max(‖z_i‖, ε)
  vector<T> inv_norm;        // (rows) 1 / max(‖z_i‖, ε)
  std::vector<char> clamped;  // (rows) 1 where ‖z_i‖ < ε (u = z/ε, a linear map)
};

/// Normalises the rows of the row-major (rows, d) matrix z. Throws value_error naming the first
/// row that holds a NaN or an infinity, and, unless `allow_small_rows`, the first row whose norm
/// is below `eps` (a zero embedding has no direction to contrast).
template <class T>
normalised_rows<T> normalise_rows(const T* z, index_t rows, index_t d, double eps,
                                  bool allow_small_rows, const char* loss_name) {
  const_matrix_map<T> zm(z, rows, d, Eigen::OuterStride<>(d));
  normalised_rows<T> out;
  out.u.resize(rows, d);
  out.inv_norm.resize(rows);
  out.clamped.assign(static_cast<std::size_t>(rows), 0);
  std::vector<double> norms(static_cast<std::size_t>(rows));
  parallel::parallel_for(0, rows, row_grain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      double sq = 0.0;
      for (index_t j = 0; j < d; ++j) {
        const double v = static_cast<double>(zm(i, j));
        sq += v * v;
      }
      norms[static_cast<std::size_t>(i)] = std::sqrt(sq);
    }
  });
  for (index_t i = 0; i < rows; ++i) {
    const double nrm = norms[static_cast<std::size_t>(i)];
    if (detail::check_row_norm(i, nrm, eps, allow_small_rows, loss_name))
      out.clamped[static_cast<std::size_t>(i)] = 1;
    out.inv_norm(i) = static_cast<T>(1.0 / std::max(nrm, eps));
  }
  parallel::parallel_for(0, rows, row_grain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) out.u.row(i) = zm.row(i) * out.inv_norm(i);
  });
  return out;
}

/// dz_i = s·(g_i − (g_i·u_i) u_i) / ‖z_i‖, the gradient through u = z/‖z‖ of the gradient g
/// with respect to u (s scales the whole gradient). Rows below ε take dz_i = s·g_i/ε.
/// `g` is (rows, d) row-major, `dz` (rows, d) row-major; they may alias.
template <class T>
void project_rows(const T* g, const normalised_rows<T>& nr, T scale, T* dz) {
  const index_t rows = nr.u.rows(), d = nr.u.cols();
  const_matrix_map<T> gm(g, rows, d, Eigen::OuterStride<>(d));
  matrix_map<T> out(dz, rows, d, Eigen::OuterStride<>(d));
  parallel::parallel_for(0, rows, row_grain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) {
      const T s = scale * nr.inv_norm(i);
      if (nr.clamped[static_cast<std::size_t>(i)] != 0) {
        out.row(i) = gm.row(i) * s;
      } else {
        const T radial = gm.row(i).dot(nr.u.row(i));
        out.row(i) = (gm.row(i) - radial * nr.u.row(i)) * s;
      }
    }
  });
}

/// −∞ in T (masks the diagonal of a similarity block before a max or an exp).
template <class T>
inline constexpr T minus_infinity = -std::numeric_limits<T>::infinity();

}  // namespace simclr::loss::cpu_detail
