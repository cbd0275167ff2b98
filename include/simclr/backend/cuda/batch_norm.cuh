// simclr::nn::batch_norm_kernel<cuda_t>: per-channel batch normalisation on the device, double sums.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/nn/kernels.hpp>

namespace simclr::nn {

namespace cuda_detail {
/// Threads per channel block of the batch-norm reductions.
inline constexpr unsigned bn_threads = 512;

/// Element e ∈ [0, N·L) of channel ch in an (N, C, L) tensor.
__device__ inline index_t bn_offset(index_t e, index_t ch, index_t c, index_t l) {
  return ((e / l) * c + ch) * l + e % l;
}

/// y = v + residual (if given), then max(y, 0) if `relu`.
template <class T>
__device__ inline T bn_epilogue(T v, const T* residual, index_t o, bool relu) {
  if (residual != nullptr) v += residual[o];
  return relu ? (v > T(0) ? v : T(0)) : v;
}

/// One block per channel: mean and biased variance (two passes, double sums), then y with the
/// epilogue (residual, ReLU).
template <class T>
__global__ void bn_forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                                 const T* beta, double eps, T* y, T* mean, T* var, T* inv_std,
                                 const T* residual, bool relu) {
  const index_t ch = blockIdx.x, m = n * l;
  double s = 0.0;
  for (index_t e = threadIdx.x; e < m; e += blockDim.x)
    s += static_cast<double>(x[bn_offset(e, ch, c, l)]);
  const double mu = cuda_backend::block_sum(s) / static_cast<double>(m);
  const T mt = static_cast<T>(mu);
  double ss = 0.0;
  for (index_t e = threadIdx.x; e < m; e += blockDim.x) {
    const double dv = static_cast<double>(x[bn_offset(e, ch, c, l)] - mt);
    ss += dv * dv;
  }
  const double v = cuda_backend::block_sum(ss) / static_cast<double>(m);
  const double is = 1.0 / sqrt(v + eps);
  if (threadIdx.x == 0) {
    mean[ch] = mt;
    var[ch] = static_cast<T>(v);
    inv_std[ch] = static_cast<T>(is);
  }
  const T g = gamma[ch], b = beta[ch], ist = static_cast<T>(is);
  for (index_t e = threadIdx.x; e < m; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l);
    const T h = (x[o] - mt) * ist;
    y[o] = bn_epilogue(h * g + b, residual, o, relu);
  }
}

template <class T>
__global__ void bn_forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                                const T* beta, const T* running_mean, const T* running_var,
                                double eps, T* y, const T* residual, bool relu) {
  const index_t total = n * c * l;
  for (index_t i = cuda_backend::thread_index(); i < total; i += cuda_backend::thread_stride()) {
    const index_t ch = (i / l) % c;
    const T scale = static_cast<T>(static_cast<double>(gamma[ch]) /
                                   sqrt(static_cast<double>(running_var[ch]) + eps));
    const T shift = beta[ch] - running_mean[ch] * scale;
    y[i] = bn_epilogue(x[i] * scale + shift, residual, i, relu);
  }
}

/// dy at o, masked by the fused ReLU's output when there was one.
template <class T>
__device__ inline T bn_grad(const T* dy, const T* relu_y, index_t o) {
  return relu_y == nullptr || relu_y[o] > T(0) ? dy[o] : T(0);
}

