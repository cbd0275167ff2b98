// simclr::to_device / to_host / copy: explicit host↔device transfers of tensors.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/tensor.hpp>

namespace simclr {

namespace detail {
template <class T, class BS, class BD>
void expect_same_dense(tensor_view<const T, BS> src, tensor_view<T, BD> dst, const char* what) {
  expect_shape(dst, src.shape(), std::string(what) + ": destination");
  if (!src.is_contiguous() || !dst.is_contiguous())
    throw shape_error(std::string("simclr: ") + what + " needs contiguous views (shape " +
                      src.shape().to_string() + ")");
}
}  // namespace detail

/// Copies host elements into device memory of the same shape (synchronous).
template <class T>
void copy(tensor_view<const T, cpu_t> src, tensor_view<T, cuda_t> dst) {
  detail::expect_same_dense(src, dst, "copy host→device");
  if (src.numel() != 0)
    SIMCLR_CUDA_CHECK(cudaMemcpy(dst.data(), src.data(), sizeof(T) * src.numel(),
                                 cudaMemcpyHostToDevice));
}

/// Copies device elements into host memory of the same shape (synchronous).
template <class T>
void copy(tensor_view<const T, cuda_t> src, tensor_view<T, cpu_t> dst) {
  detail::expect_same_dense(src, dst, "copy device→host");
  if (src.numel() != 0)
    SIMCLR_CUDA_CHECK(cudaMemcpy(dst.data(), src.data(), sizeof(T) * src.numel(),
                                 cudaMemcpyDeviceToHost));
}

/// A device copy of a host tensor.
template <class T>
[[nodiscard]] tensor<T, cuda_t> to_device(const tensor<T, cpu_t>& host) {
  tensor<T, cuda_t> dev(host.shape(), uninitialized);
  copy<T>(host.view(), dev.view());
  return dev;
}

/// A host copy of a device tensor.
template <class T>
[[nodiscard]] tensor<T, cpu_t> to_host(const tensor<T, cuda_t>& dev) {
  tensor<T, cpu_t> host(dev.shape(), uninitialized);
  copy<T>(dev.view(), host.view());
  return host;
}

}  // namespace simclr
