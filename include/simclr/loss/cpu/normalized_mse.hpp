// simclr::loss::normalized_mse_kernel<cpu_t>: the normalised MSE and its gradient on the CPU.
#pragma once

#include <vector>

#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::loss {

template <>
struct normalized_mse_kernel<cpu_t> {
  template <class T>
  static normalized_mse_sums run(const T* p, const T* target, index_t rows, index_t d,
                                 const normalized_mse_options& o, double gradient_scale, T* dp) {
    using namespace cpu_detail;
    const auto u = normalise_rows(p, rows, d, o.norm_epsilon, o.allow_small_rows,
                                  "normalized_mse (predictions)");
    const auto v = normalise_rows(target, rows, d, o.norm_epsilon, o.allow_small_rows,
                                  "normalized_mse (targets)");
    const index_t shift = o.swap_halves ? rows / 2 : 0;
    // g_i = ∂(−scale Σ cos)/∂u_i = −scale·v_π(i); cos_i kept per row, summed in row order.
    std::vector<double> cosine(static_cast<std::size_t>(rows));
    row_matrix<T> g(rows, d);
    parallel::parallel_for(0, rows, row_grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        const index_t k = (i + shift) % rows;
        double c = 0.0;
        for (index_t j = 0; j < d; ++j)
          c += static_cast<double>(u.u(i, j)) * static_cast<double>(v.u(k, j));
        cosine[static_cast<std::size_t>(i)] = c;
        g.row(i) = v.u.row(k) * static_cast<T>(-gradient_scale);
      }
    });
    project_rows(g.data(), u, T(1), dp);
    normalized_mse_sums s;
    for (const double c : cosine) s.cosine += c;
    return s;
  }
};

}  // namespace simclr::loss