/// One block per channel: Σdy and Σdy·x̂ (double; x̂ recomputed from x), the parameter
/// gradients, then dx.
template <class T>
__global__ void bn_backward(index_t n, index_t c, index_t l, const T* dy, const T* x,
                            const T* mean, const T* gamma, const T* inv_std, const T* relu_y,
                            T* dx, T* dgamma, T* dbeta) {
  const index_t ch = blockIdx.x, m = n * l;
  const T mt = mean[ch], ist = inv_std[ch];
  double sdy = 0.0, sdyx = 0.0;
  for (index_t e = threadIdx.x; e < m; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l);
    const T d = bn_grad(dy, relu_y, o);
    sdy += static_cast<double>(d);
    sdyx += static_cast<double>(d) * static_cast<double>((x[o] - mt) * ist);
  }
  sdy = cuda_backend::block_sum(sdy);
  sdyx = cuda_backend::block_sum(sdyx);
  if (threadIdx.x == 0) {
    dgamma[ch] += static_cast<T>(sdyx);
    dbeta[ch] += static_cast<T>(sdy);
  }
  if (dx == nullptr) return;
  const double md = static_cast<double>(m);
  const T k = static_cast<T>(static_cast<double>(gamma[ch]) * static_cast<double>(inv_std[ch]));
  const T mean_dy = static_cast<T>(sdy / md), mean_dyx = static_cast<T>(sdyx / md);
  for (index_t e = threadIdx.x; e < m; e += blockDim.x) {
    const index_t o = bn_offset(e, ch, c, l);
    dx[o] = (bn_grad(dy, relu_y, o) - mean_dy - (x[o] - mt) * ist * mean_dyx) * k;
  }
}

template <class T>
__global__ void bn_update_running(index_t c, const T* mean, const T* var, T momentum, T unbias,
                                  T* running_mean, T* running_var) {
  for (index_t ch = cuda_backend::thread_index(); ch < c; ch += cuda_backend::thread_stride()) {
    running_mean[ch] = (T(1) - momentum) * running_mean[ch] + momentum * mean[ch];
    running_var[ch] = (T(1) - momentum) * running_var[ch] + momentum * var[ch] * unbias;
  }
}
}  // namespace cuda_detail

/// Same contracts as batch_norm_kernel<cpu_t> (<simclr/backend/cpu/batch_norm.hpp>); device
/// pointers. One block per channel reduces in double in a fixed order (deterministic).
template <>
struct batch_norm_kernel<cuda_t> {
  template <class T>
  static void forward_train(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                            const T* beta, double eps, T* y, T* mean, T* var, T* inv_std,
                            const T* residual, bool relu) {
    if (c == 0) return;
    cuda_detail::bn_forward_train<T><<<static_cast<unsigned>(c), cuda_detail::bn_threads>>>(
        n, c, l, x, gamma, beta, eps, y, mean, var, inv_std, residual, relu);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  template <class T>
  static void forward_eval(index_t n, index_t c, index_t l, const T* x, const T* gamma,
                           const T* beta, const T* running_mean, const T* running_var,
                           double eps, T* y, const T* residual, bool relu) {
    const index_t total = n * c * l;
    if (total == 0) return;
    cuda_detail::bn_forward_eval<T><<<cuda_backend::grid_for(total), cuda_backend::block_threads>>>(
        n, c, l, x, gamma, beta, running_mean, running_var, eps, y, residual, relu);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  template <class T>
  static void backward(index_t n, index_t c, index_t l, const T* dy, const T* x, const T* mean,
                       const T* gamma, const T* inv_std, const T* relu_y, T* dx, T* dgamma,
                       T* dbeta) {
    if (c == 0) return;
    cuda_detail::bn_backward<T><<<static_cast<unsigned>(c), cuda_detail::bn_threads>>>(
        n, c, l, dy, x, mean, gamma, inv_std, relu_y, dx, dgamma, dbeta);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }

  /// running_mean ← (1 − m)·running_mean + m·mean; running_var ← (1 − m)·running_var +
  /// m·var·unbias, per channel (the layer does this on the host for host backends).
  template <class T>
  static void update_running(index_t c, const T* mean, const T* var, T momentum, T unbias,
                             T* running_mean, T* running_var) {
    if (c == 0) return;
    cuda_detail::bn_update_running<T><<<cuda_backend::grid_for(c), cuda_backend::block_threads>>>(
        c, mean, var, momentum, unbias, running_mean, running_var);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace simclr::nn
