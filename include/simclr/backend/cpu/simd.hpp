// simclr::detail::simd<T, Bytes>: Bytes of T as one value (the GCC/Clang vector extension), for
// CPU kernel loops that vectorise at any optimisation level. with_isa (simclr/backend/cpu/
// dispatch.hpp) hands its body the register width of the path it runs: 64 bytes (one zmm) on
// avx512, 32 (one ymm) on avx2, 16 (SSE2 / NEON) on generic — a native width, which compilers
// lower one instruction per operation (wider vectors on a narrower target get split, and GCC
// splits some operations one lane at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include <simclr/config.hpp>

namespace simclr::detail {

template <class T, std::size_t Bytes = 64>
struct simd {
  typedef T vec __attribute__((vector_size(Bytes)));
  static constexpr index_t width = static_cast<index_t>(Bytes / sizeof(T));
  // By reference and through memcpy (unaligned, no aliasing question): a 32- or 64-byte vector
  // passed or returned by value changes the ABI where AVX / AVX-512 is off.
  static void load(vec& v, const T* p) { std::memcpy(&v, p, sizeof v); }
  static void store(T* p, const vec& v) { std::memcpy(p, &v, sizeof v); }
  static void broadcast(vec& v, T x) { v = vec{} + x; }
  /// The integer vector a comparison of two vecs gives (all ones where it holds, else 0).
  typedef decltype(vec{} < vec{}) mask;

  /// The bits of v as a mask-typed vector (memcpy: a vector cast is not valid C++ to nvcc's front
  /// end, which also reads these headers; compilers emit no copy).
  static void bits(mask& m, const vec& v) { std::memcpy(&m, &v, sizeof m); }
  /// a where m holds, else b. With bitwise operations on the lanes, not `m ? a : b`: GCC lowers
  /// a conditional on vectors wider than the target's registers one lane at a time.
  static void select(vec& out, const mask& m, const vec& a, const vec& b) {
    mask ma, mb;
    bits(ma, a);
    bits(mb, b);
    ma = (ma & m) | (mb & ~m);
    std::memcpy(&out, &ma, sizeof out);
  }
  /// v where m holds, else 0.
  static void keep(vec& v, const mask& m) {
    mask mv;
    bits(mv, v);
    mv &= m;
    std::memcpy(&v, &mv, sizeof v);
  }
  /// max(v, 0) lane by lane (0 where v ≤ 0).
  static void relu(vec& v) { keep(v, v > vec{}); }
  /// Signed integers of T's width, one per lane.
  typedef std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t> lane_int
      __attribute__((vector_size(Bytes)));
  /// ⌊x⌋ lane by lane for |x| below the integer range of a lane: truncate through lane_int,
  /// then step down where that rounded up (negatives).
  static void floor(vec& out, const vec& x) {
    const vec t = __builtin_convertvector(__builtin_convertvector(x, lane_int), vec);
    vec step;
    select(step, t > x, vec{} + T(1), vec{});
    out = t - step;
  }
  /// The lanes of v in reverse order.
  static void reverse(vec& v) { reverse(v, std::make_index_sequence<width>{}); }
  /// v < lo ? lo : (v > hi ? hi : v), lane by lane (NaN stays NaN).
  static void clamp(vec& v, const vec& lo, const vec& hi) {
    select(v, v > hi, hi, v);
    select(v, v < lo, lo, v);
  }
  /// B bytes of doubles, and half of vec as floats (total's operands).
  template <std::size_t B>
  struct doubles_of {
    typedef double type __attribute__((vector_size(B)));
  };
  template <std::size_t B>
  using doubles = typename doubles_of<B>::type;
  typedef float half_floats __attribute__((vector_size(Bytes / 2)));
  /// d's B / 8 doubles summed by halving (d[u] + d[u + n/2], …).
  template <std::size_t B>
  static double halves(const doubles<B>& d) {
    if constexpr (B == 8) {
      return d[0];
    } else {
      doubles<B / 2> lo, hi;
      std::memcpy(&lo, &d, sizeof lo);
      std::memcpy(&hi, reinterpret_cast<const char*>(&d) + sizeof lo, sizeof hi);
      const doubles<B / 2> s = lo + hi;
      return halves<B / 2>(s);
    }
  }
  template <std::size_t... I>
  static void reverse(vec& v, std::index_sequence<I...>) {
#if defined(__CUDACC__)  // nvcc's rewrite of host code does not carry the shuffle through
    for (index_t u = 0; u < width / 2; ++u) {
      const T t = v[u];
      v[u] = v[width - 1 - u];
      v[width - 1 - u] = t;
    }
#else
    v = __builtin_shufflevector(v, v, (width - 1 - static_cast<index_t>(I))...);
#endif
  }

  /// The lanes' sum in double, pairwise in a fixed order (lane u + lane u + width/2, halving):
  /// log2(width) dependent vector additions instead of width scalar ones — a reduction per
  /// plane of BatchNorm's small planes (4 × 4: one vector) cost more than the plane's own
  /// arithmetic otherwise.
  static double total(const vec& v) {
    if constexpr (std::is_same_v<T, float>) {
      half_floats lo, hi;
      std::memcpy(&lo, &v, sizeof lo);
      std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
      const doubles<Bytes> d =
          __builtin_convertvector(lo, doubles<Bytes>) + __builtin_convertvector(hi, doubles<Bytes>);
      return halves<Bytes>(d);
    } else {
      static_assert(std::is_same_v<T, double>, "simd::total: float or double lanes");
      return halves<Bytes>(v);
    }
  }
};

}  // namespace simclr::detail
