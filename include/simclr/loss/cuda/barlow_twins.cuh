// simclr::loss::barlow_twins_kernel<cuda_t>: Barlow Twins on the device (cuBLAS GEMMs, column kernels).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cmath>

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/columns.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/kernels.hpp>
#include <simclr/ops/cuda/gemm.cuh>

namespace simclr::loss {

namespace cuda_detail {
/// Per column of the centred (n, d) block xc with its Σ squares: inv_std[j] = 1/√(σ² + ε)
/// (biased σ²) and xc scaled in place to x̂.
template <class T>
__global__ void standardise_columns(index_t n, index_t d, double eps, const double* centred_squares,
                                    T* xc, double* inv_std) {
  for (index_t j = cuda_backend::thread_index(); j < d; j += cuda_backend::thread_stride()) {
    const double s = 1.0 / sqrt(centred_squares[j] / static_cast<double>(n) + eps);
    inv_std[j] = s;
    for (index_t r = 0; r < n; ++r)
      xc[r * d + j] = static_cast<T>(static_cast<double>(xc[r * d + j]) * s);
  }
}

/// Per column: dz = (g − mean(g) − x̂·mean(g ∘ x̂))·inv_std, the gradient through x̂.
template <class T>
__global__ void standardise_backward(index_t n, index_t d, const T* g, const T* xh,
                                     const double* inv_std, T* dz) {
  for (index_t j = cuda_backend::thread_index(); j < d; j += cuda_backend::thread_stride()) {
    double mg = 0.0, mgx = 0.0;
    for (index_t r = 0; r < n; ++r) {
      mg += static_cast<double>(g[r * d + j]);
      mgx += static_cast<double>(g[r * d + j]) * static_cast<double>(xh[r * d + j]);
    }
    mg /= static_cast<double>(n);
    mgx /= static_cast<double>(n);
    for (index_t r = 0; r < n; ++r)
      dz[r * d + j] = static_cast<T>((static_cast<double>(g[r * d + j]) - mg -
                                      static_cast<double>(xh[r * d + j]) * mgx) * inv_std[j]);
  }
}
}  // namespace cuda_detail

/// Same contract and algorithm as barlow_twins_kernel<cpu_t>: the views standardised per column,
/// C = X̂₁ᵀ X̂₂/N and the gradient's two GEMMs by cuBLAS (never in bf16), G in place of C. The
/// per-row sums come back to the host and are added there in row order.
template <>
struct barlow_twins_kernel<cuda_t> {
  template <class T>
  static barlow_twins_sums run(const T* z, index_t rows, index_t d, const barlow_twins_options& o,
                               T* dz) {
    using gemm = ops::gemm_kernel<cuda_t>;
    const cuda_backend::precision_scope full(cuda_backend::loss_precision());
    const index_t n = rows / 2;
    tensor<T, cuda_t> xh(shape{rows, d}, uninitialized), c(shape{d, d}, uninitialized),
        g(shape{rows, d}, uninitialized);
    tensor<double, cuda_t> stats(shape{4, d}, uninitialized);  // Σ squares ×2, inv_std ×2
    for (index_t v = 0; v < 2; ++v) {
      cuda_detail::centre_columns<T><<<cuda_backend::grid_for(d), cuda_backend::block_threads>>>(
          n, d, z + v * n * d, xh.data() + v * n * d, stats.data() + v * d);
      SIMCLR_CUDA_CHECK_LAUNCH();
      cuda_detail::standardise_columns<T>
          <<<cuda_backend::grid_for(d), cuda_backend::block_threads>>>(
              n, d, o.epsilon, stats.data() + v * d, xh.data() + v * n * d,
              stats.data() + (2 + v) * d);
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    const T* a = xh.data();
    const T* b = xh.data() + n * d;
    const T inv_n = static_cast<T>(1.0 / static_cast<double>(n));
    gemm::run<T>(true, false, d, d, n, inv_n, a, d, b, d, T(0), c.data(), d);
    tensor<double, cuda_t> sums(shape{3, d}, uninitialized);
    cuda_detail::square_sums_and_scale<T><<<static_cast<unsigned>(d), cuda_backend::block_threads>>>(
        d, 1.0, 2.0, 2.0 * o.lambda, c.data(), sums.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    gemm::run<T>(false, true, n, d, d, inv_n, b, d, c.data(), d, T(0), g.data(), d);  // X̂₂ Gᵀ
    gemm::run<T>(false, false, n, d, d, inv_n, a, d, c.data(), d, T(0), g.data() + n * d, d);
    for (index_t v = 0; v < 2; ++v) {
      cuda_detail::standardise_backward<T>
          <<<cuda_backend::grid_for(d), cuda_backend::block_threads>>>(
              n, d, g.data() + v * n * d, xh.data() + v * n * d, stats.data() + (2 + v) * d,
              dz + v * n * d);
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    const auto host = to_host(sums);
    barlow_twins_sums s;
    for (index_t i = 0; i < d; ++i) {
      s.on_diagonal += host.data()[i];
      s.off_diagonal += host.data()[d + i];
      s.diagonal += host.data()[2 * d + i];
    }
    return s;
  }
};

}  // namespace simclr::loss
