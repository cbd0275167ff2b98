// simclr::memory<cpu_t>: 64-byte aligned host storage, with a cache of large blocks for reuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include <simclr/backend/memory.hpp>

namespace simclr {

template <>
struct memory<cpu_t> {
  /// Alignment of every CPU tensor's storage: one cache line, enough for AVX-512 loads.
  static constexpr std::size_t alignment = 64;
  /// Blocks of at least this size are kept for reuse when freed: a training step allocates
  /// the same large activations every time, and fresh pages cost a page fault each.
  static constexpr std::size_t cache_min_bytes = std::size_t{1} << 20;

  static void* allocate(std::size_t bytes) {
    if (bytes >= cache_min_bytes) {
      auto& c = cache();
      std::lock_guard lock(c.mutex);
      auto it = c.free.find(bytes);
      if (it != c.free.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        c.cached_bytes -= bytes;
        return p;
      }
    }
    return ::operator new(bytes == 0 ? alignment : bytes, std::align_val_t{alignment});
  }
  static void deallocate(void* p, std::size_t bytes) noexcept {
    if (p == nullptr) return;
    if (bytes >= cache_min_bytes) {
      auto& c = cache();
      std::lock_guard lock(c.mutex);
      if (c.cached_bytes + bytes <= c.limit_bytes) {
        try {
          c.free[bytes].push_back(p);
          c.cached_bytes += bytes;
          return;
        } catch (...) {  // no memory for the bookkeeping: free the block instead
        }
      }
    }
    ::operator delete(p, std::align_val_t{alignment});
  }
  static void zero(void* p, std::size_t bytes) {
    // No block is larger than PTRDIFF_MAX; saying so keeps GCC's -Wstringop-overflow quiet
    // where it cannot prove a size computed from signed extents non-negative.
    if (bytes != 0 && bytes <= static_cast<std::size_t>(PTRDIFF_MAX)) std::memset(p, 0, bytes);
  }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
  }

  /// Bytes held in the cache of freed blocks now.
  static std::size_t cached_bytes() {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    return c.cached_bytes;
  }
  /// Returns every cached block to the system.
  static void release_cache() noexcept {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    for (auto& [size, blocks] : c.free)
      for (void* p : blocks) ::operator delete(p, std::align_val_t{alignment});
    c.free.clear();
    c.cached_bytes = 0;
  }

 private:
  struct block_cache {
    std::mutex mutex;
    std::map<std::size_t, std::vector<void*>> free;  // exact size → blocks
    std::size_t cached_bytes = 0;
    /// SIMCLR_CPU_CACHE_MB (default 4096) bounds the bytes kept; 0 disables the cache.
    std::size_t limit_bytes = limit_from_environment();
    ~block_cache() {
      for (auto& [size, blocks] : free)
        for (void* p : blocks) ::operator delete(p, std::align_val_t{alignment});
    }
  };
  static std::size_t limit_from_environment() {
    const char* s = std::getenv("SIMCLR_CPU_CACHE_MB");
    if (s == nullptr || *s == '\0') return std::size_t{4096} << 20;
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(s, &end, 10);
    return (end != nullptr && *end == '\0') ? static_cast<std::size_t>(mb) << 20 : 0;
  }
  static block_cache& cache() {
    static block_cache c;
    return c;
  }
};

namespace detail {

/// Uninitialised storage from the CPU allocator, which keeps large blocks for reuse: a buffer
/// that every training step or product allocates anew does not page-fault the same pages in
/// again.
template <class T>
class cpu_scratch {
 public:
  explicit cpu_scratch(std::size_t n)
      : bytes_(n * sizeof(T)), p_(static_cast<T*>(memory<cpu_t>::allocate(bytes_))) {}
  cpu_scratch(const cpu_scratch&) = delete;
  cpu_scratch& operator=(const cpu_scratch&) = delete;
  ~cpu_scratch() { memory<cpu_t>::deallocate(p_, bytes_); }
  [[nodiscard]] T* data() const noexcept { return p_; }
  T& operator[](std::size_t i) const noexcept { return p_[i]; }

 private:
  std::size_t bytes_;
  T* p_;
};

/// p advanced to the next 64-byte boundary (p itself when on one), at most 64 bytes on: with
/// that much slack, every vector a kernel loads from or stores to the buffer is one cache line.
template <class T>
[[nodiscard]] T* align_to_line(T* p) noexcept {
  static_assert(64 % sizeof(T) == 0, "align_to_line: 64 bytes must hold whole elements");
  constexpr std::uintptr_t per_line = 64 / sizeof(T);
  return p + (per_line - reinterpret_cast<std::uintptr_t>(p) / sizeof(T) % per_line) % per_line;
}

/// The calling thread's buffer `slot` (0–3) of `Owner`'s, at least n elements from a 64-byte
/// boundary: grown, never shrunk or cleared (every user overwrites what it reads), valid until
/// the thread asks the same (Owner, slot) for more. Owners keep their slots apart, so a kernel
/// can call another that has buffers of its own.
template <class T, class Owner>
[[nodiscard]] T* thread_scratch(std::size_t n, int slot) {
  thread_local std::vector<T> buffers[4];
  auto& b = buffers[slot];
  const std::size_t need = n + 64 / sizeof(T);
  if (b.size() < need) b = std::vector<T>(need);
  return align_to_line(b.data());
}

}  // namespace detail

}  // namespace simclr
