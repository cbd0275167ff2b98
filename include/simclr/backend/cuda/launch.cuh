// simclr::cuda_backend launch helpers: grid sizes, grid-stride indices, deterministic block reductions.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/config.hpp>

namespace simclr::cuda_backend {

/// Threads per block of the element-wise kernels and of the block reductions (a multiple of 32).
inline constexpr unsigned block_threads = 256;

/// Blocks for a grid-stride loop over `n` elements: enough to cover them, at most 65535
/// (the loops stride over the rest), at least 1.
[[nodiscard]] inline unsigned grid_for(index_t n, unsigned threads = block_threads) {
  const index_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

/// The first index of this thread in a 1-D grid-stride loop, and the stride.
__device__ inline index_t thread_index() {
  return static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline index_t thread_stride() { return static_cast<index_t>(gridDim.x) * blockDim.x; }

struct sum_op {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct max_op {
  template <class T>
  __device__ T operator()(T a, T b) const { return b > a ? b : a; }
};

/// Reduces one value per thread over the whole block with `op` and returns the result to every
/// thread. Every thread of the block must call it (blockDim.x a multiple of 32, ≤ 1024). The
/// combination order is fixed by the thread layout, so results are run-to-run identical.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[32];
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // an earlier call's readers are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (blockDim.x + 31) / 32 ? partial[lane] : identity;
    for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, off));
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

template <class T>
__device__ T block_sum(T v) {
  return block_reduce(v, sum_op{}, T(0));
}

}  // namespace simclr::cuda_backend

/// Throws simclr::cuda_error if the preceding kernel launch failed (bad configuration, no
/// kernel image for this device); asynchronous faults surface at the next synchronising call.
#define SIMCLR_CUDA_CHECK_LAUNCH() SIMCLR_CUDA_CHECK(cudaGetLastError())
