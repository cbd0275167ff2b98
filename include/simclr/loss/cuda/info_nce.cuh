// simclr::loss::info_nce_kernel<cuda_t>: InfoNCE against a queue on the device (cuBLAS GEMMs, one block per query).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cstdint>

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/kernels.hpp>
#include <simclr/ops/cuda/gemm.cuh>

namespace simclr::loss {

namespace cuda_detail {
/// One block per query i of the (m, cols) logits whose columns 1.. hold q̂_i·Q_j/τ: column 0 ←
/// q̂_i·k̂_i/τ, then the max-shifted log-sum-exp in double (ℓ, H, top-1: the positive strictly
/// above every negative), and the row overwritten with G = (P − e₀)/m.
template <class T>
__global__ void info_nce_rows(index_t m, index_t d, index_t cols, const T* q, const T* k,
                              T inv_tau, T* logits, double* loss, double* entropy,
                              std::int32_t* correct) {
  const index_t i = blockIdx.x;
  T* row = logits + i * cols;
  double dot = 0.0;
  for (index_t t = threadIdx.x; t < d; t += blockDim.x)
    dot += static_cast<double>(q[i * d + t]) * static_cast<double>(k[i * d + t]);
  dot = cuda_backend::block_sum(dot);
  __shared__ T positive;
  if (threadIdx.x == 0) {
    positive = static_cast<T>(dot) * inv_tau;
    row[0] = positive;
  }
  __syncthreads();
  const T pos = positive;
  const T neg_inf = -INFINITY;
  T mx_neg = neg_inf;
  for (index_t j = 1 + threadIdx.x; j < cols; j += blockDim.x) mx_neg = row[j] > mx_neg ? row[j] : mx_neg;
  mx_neg = cuda_backend::block_reduce(mx_neg, cuda_backend::max_op{}, neg_inf);
  const T mx = pos > mx_neg ? pos : mx_neg;
  double r = 0.0, es = 0.0;
  for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const double e = exp(static_cast<double>(row[j] - mx));
    r += e;
    es += e * static_cast<double>(row[j]);
  }
  r = cuda_backend::block_sum(r);
  es = cuda_backend::block_sum(es);
  const double lse = static_cast<double>(mx) + log(r);
  if (threadIdx.x == 0) {
    loss[i] = lse - static_cast<double>(pos);
    entropy[i] = lse - es / r;
    correct[i] = pos > mx_neg ? 1 : 0;
  }
  __syncthreads();
  const T scale = static_cast<T>(1.0 / (r * static_cast<double>(m)));
  const T inv_m = static_cast<T>(1.0 / static_cast<double>(m));
  for (index_t j = threadIdx.x; j < cols; j += blockDim.x) {
    T g = exp(row[j] - mx) * scale;
    if (j == 0) g -= inv_m;
    row[j] = g;
  }
}

/// gu_i += G_i0 · k̂_i / τ (the positive's side of ∂L/∂q̂).
template <class T>
__global__ void info_nce_add_positive(index_t m, index_t d, index_t cols, const T* g, const T* k,
                                      T inv_tau, T* gu) {
  const index_t total = m * d;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride())
    gu[e] += g[(e / d) * cols] * inv_tau * k[e];
}
}  // namespace cuda_detail

/// Same contract and algorithm as info_nce_kernel<cpu_t>: the negatives' logits by cuBLAS
/// (never in bf16) into columns 1.. of an (m, 1 + K) matrix, one block per query for the
/// positive, the softmax and G, then ∂L/∂q̂ = (G_{1:} Q + G₀ k̂)/τ and the projection. Per-row
/// sums are added on the host in row order.
template <>
struct info_nce_kernel<cuda_t> {
  template <class T>
  static nt_xent_sums run(const T* q, const T* k, const T* queue, index_t m, index_t d,
                          index_t negatives, const info_nce_options& o, T* dq, T* k_hat) {
    using gemm = ops::gemm_kernel<cuda_t>;
    const cuda_backend::precision_scope full(cuda_backend::loss_precision());
    const auto qn = cuda_detail::normalise_rows(q, m, d, o.norm_epsilon, o.allow_small_rows,
                                                "info_nce (queries)");
    qn.norms.check();  // the pinned staging buffer is the thread's: done with it before kn
    const auto kn = cuda_detail::normalise_rows(k, m, d, o.norm_epsilon, o.allow_small_rows,
                                                "info_nce (keys)");
    kn.norms.check();
    memory<cuda_t>::copy(k_hat, kn.u.data(), sizeof(T) * static_cast<std::size_t>(m * d));
    const index_t cols = negatives + 1;
    const T inv_tau = static_cast<T>(1.0 / o.temperature);
    tensor<T, cuda_t> logits(shape{m, cols}, uninitialized), gu(shape{m, d}, uninitialized);
    if (negatives > 0)
      gemm::run<T>(false, true, m, negatives, d, inv_tau, qn.u.data(), d, queue, d, T(0),
                   logits.data() + 1, cols);
    cuda_detail::row_results res(m);
    cuda_detail::info_nce_rows<T><<<static_cast<unsigned>(m), cuda_backend::block_threads>>>(
        m, d, cols, qn.u.data(), kn.u.data(), inv_tau, logits.data(), res.loss(), res.entropy(),
        res.correct());
    SIMCLR_CUDA_CHECK_LAUNCH();
    if (negatives > 0)
      gemm::run<T>(false, false, m, d, negatives, inv_tau, logits.data() + 1, cols, queue, d,
                   T(0), gu.data(), d);
    else
      memory<cuda_t>::zero(gu.data(), sizeof(T) * static_cast<std::size_t>(m * d));
    cuda_detail::info_nce_add_positive<T>
        <<<cuda_backend::grid_for(m * d), cuda_backend::block_threads>>>(
            m, d, cols, logits.data(), kn.u.data(), inv_tau, gu.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    cuda_detail::project_rows(gu.data(), qn, T(1), dq);
    const auto s = res.sum();
    return {s.loss, s.correct, s.entropy};
  }
};

}  // namespace simclr::loss
