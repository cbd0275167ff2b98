// simclr::cuda_backend: is there a usable CUDA device, and why not.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <string>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>

namespace simclr::cuda_backend {

/// Number of usable CUDA devices; 0 (never an exception) when there is no device or driver.
[[nodiscard]] inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

/// True when at least one CUDA device can be used.
[[nodiscard]] inline bool device_available() noexcept { return device_count() > 0; }

/// Why no device can be used ("cudaErrorNoDevice: no CUDA-capable device is detected"), or an
/// empty string when one can.
[[nodiscard]] inline std::string unavailable_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  }
  return n > 0 ? std::string() : std::string("no CUDA device found");
}

/// Name and compute capability of the current device, e.g. "NVIDIA H200 (sm_90)".
[[nodiscard]] inline std::string device_description() {
  int dev = 0;
  SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  SIMCLR_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major * 10 + prop.minor) + ")";
}

/// Waits for all work on the current device; surfaces asynchronous kernel errors.
inline void synchronize() { SIMCLR_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace simclr::cuda_backend
