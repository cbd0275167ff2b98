// simclr::memory<cuda_t>: device storage through cudaMalloc (a caching allocator comes later).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <string>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/memory.hpp>

namespace simclr {

template <>
struct memory<cuda_t> {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      throw cuda_error(cudaGetErrorName(e),
                       "cudaMalloc of " + std::to_string(bytes) + " bytes failed: " +
                           cudaGetErrorString(e),
                       __FILE__, __LINE__);
    }
    return p;
  }
  static void deallocate(void* p, std::size_t /*bytes*/) noexcept { (void)cudaFree(p); }
  static void zero(void* p, std::size_t bytes) {
    if (bytes != 0) SIMCLR_CUDA_CHECK(cudaMemset(p, 0, bytes));
  }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) SIMCLR_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
  }
};

}  // namespace simclr
