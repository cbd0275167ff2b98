// simclr::cpu_isa: which instruction set the CPU kernels run on, found at run time (never from
// the compile flags of the project that includes simclr), with the SIMCLR_CPU_ISA override.
#pragma once

#include <array>
#include <atomic>
#include <cstdlib>
#include <string>
#include <string_view>

#include <simclr/error.hpp>

// The x86-64 kernels are written with per-function `target` attributes (GCC and Clang), so they
// are compiled whatever -m flags the including project uses; nvcc never sees them.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__CUDACC__)
#define SIMCLR_X86_KERNELS 1
#else
#define SIMCLR_X86_KERNELS 0
#endif

namespace simclr {

/// The instruction sets the CPU kernels have a path for. `generic` is portable C++ (Eigen and
/// loops the compiler vectorises with the host project's flags); `avx2` needs AVX2 + FMA,
/// `avx512` AVX-512 F/BW/DQ/VL (x86-64). Ordered: a CPU that runs one runs every x86 one before it.
enum class cpu_isa { generic, avx2, avx512 };

/// The name used by SIMCLR_CPU_ISA and in messages: "generic", "avx2", "avx512".
[[nodiscard]] constexpr std::string_view to_string(cpu_isa isa) noexcept {
  switch (isa) {
    case cpu_isa::avx2:
      return "avx2";
    case cpu_isa::avx512:
      return "avx512";
    default:
      return "generic";
  }
}

/// Every path, generic first.
inline constexpr std::array<cpu_isa, 3> all_cpu_isas{cpu_isa::generic, cpu_isa::avx2,
                                                     cpu_isa::avx512};

/// Whether this CPU (and this build: x86-64 with GCC or Clang) can run `isa`'s kernels.
[[nodiscard]] inline bool cpu_supports(cpu_isa isa) noexcept {
  switch (isa) {
    case cpu_isa::generic:
      return true;
#if SIMCLR_X86_KERNELS
    case cpu_isa::avx2: {
      static const bool has =
          __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
      return has;
    }
    case cpu_isa::avx512: {
      // F, BW, DQ and VL: every AVX-512 CPU since Skylake-SP (the kernels use F; the compiler may
      // use the others in loops compiled for this path).
      static const bool has =
          __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
          __builtin_cpu_supports("avx512dq") != 0 && __builtin_cpu_supports("avx512vl") != 0 &&
          cpu_supports(cpu_isa::avx2);
      return has;
    }
#endif
    default:
      return false;
  }
}

/// The fastest path this CPU runs.
[[nodiscard]] inline cpu_isa best_cpu_isa() noexcept {
  for (auto it = all_cpu_isas.rbegin(); it != all_cpu_isas.rend(); ++it)
    if (cpu_supports(*it)) return *it;
  return cpu_isa::generic;
}

/// `text` as a cpu_isa ("generic", "avx2", "avx512", or "native" = best_cpu_isa()); a
/// value_error naming `what` (the variable or option it came from) otherwise, or when this CPU
/// cannot run it.
[[nodiscard]] inline cpu_isa parse_cpu_isa(std::string_view text,
                                           std::string_view what = "SIMCLR_CPU_ISA") {
  const std::string where = "simclr: " + std::string(what) + " is '" + std::string(text) + "'";
  if (text == "native") return best_cpu_isa();
  for (cpu_isa isa : all_cpu_isas) {
    if (text != to_string(isa)) continue;
    if (!cpu_supports(isa))
      throw value_error(where + ", but this CPU does not run it (the best it runs is '" +
                        std::string(to_string(best_cpu_isa())) + "')");
    return isa;
  }
  throw value_error(where + ", expected one of generic, avx2, avx512, native");
}

namespace detail {
inline cpu_isa cpu_isa_from_environment() {
  const char* s = std::getenv("SIMCLR_CPU_ISA");
  if (s == nullptr || *s == '\0') return best_cpu_isa();
  return parse_cpu_isa(s);
}
/// The process-wide choice (every thread's kernels follow it), read from the environment on
/// first use.
inline std::atomic<cpu_isa>& active_cpu_isa() {
  static std::atomic<cpu_isa> isa{cpu_isa_from_environment()};
  return isa;
}
}  // namespace detail

/// The path the CPU kernels take now: SIMCLR_CPU_ISA if set (checked on first use: a value this
/// CPU cannot run is a value_error), else the fastest this CPU runs; changed by set_cpu_isa.
[[nodiscard]] inline cpu_isa current_cpu_isa() {
  return detail::active_cpu_isa().load();
}

/// Makes every CPU kernel started afterwards, on any thread, take `isa`'s path (value_error if
/// this CPU cannot run it). Meant for tests and benchmarks; results agree across paths within
/// float rounding (the GEMM tiles of avx2 and avx512 bit for bit).
inline void set_cpu_isa(cpu_isa isa) {
  if (!cpu_supports(isa))
    throw value_error("simclr: set_cpu_isa(" + std::string(to_string(isa)) +
                      "): this CPU does not run it (the best it runs is '" +
                      std::string(to_string(best_cpu_isa())) + "')");
  detail::active_cpu_isa().store(isa);
}

/// set_cpu_isa for a scope; the previous path comes back at its end.
class cpu_isa_scope {
 public:
  explicit cpu_isa_scope(cpu_isa isa) : previous_(current_cpu_isa()) { set_cpu_isa(isa); }
  ~cpu_isa_scope() { detail::active_cpu_isa().store(previous_); }
  cpu_isa_scope(const cpu_isa_scope&) = delete;
  cpu_isa_scope& operator=(const cpu_isa_scope&) = delete;

 private:
  cpu_isa previous_;
};

}  // namespace simclr
