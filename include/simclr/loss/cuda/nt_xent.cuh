// simclr::loss::nt_xent_kernel<cuda_t>: NT-Xent on the device, cuBLAS GEMMs and a fused row-wise softmax.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <simclr/ops/cuda/gemm.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/loss/cuda/rows.cuh>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/positive_weights.hpp>

namespace simclr::loss {

namespace cuda_detail {
/// Loads of W elements at once (16 bytes): the row kernels are bound by how many bytes each
/// thread has in flight, and a row is read once.
template <class T>
struct vector_of;
template <>
struct vector_of<float> {
  using type = float4;
  static constexpr int width = 4;
};
template <>
struct vector_of<double> {
  using type = double2;
  static constexpr int width = 2;
};

/// Calls f(j, row[j]) for the elements j of a length-n row that this thread of the block owns:
/// W at a time by 16-byte loads when n is a multiple of W (rows then start 16-byte aligned),
/// else one at a time.
template <class T, class F>
__device__ inline void for_each_in_row(const T* row, index_t n, F&& f) {
  constexpr int w = vector_of<T>::width;
  using V = typename vector_of<T>::type;
  if (n % w == 0) {
    const V* v = reinterpret_cast<const V*>(row);
    for (index_t c = threadIdx.x; c < n / w; c += blockDim.x) {
      const V x = v[c];
      const T* xs = reinterpret_cast<const T*>(&x);
#pragma unroll
      for (int l = 0; l < w; ++l) f(c * w + l, xs[l]);
    }
  } else {
    for (index_t j = threadIdx.x; j < n; j += blockDim.x) f(j, row[j]);
  }
}

/// One block per anchor row k (global row a = anchors[k], or k when anchors is null) of the
/// (M, 2N) cosine matrix `sim`: with s = sim·(1/τ), the positive q = (a + N) mod 2N and the
/// anchor itself skipped,
///   mx = max_{j≠a} s_j, e_j = exp(s_j − mx), r = Σ_{j≠a} e_j (double),
///   ℓ = mx + log r − s_q, H = ℓ + s_q − Σ e_j s_j / r, top-1: s_q > max_{j∉{a,q}} s_j,
/// in one read of the row: each thread keeps a running maximum m and sums e^{s − m}, rescaled
/// when m grows (an online softmax), and the threads' sums are brought to the row maximum before
/// they are added. Then the row is overwritten with G = (P − Y)/(2N): e_j/(2N r), minus 1/(2N) at
/// q, 0 at a — or, when `row_max` is given, left as it is, and mx and 1/(2N r) are stored
/// (row_max[k], row_scale[k]) for nt_xent_symmetric_gradient.
/// Only differences s_j − m ≤ 0 are exponentiated (no overflow for any τ).
/// DCL (`decoupled`) leaves q out of the sums as well; DCLW (`pos_weight`, the N pairs'
/// weights, or null for 1) scales the positive's terms: ℓ = … − w s_q and −w/(2N) at q.
template <class T>
__global__ void nt_xent_rows(index_t n, const index_t* anchors, T inv_tau, bool decoupled,
                             const double* pos_weight, T* sim, double* loss, double* entropy,
                             std::int32_t* correct, T* row_max, T* row_scale) {
  const index_t k = blockIdx.x;
  const index_t a = anchors != nullptr ? anchors[k] : k, q = (a + n / 2) % n;
  const double w = pos_weight != nullptr ? pos_weight[a % (n / 2)] : 1.0;
  T* row = sim + k * n;
  const T neg_inf = -INFINITY;
  T m = neg_inf, mx_neg = neg_inf;
  double r = 0.0, es = 0.0;  // Σ e^{s − m}, Σ e^{s − m}·s of this thread's elements
  for_each_in_row(row, n, [&](index_t j, T v) {
    if (j == a) return;
    const T s = v * inv_tau;
    if (j != q) mx_neg = s > mx_neg ? s : mx_neg;
    if (decoupled && j == q) return;
    if (s > m) {
      const double rescale = m == neg_inf ? 0.0 : exp(static_cast<double>(m - s));
      r *= rescale;
      es *= rescale;
      m = s;
    }
    const double e = static_cast<double>(exp(s - m));
    r += e;
    es += e * static_cast<double>(s);
  });
  const T mx = cuda_backend::block_reduce(m, cuda_backend::max_op{}, neg_inf);
  mx_neg = cuda_backend::block_reduce(mx_neg, cuda_backend::max_op{}, neg_inf);
  if (m != neg_inf) {
    const double to_max = exp(static_cast<double>(m - mx));
    r *= to_max;
    es *= to_max;
  }
  r = cuda_backend::block_sum(r);
  es = cuda_backend::block_sum(es);
  const T s_pos = row[q] * inv_tau;
  const double lse = static_cast<double>(mx) + log(r);
  if (threadIdx.x == 0) {
    loss[k] = lse - w * static_cast<double>(s_pos);
    entropy[k] = lse - es / r;
    correct[k] = s_pos > mx_neg ? 1 : 0;
  }
  const T inv_nr = static_cast<T>(1.0 / (static_cast<double>(n) * r));
  const T inv_rows = static_cast<T>(1.0 / static_cast<double>(n));
  if (row_max != nullptr) {
    if (threadIdx.x == 0) {
      row_max[k] = mx;
      row_scale[k] = inv_nr;
    }
    return;
  }
  __syncthreads();  // every thread has read row[q] before it is overwritten
  const T pos_g = static_cast<T>(w) * inv_rows;
  for (index_t j = threadIdx.x; j < n; j += blockDim.x) {
    T g = j == a || (decoupled && j == q) ? T(0) : exp(row[j] * inv_tau - mx) * inv_nr;
    if (j == q) g -= pos_g;
    row[j] = g;
  }
}

/// The whole batch (every row an anchor): S is symmetric, so Gᵀ + G is too, and element (i, j)
/// needs only s_ij = S_ij/τ and the two rows' statistics:
///   H_ij = e^{s_ij − mx_i}/(2N r_i) + e^{s_ij − mx_j}/(2N r_j) − 2·[j = q_i]/(2N),  H_ii = 0
/// (j = q_i exactly when i = q_j). `sim` (2N, 2N) is overwritten with H in place, so
/// ∂L/∂U = H U / τ is one GEMM instead of two. One block per row. DCL: H_{i,q_i} has no
/// exponential terms; DCLW: the positive entry is scaled by the pair's weight.
template <class T>
__global__ void nt_xent_symmetric_gradient(index_t n, T inv_tau, bool decoupled,
                                           const double* pos_weight, const T* row_max,
                                           const T* row_scale, T* sim) {
  const index_t i = blockIdx.x, q = (i + n / 2) % n;
  const T weight = static_cast<T>(pos_weight != nullptr ? pos_weight[i % (n / 2)] : 1.0);
  const T pos_g = static_cast<T>(2.0 / static_cast<double>(n)) * weight;
  const T mi = row_max[i], ci = row_scale[i];
  T* row = sim + i * n;
  const auto h = [&](index_t j, T v, T mj, T cj) {
    const T s = v * inv_tau;
    T g = decoupled && j == q ? T(0) : exp(s - mi) * ci + exp(s - mj) * cj;
    if (j == q) g -= pos_g;
    return j == i ? T(0) : g;
  };
  constexpr int w = vector_of<T>::width;
  using V = typename vector_of<T>::type;
  if (n % w == 0) {  // 16-byte loads and stores of the row and of the statistics
    V* rv = reinterpret_cast<V*>(row);
    const V* mv = reinterpret_cast<const V*>(row_max);
    const V* cv = reinterpret_cast<const V*>(row_scale);
    for (index_t c = threadIdx.x; c < n / w; c += blockDim.x) {
      V x = rv[c];
      const V mx = mv[c], cx = cv[c];
      T* xs = reinterpret_cast<T*>(&x);
      const T* ms = reinterpret_cast<const T*>(&mx);
      const T* cs = reinterpret_cast<const T*>(&cx);
#pragma unroll
      for (int l = 0; l < w; ++l) xs[l] = h(c * w + l, xs[l], ms[l], cs[l]);
      rv[c] = x;
    }
  } else {
    for (index_t j = threadIdx.x; j < n; j += blockDim.x)
      row[j] = h(j, row[j], row_max[j], row_scale[j]);
  }
}

/// cosines[j] ← u_j · u_{j+N} in double (DCLW's pair cosines): one block per pair.
template <class T>
__global__ void pair_cosines(index_t half, index_t d, const T* u, double* cosines) {
  const index_t j = blockIdx.x;
  double acc = 0.0;
  for (index_t t = threadIdx.x; t < d; t += blockDim.x)
    acc += static_cast<double>(u[j * d + t]) * static_cast<double>(u[(j + half) * d + t]);
  acc = cuda_backend::block_sum(acc);
  if (threadIdx.x == 0) cosines[j] = acc;
}

/// DCLW's weight gradient: gu_j += x_j u_{j+N}, gu_{j+N} += x_j u_j (x already divided by τ).
template <class T>
__global__ void add_pair_gradient(index_t half, index_t d, const double* x, const T* u, T* gu) {
  const index_t total = half * d;
  for (index_t e = cuda_backend::thread_index(); e < total; e += cuda_backend::thread_stride()) {
    const index_t j = e / d, t = e % d;
    const T xj = static_cast<T>(x[j]);
    gu[j * d + t] += xj * u[(j + half) * d + t];
    gu[(j + half) * d + t] += xj * u[j * d + t];
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

/// NT-Xent on the device (same contract as nt_xent_kernel<cpu_t>). S = U_A Uᵀ by cuBLAS, one
/// block per anchor row for the shifted log-sum-exp and the monitoring values, then:
/// - the whole batch: S is symmetric, so the two sides of the gradient fold into one
///   symmetric H (nt_xent_symmetric_gradient, in place) and ∂L/∂U = H U / τ is one GEMM —
///   two GEMMs of 2·(2N)²·D flops in all, not three;
/// - anchor subsets (the distributed form): G in place per row, then
///   ∂L/∂U = (Gᵀ U_A + scatter(G U))/τ.
/// Then the projection through the normalisation. Per-row results are summed on the host in
/// row order, so the returned sums are run-to-run identical.
template <>
struct nt_xent_kernel<cuda_t> {
  template <class T>
  static nt_xent_sums full(const T* z, index_t rows, index_t d, const nt_xent_params& p, T* dz,
                           tensor<T, cuda_t>& workspace) {
    const auto nr = cuda_detail::normalise_rows(z, rows, d, p.norm_epsilon, p.allow_small_rows,
                                                "nt_xent");
    return run(nr, nullptr, {}, rows, p, dz, workspace);
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
      nr.norms.check();
      return {};
    }
    tensor<index_t> host_anchors(shape{m}, uninitialized);
    std::copy(anchors.begin(), anchors.end(), host_anchors.data());
    const auto dev_anchors = to_device(host_anchors);
    return run(nr, dev_anchors.data(), anchors, m, p, d_gathered, workspace);
  }

 private:
  /// DCLW's weights of the N pairs on the device (w_j, then x_j/τ), from the pair cosines and
  /// how many of each pair's rows are anchors (host_anchors; empty means every row).
  template <class T>
  static tensor<double, cuda_t> pair_weights(const cuda_detail::normalised_rows<T>& nr,
                                             std::span<const index_t> host_anchors,
                                             const nt_xent_params& p) {
    const index_t half = nr.rows / 2;
    tensor<double, cuda_t> cosines(shape{half}, uninitialized);
    cuda_detail::pair_cosines<T><<<static_cast<unsigned>(half), cuda_backend::block_threads>>>(
        half, nr.d, nr.u.data(), cosines.data());
    SIMCLR_CUDA_CHECK_LAUNCH();
    const auto c = to_host(cosines);
    std::vector<int> counts(static_cast<std::size_t>(half), host_anchors.empty() ? 2 : 0);
    for (const index_t a : host_anchors) ++counts[static_cast<std::size_t>(a % half)];
    const auto pw = detail::dclw_weights(std::span<const double>(c.data(), c.numel()), counts,
                                         p.weight_sigma);
    tensor<double> host(shape{2, half}, uninitialized);
    for (index_t j = 0; j < half; ++j) {
      host.data()[j] = pw.weight[static_cast<std::size_t>(j)];
      host.data()[half + j] = pw.extra[static_cast<std::size_t>(j)] / p.temperature;
    }
    return to_device(host);
  }

  /// The shared algorithm; `anchors` (device, M entries) null means every row in order.
  template <class T>
  static nt_xent_sums run(const cuda_detail::normalised_rows<T>& nr, const index_t* anchors,
                          std::span<const index_t> host_anchors, index_t m,
                          const nt_xent_params& p, T* dz, tensor<T, cuda_t>& workspace) {
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
    const bool weighted = p.weight_sigma > 0.0;
    const tensor<double, cuda_t> weights = weighted ? pair_weights(nr, host_anchors, p)
                                                    : tensor<double, cuda_t>();
    const double* pos_weight = weighted ? weights.data() : nullptr;
    tensor<T, cuda_t> gu(shape{n, d}, uninitialized);
    if (anchors == nullptr) {
      tensor<T, cuda_t> stats(shape{2, n}, uninitialized);  // mx_i, 1/(2N r_i)
      cuda_detail::nt_xent_rows<T><<<static_cast<unsigned>(n), cuda_backend::block_threads>>>(
          n, nullptr, inv_tau, p.decoupled, pos_weight, sim, res.loss(), res.entropy(),
          res.correct(), stats.data(), stats.data() + n);
      SIMCLR_CUDA_CHECK_LAUNCH();
      cuda_detail::nt_xent_symmetric_gradient<T>
          <<<static_cast<unsigned>(n), cuda_backend::block_threads>>>(
          n, inv_tau, p.decoupled, pos_weight, stats.data(), stats.data() + n, sim);
      SIMCLR_CUDA_CHECK_LAUNCH();
      gemm::run<T>(false, false, n, d, n, inv_tau, sim, n, u, d, T(0), gu.data(), d);
    } else {
      cuda_detail::nt_xent_rows<T><<<static_cast<unsigned>(m), cuda_backend::block_threads>>>(
          n, anchors, inv_tau, p.decoupled, pos_weight, sim, res.loss(), res.entropy(),
          res.correct(), nullptr, nullptr);
      SIMCLR_CUDA_CHECK_LAUNCH();
      // ∂L/∂U: the negatives' side Gᵀ U_A / τ for every row, plus the anchors' side G U / τ.
      gemm::run<T>(true, false, n, d, m, inv_tau, sim, n, u_a, d, T(0), gu.data(), d);
      tensor<T, cuda_t> anchor_side(shape{m, d}, uninitialized);
      gemm::run<T>(false, false, m, d, n, inv_tau, sim, n, u, d, T(0), anchor_side.data(), d);
      cuda_detail::add_rows_at<T><<<cuda_backend::grid_for(m * d), cuda_backend::block_threads>>>(
          m, d, anchors, anchor_side.data(), gu.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    if (weighted) {
      cuda_detail::add_pair_gradient<T>
          <<<cuda_backend::grid_for(n / 2 * d), cuda_backend::block_threads>>>(
              n / 2, d, weights.data() + n / 2, u, gu.data());
      SIMCLR_CUDA_CHECK_LAUNCH();
    }
    cuda_detail::project_rows(gu.data(), nr, static_cast<T>(p.gradient_scale), dz);
    const auto s = res.sum();
    nr.norms.check();
    return {s.loss, s.correct, s.entropy};
  }
};

}  // namespace simclr::loss
