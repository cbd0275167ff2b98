// simclr::ops::gemm_kernel<cpu_t>: Eigen GEMM, split into fixed row blocks over the thread pool.
#pragma once

#include <algorithm>

#include <Eigen/Core>

#include <simclr/ops/kernels.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::ops {

template <>
struct gemm_kernel<cpu_t> {
  /// Rows of C per task. Depends on the problem only, never on the thread count, so every
  /// element of C is computed by the same Eigen call whatever the pool size (bit-identical).
  static index_t row_block(index_t m, index_t n, index_t k) {
    if (m * n * k < (index_t{1} << 18)) return std::max<index_t>(m, 1);
    return std::max<index_t>(32, (m + 15) / 16);
  }

  template <class T>
  static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, const T* a,
                  index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using const_map = Eigen::Map<const matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    using map = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
    if (m == 0 || n == 0) return;
    const const_map A(a, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
    const const_map B(b, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
    map C(c, m, n, Eigen::OuterStride<>(ldc));
    const index_t rb = row_block(m, n, k);
    parallel::parallel_for(0, m, rb, [&](index_t r0, index_t r1) {
      auto c_rows = C.middleRows(r0, r1 - r0);
      if (beta == T(0)) {
        c_rows.setZero();
      } else if (beta != T(1)) {
        c_rows *= beta;
      }
      if (k == 0) return;
      // Each of the four transpose cases is its own Eigen product (no runtime-typed expression).
      if (!ta && !tb) c_rows.noalias() += alpha * A.middleRows(r0, r1 - r0) * B;
      else if (!ta && tb) c_rows.noalias() += alpha * A.middleRows(r0, r1 - r0) * B.transpose();
      else if (ta && !tb) c_rows.noalias() += alpha * A.middleCols(r0, r1 - r0).transpose() * B;
      else c_rows.noalias() += alpha * A.middleCols(r0, r1 - r0).transpose() * B.transpose();
    });
  }
};

}  // namespace simclr::ops
