// Per-feature (column) kernels of the losses that look across the batch (Barlow Twins, VICReg):
// one thread per column walks the rows in order, in double, so sums are run-to-run identical.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/config.hpp>

namespace simclr::loss::cuda_detail {

/// For every column j of the row-major (n, d) block x: centred[r, j] ← x[r, j] − μ_j, and
/// centred_squares[j] ← Σ_r (x[r, j] − μ_j)² (two passes in double).
template <class T>
__global__ void centre_columns(index_t n, index_t d, const T* x, T* centred,
                               double* centred_squares) {
  for (index_t j = cuda_backend::thread_index(); j < d; j += cuda_backend::thread_stride()) {
    double s = 0.0;
    for (index_t r = 0; r < n; ++r) s += static_cast<double>(x[r * d + j]);
    const double mu = s / static_cast<double>(n);
    double q = 0.0;
    for (index_t r = 0; r < n; ++r) {
      const double c = static_cast<double>(x[r * d + j]) - mu;
      q += c * c;
      centred[r * d + j] = static_cast<T>(c);
    }
    centred_squares[j] = q;
  }
}

/// One block per row i of the (d, d) matrix m: the sums of the row's diagonal and off-diagonal
/// squares (i.e. (m_ii − diag_target)² and Σ_{j≠i} m_ij²) into sums[i], sums[d + i], and m_ii
/// into sums[2d + i]; then the row is overwritten with diag_scale·(m_ii − diag_target) on the
/// diagonal and off_scale·m_ij off it.
template <class T>
__global__ void square_sums_and_scale(index_t d, double diag_target, double diag_scale,
                                      double off_scale, T* m, double* sums) {
  const index_t i = blockIdx.x;
  T* row = m + i * d;
  double off = 0.0;
  for (index_t j = threadIdx.x; j < d; j += blockDim.x)
    if (j != i) off += static_cast<double>(row[j]) * static_cast<double>(row[j]);
  off = cuda_backend::block_sum(off);
  __syncthreads();
  if (threadIdx.x == 0) {
    const double mii = static_cast<double>(row[i]);
    sums[i] = (mii - diag_target) * (mii - diag_target);
    sums[d + i] = off;
    sums[2 * d + i] = mii;
  }
  __syncthreads();  // row[i] is read before it is overwritten
  for (index_t j = threadIdx.x; j < d; j += blockDim.x)
    row[j] = j == i ? static_cast<T>(diag_scale * (static_cast<double>(row[j]) - diag_target))
                    : static_cast<T>(off_scale * static_cast<double>(row[j]));
}

}  // namespace simclr::loss::cuda_detail
