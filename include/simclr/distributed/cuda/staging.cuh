// simclr::distributed::staging<cuda_t>: device memory staged through page-locked host buffers
// for a host-memory communicator (staged_communicator<mpi_communicator, cuda_t>), unless the MPI
// library reads device memory itself (mpi_communicator::reads_cuda_memory). docs/distributed.md.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cstddef>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/tags.hpp>
#include <simclr/distributed/staged.hpp>

namespace simclr::distributed {

/// Page-locked buffers (cudaMallocHost: the copies run at full bus speed and cudaMemcpy from
/// them is synchronous) and blocking copies on the legacy default stream, which orders them
/// after the kernels that wrote the device values (simclr's kernels run there).
template <>
struct staging<cuda_t> {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    SIMCLR_CUDA_CHECK(cudaMallocHost(&p, bytes));
    return p;
  }
  static void deallocate(void* p, std::size_t) noexcept { (void)cudaFreeHost(p); }
  static void to_host(void* host, const void* src, std::size_t bytes) {
    if (bytes > 0) SIMCLR_CUDA_CHECK(cudaMemcpy(host, src, bytes, cudaMemcpyDeviceToHost));
  }
  static void from_host(void* dst, const void* host, std::size_t bytes) {
    if (bytes > 0) SIMCLR_CUDA_CHECK(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice));
  }
  /// A CUDA-aware MPI reads and writes device memory on streams of its own: the kernels
  /// queued on the default stream (simclr's) finish first.
  static void before_direct() { SIMCLR_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy)); }
  /// Whether `host` reads device memory itself: a communicator that says so
  /// (reads_cuda_memory(): mpi_communicator with a CUDA-aware MPI); otherwise not.
  template <class Host>
  static bool reads_directly(const Host& host) {
    if constexpr (requires { host.reads_cuda_memory(); }) {
      return static_cast<bool>(host.reads_cuda_memory());
    } else {
      return false;
    }
  }
};

}  // namespace simclr::distributed
