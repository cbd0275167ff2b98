// simclr::optim::update_kernel<cuda_t>: the element-wise optimizer updates and norms on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <algorithm>
#include <cmath>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/optim/kernels.hpp>
#include <simclr/tensor.hpp>

namespace simclr::optim {

namespace cuda_detail {
/// x_i² in double.
template <class T>
struct square {
  const T* x;
  __device__ double operator()(index_t i) const {
    const double v = static_cast<double>(x[i]);
    return v * v;
  }
};
/// (g_i + wd·w_i)² with g + wd·w rounded to T, as the update uses it.
template <class T>
struct decayed_square {
  const T* g;
  const T* w;
  T wd;
  __device__ double operator()(index_t i) const {
    const double v = static_cast<double>(static_cast<T>(g[i] + wd * w[i]));
    return v * v;
  }
};

/// partial[b] ← Σ f(i) over block b's grid-stride share, in double.
template <class F>
__global__ void partial_sums(index_t n, F f, double* partial) {
  double s = 0.0;
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    s += f(i);
  s = cuda_backend::block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
/// out[0] ← Σ partial[0..parts) by one block.
template <class T>
__global__ void final_sum(index_t parts, const T* partial, T* out) {
  T s = 0;
  for (index_t b = threadIdx.x; b < parts; b += blockDim.x) s += partial[b];
  s = cuda_backend::block_sum(s);
  if (threadIdx.x == 0) *out = s;
}

/// Σ_{i<n} f(i) on the device in double, in an order that depends on n only (deterministic).
template <class F>
double device_sum(index_t n, F f) {
  if (n == 0) return 0.0;
  const unsigned parts = std::min(cuda_backend::grid_for(n), 1024u);
  tensor<double, cuda_t> buf(shape{static_cast<index_t>(parts) + 1}, uninitialized);
  partial_sums<F><<<parts, cuda_backend::block_threads>>>(n, f, buf.data());
  SIMCLR_CUDA_CHECK_LAUNCH();
  final_sum<double><<<1, cuda_backend::block_threads>>>(parts, buf.data(), buf.data() + parts);
  SIMCLR_CUDA_CHECK_LAUNCH();
  double out = 0.0;
  SIMCLR_CUDA_CHECK(cudaMemcpy(&out, buf.data() + parts, sizeof(double), cudaMemcpyDeviceToHost));
  return out;
}

template <class T>
__global__ void sgd(T* w, const T* g, T* buf, index_t n, T lr, T wd, T momentum, T dampening,
                    bool nesterov, bool first) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride()) {
    T d = g[i];
    if (wd != T(0)) d = d + wd * w[i];
    if (momentum != T(0)) {
      buf[i] = first ? d : momentum * buf[i] + (T(1) - dampening) * d;
      d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    w[i] = w[i] - lr * d;
  }
}
template <class T>
__global__ void lars(T* w, const T* g, T* v, index_t n, T scaled_lr, T wd, T momentum,
                     bool nesterov) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride()) {
    const T d = wd != T(0) ? g[i] + wd * w[i] : g[i];
    v[i] = momentum * v[i] + scaled_lr * d;
    w[i] = w[i] - (nesterov ? momentum * v[i] + scaled_lr * d : v[i]);
  }
}
template <class T>
__global__ void adamw(T* w, const T* g, T* m, T* v, index_t n, T decay, T step_size, T beta1,
                      T beta2, T eps, T bias_correction2_sqrt) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride()) {
    if (decay != T(1)) w[i] = w[i] * decay;
    m[i] = m[i] * beta1 + (T(1) - beta1) * g[i];
    v[i] = v[i] * beta2 + (T(1) - beta2) * g[i] * g[i];
    const T denom = sqrt(v[i]) / bias_correction2_sqrt + eps;
    w[i] = w[i] - step_size * (m[i] / denom);
  }
}
template <class T>
__global__ void ema(T* t, const T* x, index_t n, T momentum) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    t[i] = momentum * t[i] + (T(1) - momentum) * x[i];
}
template <class T>
__global__ void axpy(T* y, const T* x, index_t n, T a) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    y[i] = y[i] + a * x[i];
}
}  // namespace cuda_detail

/// Same contracts as update_kernel<cpu_t> (<simclr/optim/cpu/update.hpp>); device pointers.
/// One kernel per parameter tensor; the norms LARS needs are reduced on the device in double
/// (fixed two-level order) and only the scalar comes back to the host.
template <>
struct update_kernel<cuda_t> {
  template <class T>
  [[nodiscard]] static double norm(const T* x, index_t n) {
    return std::sqrt(cuda_detail::device_sum(n, cuda_detail::square<T>{x}));
  }
  template <class T>
  [[nodiscard]] static double decayed_norm(const T* g, const T* w, T wd, index_t n) {
    return std::sqrt(cuda_detail::device_sum(n, cuda_detail::decayed_square<T>{g, w, wd}));
  }
  template <class T>
  static void sgd(T* w, const T* g, T* buf, index_t n, T lr, T wd, T momentum, T dampening,
                  bool nesterov, bool first) {
    if (n == 0) return;
    cuda_detail::sgd<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
        w, g, buf, n, lr, wd, momentum, dampening, nesterov, first);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void lars(T* w, const T* g, T* v, index_t n, T scaled_lr, T wd, T momentum,
                   bool nesterov) {
    if (n == 0) return;
    cuda_detail::lars<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
        w, g, v, n, scaled_lr, wd, momentum, nesterov);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void ema(T* t, const T* x, index_t n, T momentum) {
    if (n == 0) return;
    cuda_detail::ema<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(t, x, n,
                                                                                  momentum);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void axpy(T* y, const T* x, index_t n, T a) {
    if (n == 0) return;
    cuda_detail::axpy<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(y, x, n, a);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void adamw(T* w, const T* g, T* m, T* v, index_t n, T decay, T step_size, T beta1,
                    T beta2, T eps, T bias_correction2_sqrt) {
    if (n == 0) return;
    cuda_detail::adamw<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(
        w, g, m, v, n, decay, step_size, beta1, beta2, eps, bias_correction2_sqrt);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace simclr::optim
