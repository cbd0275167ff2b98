// simclr::cuda_backend::check and SIMCLR_CUDA_CHECK: CUDA / cuBLAS status codes to simclr::cuda_error.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <simclr/error.hpp>

namespace simclr::cuda_backend {

/// Throws cuda_error (call site, status name, message) unless `status` is cudaSuccess.
inline void check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky-free error state so later calls can proceed
    throw cuda_error(cudaGetErrorName(status),
                     std::string(what) + " failed: " + cudaGetErrorString(status), file, line);
  }
}

/// Throws cuda_error unless `status` is CUBLAS_STATUS_SUCCESS.
inline void check(cublasStatus_t status, const char* what, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw cuda_error(cublasGetStatusName(status),
                     std::string(what) + " failed: " + cublasGetStatusString(status), file, line);
}

}  // namespace simclr::cuda_backend

/// Evaluates a CUDA runtime or cuBLAS call and throws simclr::cuda_error if it failed.
#define SIMCLR_CUDA_CHECK(expr) ::simclr::cuda_backend::check((expr), #expr, __FILE__, __LINE__)
