// simclr::loss::nt_xent_kernel<cuda_t>: NT-Xent on the device, cuBLAS GEMMs and a fused row-wise softmax.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <simclr/backend/cuda/gemm.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/nt_xent.hpp>

namespace simclr::loss {

namespace cuda_detail {
/// One block per anchor row k (global row a = anchors[k], or k when anchors is null) of the
/// (M, 2N) cosine matrix `sim`: with s = sim·(1/τ), the positive q = (a + N) mod 2N and the
/// anchor itself skipped,
///   mx = max_{j≠a} s_j, e_j = exp(s_j − mx), r = Σ_{j≠a} e_j (double),
///   ℓ = mx + log r − s_q, H = ℓ + s_q − Σ e_j s_j / r, top-1: s_q > max_{j∉{a,q}} s_j,
/// then the row is overwritten with G = (P − Y)/(2N): e_j/(2N r), minus 1/(2N) at q, 0 at a.
/// Only differences s_j − mx ≤ 0 are exponentiated (no overflow for any τ).
template <class T>
__global__ void nt_xent_rows(index_t n, const index_t* anchors, T inv_tau, T* sim,
                             double* loss, double* entropy, std::int32_t* correct) {
  const index_t k = blockIdx.x;
  const index_t a = anchors != nullptr ? anchors[k] : k, q = (a + n / 2) % n;
  T* row = sim + k * n;
  const T neg_inf = -INFINITY;
  T mx = neg_inf, mx_neg = neg_inf;
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    if (j == a) continue;
    const T s = row[j] * inv_tau;
    mx = s > mx ? s : mx;
    if (j != q) mx_neg = s > mx_neg ? s : mx_neg;
  }
  mx = cuda_backend::block_reduce(mx, cuda_backend::max_op{}, neg_inf);
  mx_neg = cuda_backend::block_reduce(mx_neg, cuda_backend::max_op{}, neg_inf);
  const T s_pos = row[q] * inv_tau;
  double r = 0.0, es = 0.0;
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    if (j == a) continue;
    const T s = row[j] * inv_tau;
    const double e = static_cast<double>(exp(s - mx));
    r += e;
    es += e * static_cast<double>(s);
  }
  r = cuda_backend::block_sum(r);
  es = cuda_backend::block_sum(es);
  const double lse = static_cast<double>(mx) + log(r);
  if (threadIdx.x == 0) {
    loss[k] = lse - static_cast<double>(s_pos);
    entropy[k] = lse - es / r;
    correct[k] = s_pos > mx_neg ? 1 : 0;
  }
  const T inv_nr = static_cast<T>(1.0 / (static_cast<double>(n) * r));
  const T inv_rows = static_cast<T>(1.0 / static_cast<double>(n));
  __syncthreads();  // every thread has read row[q] before it is overwritten
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    T g = j == a ? T(0) : exp(row[j] * inv_tau - mx) * inv_nr;
    if (j == q) g -= inv_rows;
    row[j] = g;
  }
}

/// dst[anchors[k]] += src[k] for the (M, d) rows of src (anchors distinct).
template <class T>
__global__ void add_rows_at(index_t m, index_t d, const index_t* anchors, const T* src, T* dst) {
  const index_t total = m * d;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride())
    dst[anchors[e / d] * d + e % d] += src[e];
}

/// ua (M, d) ← the rows anchors[k] of u.
template <class T>
__global__ void gather_rows(index_t m, index_t d, const index_t* anchors, const T* u, T* ua) {
  const index_t total = m * d;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride())
    ua[e] = u[anchors[e / d] * d + e % d];
}
}  // namespace cuda_detail

/// NT-Xent on the device (same contract as nt_xent_kernel<cpu_t>). One algorithm for the whole
/// batch and for anchor subsets: S = U_A Uᵀ by cuBLAS, one block per anchor row for the shifted
/// log-sum-exp, the monitoring values and G in place, then ∂L/∂U = (Gᵀ U_A + scatter(G U))/τ by
/// cuBLAS and the projection through the normalisation. Per-row results are summed on the host
/// in row order, so the returned sums are run-to-run identical.
template <>
struct nt_xent_kernel<cuda_t> {
  template <class T>
  static nt_xent_sums full(const T* z, index_t rows, index_t d, const nt_xent_params& p, T* dz,
                           tensor<T, cuda_t>& workspace) {
    const auto nr = cuda_detail::normalise_rows(z, rows, d, p.norm_epsilon, p.allow_small_rows,
                                                "nt_xent");
    return run(nr, nullptr, rows, p, dz, workspace);
  }

