// simclr::loss::nt_logistic_kernel<cuda_t>: NT-Logistic forward and backward on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cmath>

#include <simclr/loss/cuda/pairwise.cuh>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

namespace cuda_detail {
/// The NT-Logistic terms of one anchor row, in double (as nt_logistic_kernel<cpu_t>).
struct nt_logistic_row {
  double inv_tau, weight;
  __device__ static double softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
  __device__ static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
  }
  template <class T>
  __device__ double operator()(index_t i, index_t p, index_t n, const T* c, T* g,
                               bool& top1) const {
    const double s_pos = static_cast<double>(c[p]) * inv_tau;
    double loss = softplus(-s_pos), best_neg = -INFINITY;
    g[p] = static_cast<T>((sigmoid(s_pos) - 1.0) * inv_tau);
    for (index_t k = 0; k < n; ++k) {
      if (k == i || k == p) continue;
      const double s = static_cast<double>(c[k]) * inv_tau;
      loss += weight * softplus(s);
      g[k] = static_cast<T>(weight * sigmoid(s) * inv_tau);
      best_neg = fmax(best_neg, s);
    }
    top1 = s_pos > best_neg;
    return loss;
  }
};
}  // namespace cuda_detail

/// Same contract as nt_logistic_kernel<cpu_t>; device pointers. One thread per anchor row.
template <>
struct nt_logistic_kernel<cuda_t> {
  template <class T>
  static detail::pairwise_sums run(const T* z, index_t rows, index_t d,
                                   const nt_logistic_options& o, T* dz) {
    return cuda_detail::pairwise_loss(z, rows, d, o.norm_epsilon, o.allow_small_rows,
                                      "nt_logistic",
                                      cuda_detail::nt_logistic_row{1.0 / o.temperature,
                                                                   o.negative_weight},
                                      dz);
  }
};

}  // namespace simclr::loss
