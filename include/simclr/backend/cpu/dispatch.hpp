// simclr::detail::with_isa: runs a kernel body compiled for the instruction set current_cpu_isa()
// names, whatever flags the host project compiles with.
//
// The body is a lambda; a trampoline with that ISA's `target` attribute and `flatten` calls it,
// so the body and everything it calls are inlined into, and compiled for, the trampoline's ISA.
// Bodies written with simd<T> (simclr/backend/cpu/simd.hpp) then run on 512-bit vectors on the
// avx512 path, 256-bit on avx2 and 128-bit on generic (SSE2 on x86-64) — the same arithmetic lane
// by lane, so the paths agree. Keep bodies to loops: whatever they call is inlined.
#pragma once

#include <simclr/backend/cpu/isa.hpp>

#if SIMCLR_X86_KERNELS
#define SIMCLR_TARGET_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi,bmi2,popcnt")))
#define SIMCLR_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt")))
#endif

namespace simclr::detail {

#if SIMCLR_X86_KERNELS
template <class F>
SIMCLR_TARGET_AVX512 __attribute__((flatten)) inline void run_avx512(const F& body) {
  body();
}
template <class F>
SIMCLR_TARGET_AVX2 __attribute__((flatten)) inline void run_avx2(const F& body) {
  body();
}
#endif

/// body() compiled for `isa` (generic: the host project's own flags).
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
  body();
}

}  // namespace simclr::detail
