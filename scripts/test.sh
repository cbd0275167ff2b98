#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, configures, builds (tests, examples,
# CUDA code when nvcc is present) and runs CTest — CUDA tests report "skipped" without a GPU —
# then scripts/aarch64.sh (the kernel tests on aarch64 under qemu) and scripts/fuzz.sh: the fuzz targets for 20 s each and a sanitizer build of the I/O, data,
# parallel and training tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
# Tests build at -O1 without debug info: half the compile time of -O2 -g for these
# template-heavy files, and fast enough to run (override with SIMCLR_TEST_CXX_FLAGS); the CUDA
# files' host code likewise (device code is optimised as always); the test executables that run
# in seconds anyway build at -O0 (SIMCLR_TEST_UNOPTIMIZED). The examples are only compiled and
# linked here, at -O0; tests/CMakeLists.txt compiles test files in unity batches.
# With clang present, this build compiles only the README's main example (and the CUDA one), and
# a second build with clang compiles every C++ example and the .hpp self-containment checks:
# clang's front end does both in 2.4x and 1.6x less time than g++'s, and the whole library then
# builds with both compilers (docs/getting-started.md). SIMCLR_EXAMPLES_CXX= (empty) builds
# everything here with the one compiler instead.
clangxx="${SIMCLR_EXAMPLES_CXX-$(command -v clang++ || command -v clang++-14 || true)}"
main_examples="" header_checks=ON
[ -n "$clangxx" ] && main_examples="fmnist_simclr;cuda_quickstart" header_checks=OFF
build="$(SIMCLR_BUILD_DIR="${SIMCLR_BUILD_DIR:-$root/build-tests}" SIMCLR_BUILD_TYPE=Release \
  "$root/scripts/configure.sh" -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_TEST_UNOPTIMIZED=ON \
  -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_EXAMPLES_UNOPTIMIZED=ON "-DSIMCLR_EXAMPLES_ONLY=$main_examples" \
  -DSIMCLR_BUILD_HEADER_CHECKS=$header_checks \
  "-DCMAKE_CXX_FLAGS_RELEASE=${SIMCLR_TEST_CXX_FLAGS:--O1 -DNDEBUG}" \
  "-DCMAKE_CUDA_FLAGS_RELEASE=${SIMCLR_TEST_CUDA_FLAGS:--O1 -DNDEBUG}")"
start=$(date +%s)
if [ -n "$clangxx" ]; then
  examples="$(SIMCLR_BUILD_DIR="$build-clang" SIMCLR_BUILD_TYPE=Release \
    "$root/scripts/configure.sh" -DCMAKE_CXX_COMPILER="$clangxx" -DSIMCLR_ENABLE_CUDA=OFF \
    -DSIMCLR_BUILD_TESTS=OFF -DSIMCLR_BUILD_HEADER_CHECKS=ON -DSIMCLR_INSTALL=OFF \
    -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_EXAMPLES_UNOPTIMIZED=ON -DSIMCLR_EXAMPLES_ONLY= \
    -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG)"
  cmake --build "$examples" -j "${SIMCLR_JOBS:-$(nproc)}"
  echo "simclr: the examples and the .hpp checks built with $clangxx in $(( $(date +%s) - start )) s"
fi
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}"
echo "simclr: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
ctest --test-dir "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --output-on-failure --timeout 600 "$@"
echo "simclr: tests took $(( $(date +%s) - start )) s"
# The CPU kernel tests cross-compiled for aarch64 and run under qemu-aarch64 (the generic path
# as an ARM CPU runs it, NEON). SIMCLR_AARCH64=0 skips them.
if [ "${SIMCLR_AARCH64:-1}" != 0 ]; then
  "$root/scripts/aarch64.sh"
fi
# The readers' fuzz targets and the I/O, data, parallel and training tests under ASan + UBSan
# (clang; docs/reliability.md). SIMCLR_FUZZ_SECONDS=0 skips them.
if [ "${SIMCLR_FUZZ_SECONDS:-20}" != 0 ]; then
  start=$(date +%s)
  "$root/scripts/fuzz.sh" "${SIMCLR_FUZZ_SECONDS:-20}"
  echo "simclr: fuzzing and sanitizers took $(( $(date +%s) - start )) s"
fi
