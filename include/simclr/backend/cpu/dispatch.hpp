// simclr::detail::with_isa: runs a kernel body compiled for the instruction set current_cpu_isa()
// names, whatever flags the host project compiles with.
//
// The body is a lambda; a trampoline with that ISA's `target` attribute and `flatten` calls it,
// so the body and everything it calls are inlined into, and compiled for, the trampoline's ISA.
// The body receives the path's register width and writes its loops with simd<T, width>
// (simclr/backend/cpu/simd.hpp): 512-bit vectors on the avx512 path, 256-bit on avx2 and 128-bit
// on generic (SSE2 on x86-64, NEON on aarch64) — the same arithmetic lane by lane. Keep bodies
// to loops: whatever they call is inlined.
#pragma once

#include <cstddef>
#include <type_traits>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/simd.hpp>

// flatten: the body and whatever it calls are inlined into the trampoline. (GCC's -O2 does not
// auto-vectorise loops that need a remainder, which is why bodies use simd<T> explicitly; an
// optimize("O3") here would, but cost about 10 % of a heavy translation unit's compile time.)
#define SIMCLR_DISPATCH_INLINE __attribute__((flatten))

#if SIMCLR_X86_KERNELS
#define SIMCLR_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt")))
#define SIMCLR_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#endif

namespace simclr::detail {

/// The register width of a path, handed to with_isa's body: use it as simd<T, W::value>.
template <std::size_t Bytes>
using simd_bytes = std::integral_constant<std::size_t, Bytes>;

#if SIMCLR_X86_KERNELS
template <class F>
SIMCLR_TARGET_AVX512 SIMCLR_DISPATCH_INLINE inline void run_avx512(const F& body) {
  body(simd_bytes<64>{});
}
template <class F>
SIMCLR_TARGET_AVX2 SIMCLR_DISPATCH_INLINE inline void run_avx2(const F& body) {
  body(simd_bytes<32>{});
}
#endif

template <class F>
SIMCLR_DISPATCH_INLINE inline void run_generic(const F& body) {
  body(simd_bytes<16>{});
}

/// body(W) compiled for `isa` (generic: the host project's own instruction set), W its
/// simd_bytes (64, 32 or 16). The body is a generic lambda, `[&](auto w) { … }`.
template <class F>
inline void with_isa(cpu_isa isa, const F& body) {
#if SIMCLR_X86_KERNELS
  switch (isa) {
    case cpu_isa::avx512:
      run_avx512(body);
      return;
    case cpu_isa::avx2:
      run_avx2(body);
      return;
    default:
      break;
  }
#else
  (void)isa;
#endif
  run_generic(body);
}

/// The loop most kernels are: over [lo, hi) compiled for `isa`, vec(w, i) for each full
/// simd<T, W> vector at i (w: the path's simd_bytes, W its value), then one(i) for each element
/// of the tail. Keep vec and one the same arithmetic, so an element's result does not depend on
/// where it falls.
template <class T, class VecOp, class OneOp>
inline void simd_loop(cpu_isa isa, index_t lo, index_t hi, const VecOp& vec, const OneOp& one) {
  with_isa(isa, [&](auto bytes) {
    constexpr index_t w = simd<T, decltype(bytes)::value>::width;
    index_t i = lo;
    for (; i + w <= hi; i += w) vec(bytes, i);
    for (; i < hi; ++i) one(i);
  });
}

}  // namespace simclr::detail
