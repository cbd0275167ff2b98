// simclr::loss::normalized_mse_kernel<cuda_t>: the normalised MSE and its gradient on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

namespace cuda_detail {
/// One block per row i: cosine[i] = u_i·v_π(i) (in double) and g_i = −scale·v_π(i).
template <class T>
__global__ void normalized_mse_rows(index_t rows, index_t d, index_t shift, const T* u,
                                    const T* v, T neg_scale, double* cosine, T* g) {
  const index_t i = blockIdx.x, k = (i + shift) % rows;
  double c = 0.0;
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
    c += static_cast<double>(u[i * d + j]) * static_cast<double>(v[k * d + j]);
    g[i * d + j] = v[k * d + j] * neg_scale;
  }
  c = cuda_backend::block_sum(c);
  if (threadIdx.x == 0) cosine[i] = c;
}
}  // namespace cuda_detail

/// Same contract as normalized_mse_kernel<cpu_t>; device pointers. The cosines come back to
/// the host and are summed there in row order (run-to-run identical).
template <>
struct normalized_mse_kernel<cuda_t> {
  template <class T>
  static normalized_mse_sums run(const T* p, const T* target, index_t rows, index_t d,
                                 const normalized_mse_options& o, double gradient_scale, T* dp) {
    const auto u = cuda_detail::normalise_rows(p, rows, d, o.norm_epsilon, o.allow_small_rows,
                                               "normalized_mse (predictions)");
    u.norms.check();  // the pinned staging buffer is the thread's: done with it before v uses it
    const auto v = cuda_detail::normalise_rows(target, rows, d, o.norm_epsilon, o.allow_small_rows,
                                               "normalized_mse (targets)");
    cuda_detail::row_results res(rows);
    tensor<T, cuda_t> g(shape{rows, d}, uninitialized);
    cuda_detail::normalized_mse_rows<T><<<static_cast<unsigned>(rows), cuda_backend::block_threads>>>(
        rows, d, o.swap_halves ? rows / 2 : 0, u.u.data(), v.u.data(),
        static_cast<T>(-gradient_scale), res.loss(), g.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::project_rows(g.data(), u, T(1), dp);
    normalized_mse_sums s;
    s.cosine = res.sum().loss;
    v.norms.check();
    return s;
  }
};

}  // namespace simclr::loss
