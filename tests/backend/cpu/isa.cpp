// Tests of the CPU instruction-set choice: detection, SIMCLR_CPU_ISA's parsing and errors, and
// set_cpu_isa / cpu_isa_scope.
#include <simclr/backend/cpu/isa.hpp>

#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("cpu_isa: names round-trip, the best path is supported, the order holds") {
  MESSAGE("best path on this CPU: " << std::string(to_string(best_cpu_isa()))
                                    << ", in use: " << std::string(to_string(current_cpu_isa())));
  CHECK(cpu_supports(cpu_isa::generic));
  CHECK(cpu_supports(best_cpu_isa()));
  for (cpu_isa isa : all_cpu_isas) {
    CHECK(to_string(isa).size() > 0);
    if (cpu_supports(isa)) CHECK(parse_cpu_isa(to_string(isa)) == isa);
  }
  CHECK(parse_cpu_isa("native") == best_cpu_isa());
  // A CPU that runs avx512 runs avx2: the ladder the dispatch relies on.
  if (cpu_supports(cpu_isa::avx512)) CHECK(cpu_supports(cpu_isa::avx2));
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
  CHECK(cpu_supports(cpu_isa::avx2));  // compiled for AVX2, so running on it
#endif
}

TEST_CASE("cpu_isa: bad values name the variable, the value and what is accepted") {
  try {
    (void)parse_cpu_isa("avx3");
    FAIL("no error");
  } catch (const value_error& e) {
    const std::string m = e.what();
    CHECK(m.find("SIMCLR_CPU_ISA") != std::string::npos);
    CHECK(m.find("'avx3'") != std::string::npos);
    CHECK(m.find("generic, avx2, avx512, native") != std::string::npos);
  }
  CHECK_THROWS_AS((void)parse_cpu_isa("", "--isa"), value_error);
  CHECK_THROWS_AS((void)parse_cpu_isa("AVX2"), value_error);  // names are lower case
  for (cpu_isa isa : all_cpu_isas) {
    if (cpu_supports(isa)) continue;
    CHECK_THROWS_WITH_AS((void)parse_cpu_isa(to_string(isa)),
                         doctest::Contains("this CPU does not run it"), value_error);
    CHECK_THROWS_AS(set_cpu_isa(isa), value_error);
  }
}

TEST_CASE("cpu_isa: the environment variable, and a scope that restores the previous path") {
  const cpu_isa before = current_cpu_isa();
  {
    cpu_isa_scope generic(cpu_isa::generic);
    CHECK(current_cpu_isa() == cpu_isa::generic);
    {
      cpu_isa_scope best(best_cpu_isa());
      CHECK(current_cpu_isa() == best_cpu_isa());
    }
    CHECK(current_cpu_isa() == cpu_isa::generic);
  }
  CHECK(current_cpu_isa() == before);
  // What the first kernel call reads: unset or empty means the best path.
  const char* saved = std::getenv("SIMCLR_CPU_ISA");
  const std::string keep = saved != nullptr ? saved : "";
  ::setenv("SIMCLR_CPU_ISA", "generic", 1);
  CHECK(detail::cpu_isa_from_environment() == cpu_isa::generic);
  ::setenv("SIMCLR_CPU_ISA", "", 1);
  CHECK(detail::cpu_isa_from_environment() == best_cpu_isa());
  ::setenv("SIMCLR_CPU_ISA", "fast", 1);
  CHECK_THROWS_WITH_AS((void)detail::cpu_isa_from_environment(),
                       doctest::Contains("SIMCLR_CPU_ISA is 'fast'"), value_error);
  if (saved != nullptr) {
    ::setenv("SIMCLR_CPU_ISA", keep.c_str(), 1);
  } else {
    ::unsetenv("SIMCLR_CPU_ISA");
  }
}
