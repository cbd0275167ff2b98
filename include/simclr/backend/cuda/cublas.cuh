// simclr::cuda_backend::cublas_handle: one cuBLAS handle per host thread and device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <map>
#include <memory>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>

namespace simclr::cuda_backend {

/// The calling thread's cuBLAS handle for the current device, created on first use and
/// destroyed at thread exit. cuBLAS handles must not be shared between threads.
[[nodiscard]] inline cublasHandle_t cublas_handle() {
  struct handles {
    std::map<int, cublasHandle_t> by_device;
    ~handles() {
      for (auto& [dev, h] : by_device) (void)cublasDestroy(h);
    }
  };
  thread_local handles cache;
  int dev = 0;
  SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
  auto it = cache.by_device.find(dev);
  if (it == cache.by_device.end()) {
    cublasHandle_t h = nullptr;
    SIMCLR_CUDA_CHECK(cublasCreate(&h));
    it = cache.by_device.emplace(dev, h).first;
  }
  return it->second;
}

}  // namespace simclr::cuda_backend
