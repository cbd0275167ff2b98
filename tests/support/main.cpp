// doctest's main for every CPU test executable. Under SIMCLR_CPU_ISA naming a path this CPU does
// not run, the executable reports "skipped" (exit code 77) instead of failing every kernel test.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include <simclr/backend/cpu/isa.hpp>

int main(int argc, char** argv) {
  try {
    (void)simclr::current_cpu_isa();  // reads and checks SIMCLR_CPU_ISA
  } catch (const simclr::value_error& e) {
    std::fprintf(stderr, "skipped: %s\n", e.what());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
