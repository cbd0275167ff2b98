// simclr::random::fill_uniform / fill_normal on device: the same numbers as the host fills.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cstdint>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/random/fill.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::random {

namespace detail {
// lo + (hi − lo)·u with the product rounded on its own, as the host computes it: nvcc would
// otherwise contract it into an FMA and the device fill would differ in the last bit.
__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }

template <class T>
__global__ void fill_uniform_kernel(T* out, index_t n, key k, T lo, T hi) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    out[i] = lo + mul_rn(hi - lo, uniform_at<T>(k, static_cast<std::uint64_t>(i)));
}
template <class T>
__global__ void fill_normal_kernel(T* out, index_t n, key k, T mean, T stddev) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    out[i] = mean + mul_rn(stddev, normal_at<T>(k, static_cast<std::uint64_t>(i)));
}
template <class T>
void expect_dense_device(tensor_view<T, cuda_t> v) {
  if (!v.is_contiguous())
    throw shape_error("simclr: random fill needs a contiguous view, got shape " +
                      v.shape().to_string());
}
}  // namespace detail

/// Device version of fill_uniform: element i gets the i-th uniform of `k`, as on the host.
template <class T>
void fill_uniform(tensor_view<T, cuda_t> v, const key& k, T lo = T(0), T hi = T(1)) {
  detail::expect_dense_device(v);
  if (v.numel() == 0) return;
  detail::fill_uniform_kernel<T>
      <<<cuda_backend::grid_for(v.numel()), cuda_backend::block_threads>>>(v.data(), v.numel(),
                                                                           k, lo, hi);
  SIMCLR_CUDA_CHECK_LAUNCH();
}

/// Device version of fill_normal: element i gets the i-th normal of `k`, as on the host
/// (up to the last bits of the device's log/cos).
template <class T>
void fill_normal(tensor_view<T, cuda_t> v, const key& k, T mean = T(0), T stddev = T(1)) {
  detail::expect_dense_device(v);
  if (v.numel() == 0) return;
  detail::fill_normal_kernel<T>
      <<<cuda_backend::grid_for(v.numel()), cuda_backend::block_threads>>>(v.data(), v.numel(),
                                                                           k, mean, stddev);
  SIMCLR_CUDA_CHECK_LAUNCH();
}

}  // namespace simclr::random
