// simclr::detail::simd<T>: 64 bytes of T as one value (the GCC/Clang vector extension), for CPU
// kernel loops that vectorise at any optimisation level: one zmm register on the avx512 path,
// two ymm on avx2, four xmm on generic x86-64 (see simclr/backend/cpu/dispatch.hpp).
#pragma once

#include <cstring>

#include <simclr/config.hpp>

namespace simclr::detail {

template <class T>
struct simd {
  typedef T vec __attribute__((vector_size(64)));
  static constexpr index_t width = 64 / sizeof(T);
  // By reference and through memcpy (unaligned, no aliasing question): a 64-byte vector passed
  // or returned by value changes the ABI where AVX-512 is off.
  static void load(vec& v, const T* p) { std::memcpy(&v, p, sizeof v); }
  static void store(T* p, const vec& v) { std::memcpy(p, &v, sizeof v); }
  static void broadcast(vec& v, T x) { v = vec{} + x; }
  /// v where mask (a vector comparison) holds, else 0.
  template <class M>
  static void keep(vec& v, const M& mask) {
    v = mask ? v : vec{};
  }
  static void relu(vec& v) { v = v > vec{} ? v : vec{}; }
  /// The lanes in order, in double.
  static double total(const vec& v) {
    double s = 0.0;
    for (index_t u = 0; u < width; ++u) s += static_cast<double>(v[u]);
    return s;
  }
};

}  // namespace simclr::detail
