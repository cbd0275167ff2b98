// simclr::memory<cuda_t>: device storage from a caching allocator (cudaMalloc only on a cache miss).
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include <simclr/backend/cuda/check.cuh>
#include <simclr/backend/memory.hpp>

namespace simclr {

/// Device memory. Freed blocks are kept, per device and per rounded size, and handed out again:
/// a training step allocates the same activations every time, and cudaMalloc/cudaFree
/// synchronise the device. Reuse is safe because every simclr kernel, copy and cuBLAS call runs
/// on the legacy default stream, in order: work queued on a block before it was freed finishes
/// before work queued by its next owner starts. (Code that touches simclr tensors from other
/// streams must synchronise them with the default stream first.)
///
/// Sizes are rounded up to 512 bytes (below 1 MiB) or to 2 MiB (above), so nearby sizes share
/// blocks. SIMCLR_CUDA_CACHE_MB bounds the cached bytes (default: unbounded; 0 disables the
/// cache). When cudaMalloc fails, the cache is released and the allocation retried once; a
/// second failure throws cuda_error (cudaErrorMemoryAllocation). Blocks still cached at program
/// exit are left to the driver (freeing during static destruction races CUDA's own teardown).
template <>
struct memory<cuda_t> {
  static void* allocate(std::size_t bytes) {
    const std::size_t size = rounded(bytes);
    int dev = 0;
    SIMCLR_CUDA_CHECK(cudaGetDevice(&dev));
    auto& c = cache();
    {
      std::lock_guard lock(c.mutex);
      auto it = c.free.find({dev, size});
      if (it != c.free.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        c.cached_bytes -= size;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      release_cache();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      throw cuda_error(cudaGetErrorName(e),
                       "cudaMalloc of " + std::to_string(bytes) + " bytes failed: " +
                           cudaGetErrorString(e),
                       __FILE__, __LINE__);
    }
    return p;
  }

  static void deallocate(void* p, std::size_t bytes) noexcept {
    if (p == nullptr) return;
    const std::size_t size = rounded(bytes);
    int dev = 0;
    if (cudaGetDevice(&dev) == cudaSuccess) {
      auto& c = cache();
      std::lock_guard lock(c.mutex);
      if (c.cached_bytes + size <= c.limit_bytes) {
        try {
          c.free[{dev, size}].push_back(p);
          c.cached_bytes += size;
          return;
        } catch (...) {  // no host memory for the bookkeeping: free the block instead
        }
      }
    }
    (void)cudaFree(p);
  }

  static void zero(void* p, std::size_t bytes) {
    if (bytes != 0) SIMCLR_CUDA_CHECK(cudaMemset(p, 0, bytes));
  }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) SIMCLR_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
  }

  /// Bytes held in the cache of freed blocks now (all devices).
  [[nodiscard]] static std::size_t cached_bytes() {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    return c.cached_bytes;
  }

  /// Returns every cached block to the driver (after waiting for the device, so that no queued
  /// work still uses one). Call it to hand memory to other libraries or processes.
  static void release_cache() noexcept {
    (void)cudaDeviceSynchronize();
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    int current = 0;
    (void)cudaGetDevice(&current);
    for (auto& [key, blocks] : c.free) {
      if (key.first != current) (void)cudaSetDevice(key.first);
      for (void* p : blocks) (void)cudaFree(p);
    }
    (void)cudaSetDevice(current);
    (void)cudaGetLastError();
    c.free.clear();
    c.cached_bytes = 0;
  }

 private:
  [[nodiscard]] static std::size_t rounded(std::size_t bytes) {
    constexpr std::size_t small = 512, large = std::size_t{2} << 20;
    if (bytes == 0) return small;
    const std::size_t unit = bytes < (std::size_t{1} << 20) ? small : large;
    return (bytes + unit - 1) / unit * unit;
  }

  struct block_cache {
    std::mutex mutex;
    std::map<std::pair<int, std::size_t>, std::vector<void*>> free;  // (device, size) → blocks
    std::size_t cached_bytes = 0;
    std::size_t limit_bytes = limit_from_environment();
  };
  static std::size_t limit_from_environment() {
    const char* s = std::getenv("SIMCLR_CUDA_CACHE_MB");
    if (s == nullptr || *s == '\0') return static_cast<std::size_t>(-1);
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(s, &end, 10);
    return (end != nullptr && *end == '\0') ? static_cast<std::size_t>(mb) << 20 : 0;
  }
  /// Never destroyed: cached blocks outlive static destruction (see above).
  static block_cache& cache() {
    static block_cache* c = new block_cache;
    return *c;
  }
};

}  // namespace simclr
