// simclr::memory<cpu_t>: 64-byte aligned host storage.
#pragma once

#include <cstring>
#include <new>

#include <simclr/backend/memory.hpp>

namespace simclr {

template <>
struct memory<cpu_t> {
  /// Alignment of every CPU tensor's storage: one cache line, enough for AVX-512 loads.
  static constexpr std::size_t alignment = 64;

  static void* allocate(std::size_t bytes) {
    return ::operator new(bytes == 0 ? alignment : bytes, std::align_val_t{alignment});
  }
  static void deallocate(void* p, std::size_t /*bytes*/) noexcept {
    ::operator delete(p, std::align_val_t{alignment});
  }
  static void zero(void* p, std::size_t bytes) {
    if (bytes != 0) std::memset(p, 0, bytes);
  }
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) std::memcpy(dst, src, bytes);
  }
};

}  // namespace simclr
