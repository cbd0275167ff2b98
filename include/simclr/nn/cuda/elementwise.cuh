// simclr::nn::elementwise_kernel<cuda_t>: ReLU, residual add, bias and bias gradient on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/backend/cuda/launch.cuh>
#include <simclr/nn/kernels.hpp>

namespace simclr::nn {

namespace cuda_detail {
template <class T>
__global__ void relu_forward(index_t n, const T* x, T* y) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    y[i] = x[i] > T(0) ? x[i] : T(0);
}
template <class T>
__global__ void relu_backward(index_t n, const T* y, const T* dy, T* dx) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    dx[i] = y[i] > T(0) ? dy[i] : T(0);
}
template <class T>
__global__ void add(index_t n, const T* a, const T* b, T* y) {
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    y[i] = a[i] + b[i];
}
template <class T>
__global__ void add_row_bias(index_t rows, index_t cols, const T* bias, T* y) {
  const index_t n = rows * cols;
  for (index_t i = cuda_backend::thread_index(); i < n; i += cuda_backend::thread_stride())
    y[i] += bias[i % cols];
}
/// One thread per column; rows summed in order (adjacent threads read adjacent columns).
template <class T>
__global__ void sum_rows(index_t rows, index_t cols, const T* dy, T* dbias) {
  for (index_t j = cuda_backend::thread_index(); j < cols; j += cuda_backend::thread_stride()) {
    T s = 0;
    for (index_t r = 0; r < rows; ++r) s += dy[r * cols + j];
    dbias[j] += s;
  }
}
}  // namespace cuda_detail

/// Same contracts as elementwise_kernel<cpu_t> (<simclr/nn/cpu/elementwise.hpp>); device
/// pointers. ReLU's mask and the row sums follow the CPU's order, so results are identical.
template <>
struct elementwise_kernel<cuda_t> {
  template <class T>
  static void relu_forward(index_t n, const T* x, T* y) {
    if (n == 0) return;
    cuda_detail::relu_forward<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(n, x, y);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void relu_backward(index_t n, const T* y, const T* dy, T* dx) {
    if (n == 0) return;
    cuda_detail::relu_backward<T>
        <<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(n, y, dy, dx);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void add(index_t n, const T* a, const T* b, T* y) {
    if (n == 0) return;
    cuda_detail::add<T><<<cuda_backend::grid_for(n), cuda_backend::block_threads>>>(n, a, b, y);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void add_row_bias(index_t rows, index_t cols, const T* bias, T* y) {
    if (rows * cols == 0) return;
    cuda_detail::add_row_bias<T>
        <<<cuda_backend::grid_for(rows * cols), cuda_backend::block_threads>>>(rows, cols, bias, y);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
  template <class T>
  static void sum_rows(index_t rows, index_t cols, const T* dy, T* dbias) {
    if (cols == 0) return;
    cuda_detail::sum_rows<T>
        <<<cuda_backend::grid_for(cols), cuda_backend::block_threads>>>(rows, cols, dy, dbias);
    SIMCLR_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace simclr::nn
