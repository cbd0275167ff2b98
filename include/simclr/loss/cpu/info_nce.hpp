// simclr::loss::info_nce_kernel<cpu_t>: InfoNCE of queries against their keys and a queue of negatives.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include <simclr/loss/cpu/block_gemm.hpp>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::loss {

/// Logits (m, 1 + K): column 0 the positive q̂_i·k̂_i, then q̂_i·Q_j, all over τ (one
/// fixed-order GEMM); per row a max-shifted log-sum-exp; G = (P − e₀)/m in place; then
/// ∂/∂q̂ = (G₀ k̂ + G_{1:} Q)/τ (a second GEMM) and the projection through q̂ = q/‖q‖. Results
/// are the same for any thread count.
template <>
struct info_nce_kernel<cpu_t> {
  template <class T>
  static nt_xent_sums run(const T* q, const T* k, const T* queue, index_t m, index_t d,
                          index_t negatives, const info_nce_options& o, T* dq, T* k_hat) {
    using namespace cpu_detail;
    const auto qn = normalise_rows(q, m, d, o.norm_epsilon, o.allow_small_rows, "info_nce (queries)");
    const auto kn = normalise_rows(k, m, d, o.norm_epsilon, o.allow_small_rows, "info_nce (keys)");
    std::copy(kn.u.data(), kn.u.data() + m * d, k_hat);
    const index_t cols = negatives + 1;
    const T inv_tau = static_cast<T>(1.0 / o.temperature);
    row_matrix<T> logits(m, cols);
    if (negatives > 0) {
      const row_matrix<T> queue_t =
          const_matrix_map<T>(queue, negatives, d, Eigen::OuterStride<>(d)).transpose();
      parallel_gemm(m, negatives, d, qn.u.data(), d, index_t{1}, queue_t.data(), negatives,
                    logits.data() + 1, cols, false);
    }
    std::vector<double> loss(static_cast<std::size_t>(m)), entropy(static_cast<std::size_t>(m));
    std::vector<char> correct(static_cast<std::size_t>(m));
    const T inv_m = static_cast<T>(1.0 / static_cast<double>(m));
    parallel::parallel_for(0, m, row_grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        auto row = logits.row(i).array();
        row(0) = qn.u.row(i).dot(kn.u.row(i));
        row *= inv_tau;
        const T pos = row(0);
        const T mx = row.maxCoeff();
        const T mx_neg = negatives > 0 ? row.tail(negatives).maxCoeff() : minus_infinity<T>;
        double r = 0.0, es = 0.0;
        for (index_t j = 0; j < cols; ++j) {
          const double e = std::exp(static_cast<double>(row(j) - mx));
          r += e;
          es += e * static_cast<double>(row(j));
        }
        const double lse = static_cast<double>(mx) + std::log(r);
        loss[static_cast<std::size_t>(i)] = lse - static_cast<double>(pos);
        entropy[static_cast<std::size_t>(i)] = lse - es / r;
        correct[static_cast<std::size_t>(i)] = pos > mx_neg ? 1 : 0;
        const T scale = static_cast<T>(1.0 / (r * static_cast<double>(m)));
        row = (row - mx).exp() * scale;  // G = P/m, then minus 1/m at the positive
        row(0) -= inv_m;
      }
    });
    row_matrix<T> gu(m, d);
    if (negatives > 0)
      parallel_gemm(m, d, negatives, logits.data() + 1, cols, index_t{1}, queue, d, gu.data(), d,
                    false);
    else
      gu.setZero();
    for (index_t i = 0; i < m; ++i) gu.row(i) = (gu.row(i) + logits(i, 0) * kn.u.row(i)) * inv_tau;
    project_rows(gu.data(), qn, T(1), dq);
    nt_xent_sums s;
    for (index_t i = 0; i < m; ++i) {
      s.loss += loss[static_cast<std::size_t>(i)];
      s.entropy += entropy[static_cast<std::size_t>(i)];
      s.top1_correct += correct[static_cast<std::size_t>(i)];
    }
    return s;
  }
};

}  // namespace simclr::loss
