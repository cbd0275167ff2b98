// CUDA skeleton of the losses written per anchor row of the cosine matrix (NT-Logistic, margin).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/row_checks.hpp>
#include <simclr/ops/cuda/gemm.cuh>

namespace simclr::loss::cuda_detail {

/// One thread per anchor row i of the cosines C (2N, 2N): zeroes row i of G, lets `row_op`
/// (a struct with `__device__ double operator()(i, p, n, c_row, g_row, bool& top1) const`)
/// fill ∂ℓ_i/∂C_i· and return ℓ_i, then scales the row by 1/2N with G_ii = 0. Each thread
/// walks its row in order, as the CPU does.
template <class T, class RowOp>
__global__ void pairwise_rows(index_t n, RowOp row_op, const T* c, T* g, double* loss,
                              std::int32_t* correct) {
  const T inv_rows = static_cast<T>(1.0 / static_cast<double>(n));
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride()) {
    T* g_row = g + i * n;
    for (index_t k = 0; k < n; ++k) g_row[k] = T(0);
    bool top1 = false;
    loss[i] = row_op(i, (i + n / 2) % n, n, c + i * n, g_row, top1);
    correct[i] = top1 ? 1 : 0;
    g_row[i] = T(0);
    for (index_t k = 0; k < n; ++k) g_row[k] *= inv_rows;
  }
}

/// Normalises z (rows, d) on the device, forms C = U Uᵀ and G row by row with `row_op`, then
/// dz of (1/2N) Σ ℓ_i through ∂/∂U = (G + Gᵀ) U and the normalisation — the device twin of
/// cpu_detail::pairwise_loss.
template <class T, class RowOp>
detail::pairwise_sums pairwise_loss(const T* z, index_t rows, index_t d, double eps,
                                    bool allow_small, const char* name, RowOp row_op, T* dz) {
  using gemm = ops::gemm_kernel<cuda_t>;
  const cuda_backend::precision_scope full(cuda_backend::loss_precision());  // never bf16
  const auto nr = normalise_rows(z, rows, d, eps, allow_small, name);
  tensor<T, cuda_t> c(shape{rows, rows}, uninitialized), g(shape{rows, rows}, uninitialized);
  gemm::run<T>(false, true, rows, rows, d, T(1), nr.u.data(), d, nr.u.data(), d, T(0), c.data(),
               rows);
  row_results res(rows);
  pairwise_rows<T, RowOp><<<cuda_backend::grid_for(rows), cuda_backend::block_threads>>>(
      rows, row_op, c.data(), g.data(), res.loss(), res.correct());
  SIMCLR_CUDA_CHECK_LAUNCH();
  tensor<T, cuda_t> gu(shape{rows, d}, uninitialized);  // (2N, D) ∂L/∂U = G U + Gᵀ U
  gemm::run<T>(false, false, rows, d, rows, T(1), g.data(), rows, nr.u.data(), d, T(0), gu.data(),
               d);
  gemm::run<T>(true, false, rows, d, rows, T(1), g.data(), rows, nr.u.data(), d, T(1), gu.data(),
               d);
  project_rows(gu.data(), nr, T(1), dz);
  const auto s = res.sum();
  nr.norms.check();
  return {s.loss, s.correct};
}

}  // namespace simclr::loss::cuda_detail