  template <class T>
  static nt_xent_sums partial(const T* gathered, index_t rows, index_t d,
                              std::span<const index_t> anchors, const nt_xent_params& p,
                              T* d_gathered, tensor<T, cuda_t>& workspace) {
    const auto nr = cuda_detail::normalise_rows(gathered, rows, d, p.norm_epsilon,
                                                p.allow_small_rows, "nt_xent");
    const index_t m = static_cast<index_t>(anchors.size());
    if (m == 0) {
      memory<cuda_t>::zero(d_gathered, sizeof(T) * static_cast<std::size_t>(rows * d));
      return {};
    }
    tensor<index_t> host_anchors(shape{m}, uninitialized);
    std::copy(anchors.begin(), anchors.end(), host_anchors.data());
    const auto dev_anchors = to_device(host_anchors);
    return run(nr, dev_anchors.data(), m, p, d_gathered, workspace);
  }

 private:
  /// The shared algorithm; `anchors` (device, M entries) null means every row in order.
  template <class T>
  static nt_xent_sums run(const cuda_detail::normalised_rows<T>& nr, const index_t* anchors,
                          index_t m, const nt_xent_params& p, T* dz,
                          tensor<T, cuda_t>& workspace) {
    using gemm = ops::gemm_kernel<cuda_t>;
    const cuda_backend::precision_scope full(cuda_backend::loss_precision());  // never bf16
    const index_t n = nr.rows, d = nr.d;
    const T* u = nr.u.data();
    tensor<T, cuda_t> ua;  // (M, d) the anchors' unit rows (u itself for the whole batch)
    if (anchors != nullptr) {
      ua = tensor<T, cuda_t>(shape{m, d}, uninitialized);
      cuda_detail::gather_rows<T><<<cuda_backend::grid_for(m * d), cuda_backend::block_threads>>>(
          m, d, anchors, u, ua.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    const T* u_a = anchors != nullptr ? ua.data() : u;
    if (workspace.numel() < m * n) workspace = tensor<T, cuda_t>(shape{m * n}, uninitialized);
    T* const sim = workspace.data();  // (M, 2N) cosines, then G in place
    gemm::run<T>(false, true, m, n, d, T(1), u_a, d, u, d, T(0), sim, n);
    cuda_detail::row_results res(m);
    const T inv_tau = static_cast<T>(1.0 / p.temperature);
    cuda_detail::nt_xent_rows<T><<<static_cast<unsigned>(m), cuda_backend::block_threads>>>(
        n, anchors, inv_tau, sim, res.loss.data(), res.entropy.data(), res.correct.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    // ∂L/∂U: the negatives' side Gᵀ U_A / τ for every row, plus the anchors' side G U / τ.
    tensor<T, cuda_t> gu(shape{n, d}, uninitialized);
    gemm::run<T>(true, false, n, d, m, inv_tau, sim, n, u_a, d, T(0), gu.data(), d);
    if (anchors == nullptr) {
      gemm::run<T>(false, false, n, d, n, inv_tau, sim, n, u, d, T(1), gu.data(), d);
    } else {
      tensor<T, cuda_t> anchor_side(shape{m, d}, uninitialized);
      gemm::run<T>(false, false, m, d, n, inv_tau, sim, n, u, d, T(0), anchor_side.data(), d);
      cuda_detail::add_rows_at<T><<<cuda_backend::grid_for(m * d), cuda_backend::block_threads>>>(
          m, d, anchors, anchor_side.data(), gu.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    cuda_detail::project_rows(gu.data(), nr, static_cast<T>(p.gradient_scale), dz);
    const auto s = res.sum();
    return {s.loss, s.correct, s.entropy};
  }
};

}  // namespace simclr::loss
