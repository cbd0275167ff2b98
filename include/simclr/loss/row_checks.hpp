// What the CPU and CUDA loss kernels share on the host: the check of a row's norm (with its
// messages) and the sums a per-row loss returns. Free of Eigen, so the CUDA loss headers need
// none of the CPU kernels.
#pragma once

#include <cmath>
#include <string>

#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr::loss::detail {

/// Checks the norm of row i of z: throws value_error for a NaN or an infinity, and, unless
/// `allow_small_rows`, for a norm below `eps`. Returns whether the row is clamped (divided by ε).
inline bool check_row_norm(index_t i, double nrm, double eps, bool allow_small_rows,
                           const char* loss_name) {
  if (!std::isfinite(nrm))
    throw value_error(std::string("simclr: ") + loss_name + ": row " + std::to_string(i) +
                      " of z holds a NaN or an infinity");
  if (nrm >= eps) return false;
  if (!allow_small_rows)
    throw value_error(std::string("simclr: ") + loss_name + ": row " + std::to_string(i) +
                      " of z has norm " + std::to_string(nrm) + " < ε = " + std::to_string(eps) +
                      " (a zero embedding); set allow_small_rows to divide by ε instead");
  return true;
}

/// Sums a per-row loss returns.
struct pairwise_sums {
  double loss = 0.0;  ///< Σ_i ℓ_i
  index_t top1_correct = 0;
};

}  // namespace simclr::loss::detail
