// simclr::cuda_backend::cublas_handle: one cuBLAS handle per host thread and device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <atomic>
#include <cstdlib>
#include <cstring>
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

namespace detail {
inline std::atomic<bool>& tf32_flag() {
  static std::atomic<bool> flag{[] {
    const char* s = std::getenv("SIMCLR_CUDA_TF32");
    return s != nullptr && std::strcmp(s, "1") == 0;
  }()};
  return flag;
}
}  // namespace detail

/// Whether float GEMMs (cuBLAS) may use TF32 tensor cores: inputs rounded to a 10-bit mantissa,
/// products summed in float — several times faster on Ampere and Hopper, with relative errors
/// around 1e-3 instead of 1e-6. Off by default (full float); SIMCLR_CUDA_TF32=1 turns it on at
/// start-up. Affects every float GEMM issued afterwards, from any thread; double is unaffected.
inline void set_tf32(bool on) noexcept { detail::tf32_flag().store(on); }
[[nodiscard]] inline bool tf32_enabled() noexcept { return detail::tf32_flag().load(); }

}  // namespace simclr::cuda_backend
