// simclr::loss::vicreg_kernel<cuda_t>: VICReg on the device (cuBLAS GEMMs, column and row kernels).
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
/// Per column of one view: std_j = √(Σ squares/(n − 1) + ε); hinge[j] = max(0, γ − std_j); then
/// dx[:, j] += coef_j·xc[:, j] with coef_j = −μ/(2D·std_j·(n − 1)) where the hinge is active,
/// and dx[:, j] centred (the gradient through x − μ).
template <class T>
__global__ void vicreg_variance_columns(index_t n, index_t d, const vicreg_options o,
                                        const double* centred_squares, const T* xc, T* dx,
                                        double* hinge) {
  for (index_t j = cuda_backend::thread_index(); j < d; j += cuda_backend::thread_stride()) {
    const double nd = static_cast<double>(n);
    const double sd = sqrt(centred_squares[j] / (nd - 1.0) + o.epsilon);
    const bool active = o.variance_target - sd > 0.0;
    hinge[j] = active ? o.variance_target - sd : 0.0;
    const double coef = active ? -o.variance_weight / (2.0 * static_cast<double>(d) * sd * (nd - 1.0)) : 0.0;
    double mean = 0.0;
    for (index_t r = 0; r < n; ++r) {
      const T v = dx[r * d + j] + static_cast<T>(coef * static_cast<double>(xc[r * d + j]));
      dx[r * d + j] = v;
      mean += static_cast<double>(v);
    }
    mean /= nd;
    for (index_t r = 0; r < n; ++r) dx[r * d + j] -= static_cast<T>(mean);
  }
}

/// One block per row r: sums[r] = Σ_j (x_rj − y_rj)², and dx_r += s·(x_r − y_r), dy_r −= the same.
template <class T>
__global__ void vicreg_invariance_rows(index_t n, index_t d, double scale, const T* z, T* dz,
                                       double* sums) {
  const index_t r = blockIdx.x;
  double acc = 0.0;
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
    const double diff = static_cast<double>(z[r * d + j]) - static_cast<double>(z[(n + r) * d + j]);
    acc += diff * diff;
    const T g = static_cast<T>(scale * diff);
    dz[r * d + j] += g;
    dz[(n + r) * d + j] -= g;
  }
  acc = cuda_backend::block_sum(acc);
  if (threadIdx.x == 0) sums[r] = acc;
}
}  // namespace cuda_detail

/// Same contract and algorithm as vicreg_kernel<cpu_t>: per view the centred columns, the
/// covariance K = X_cᵀ X_c/(N − 1) and the gradient X_c M by cuBLAS (never in bf16), the hinge
/// and centring per column; the invariance per row. Sums come back to the host and are added
/// there in a fixed order.
template <>
struct vicreg_kernel<cuda_t> {
  template <class T>
  static vicreg_sums run(const T* z, index_t rows, index_t d, const vicreg_options& o, T* dz) {
    using gemm = ops::gemm_kernel<cuda_t>;
    const cuda_backend::precision_scope full(cuda_backend::loss_precision());
    const index_t n = rows / 2;
    const double nd = static_cast<double>(n), dd = static_cast<double>(d);
    tensor<T, cuda_t> xc(shape{n, d}, uninitialized), k(shape{d, d}, uninitialized);
    // Per view: Σ squares (d), hinge (d), the (d, d) matrix's row sums (3d); then invariance (n).
    tensor<double, cuda_t> sums(shape{10 * d + n}, uninitialized);
    for (index_t v = 0; v < 2; ++v) {
      double* s = sums.data() + v * 5 * d;
      T* dx = dz + v * n * d;
      cuda_detail::centre_columns<T><<<cuda_backend::grid_for(d), cuda_backend::block_threads>>>(
          n, d, z + v * n * d, xc.data(), s);
      SIMCLR_CUDA_CHECK_LAUNCH();
      gemm::run<T>(true, false, d, d, n, static_cast<T>(1.0 / (nd - 1.0)), xc.data(), d,
                   xc.data(), d, T(0), k.data(), d);
      // K → M = ν·4 K_off/(D(N − 1)), zero diagonal; row sums of the off-diagonal squares.
      cuda_detail::square_sums_and_scale<T>
          <<<static_cast<unsigned>(d), cuda_backend::block_threads>>>(
              d, 0.0, 0.0, 4.0 * o.covariance_weight / (dd * (nd - 1.0)), k.data(), s + 2 * d);
      SIMCLR_CUDA_CHECK_LAUNCH();
      gemm::run<T>(false, false, n, d, d, T(1), xc.data(), d, k.data(), d, T(0), dx, d);
      cuda_detail::vicreg_variance_columns<T>
          <<<cuda_backend::grid_for(d), cuda_backend::block_threads>>>(n, d, o, s, xc.data(), dx,
                                                                      s + d);
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    cuda_detail::vicreg_invariance_rows<T><<<static_cast<unsigned>(n), cuda_backend::block_threads>>>(
        n, d, 2.0 * o.invariance_weight / (nd * dd), z, dz, sums.data() + 10 * d);
    SIMCLR_CUDA_CHECK_LAUNCH();
    const auto host = to_host(sums);
    const double* h = host.data();
    vicreg_sums out;
    for (index_t v = 0; v < 2; ++v) {
      double hinge = 0.0, off = 0.0;
      for (index_t j = 0; j < d; ++j) {
        hinge += h[v * 5 * d + d + j];
        off += h[v * 5 * d + 3 * d + j];
      }
      out.variance += hinge / dd / 2.0;
      out.covariance += off / dd;
    }
    for (index_t r = 0; r < n; ++r) out.invariance += h[10 * d + r];
    out.invariance /= nd * dd;
    return out;
  }
};

}  // namespace simclr::loss
