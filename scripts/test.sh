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
# The build compiles with clang when it is installed (scripts/deps.sh installs it): the tests,
# every example and the header checks, in two thirds of g++'s time; nvcc compiles the CUDA code
# with its own host compiler, g++. Beside it, a second small build compiles the README's main
# example with g++, and the compile-fail cases run under g++ too, so the library builds with
# both compilers (docs/getting-started.md). SIMCLR_TEST_CXX=<compiler> picks the compiler of the
# main build; SIMCLR_TEST_CXX= (empty) uses CMake's default and skips the second build.
cxx="${SIMCLR_TEST_CXX-$(command -v clang++ || command -v clang++-14 || true)}"
build="$(SIMCLR_BUILD_DIR="${SIMCLR_BUILD_DIR:-$root/build-tests}" SIMCLR_BUILD_TYPE=Release \
  "$root/scripts/configure.sh" ${cxx:+"-DCMAKE_CXX_COMPILER=$cxx"} \
  -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_TEST_UNOPTIMIZED=ON \
  -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_EXAMPLES_UNOPTIMIZED=ON -DSIMCLR_EXAMPLES_ONLY= \
  "-DCMAKE_CXX_FLAGS_RELEASE=${SIMCLR_TEST_CXX_FLAGS:--O1 -DNDEBUG}" \
  "-DCMAKE_CUDA_FLAGS_RELEASE=${SIMCLR_TEST_CUDA_FLAGS:--O1 -DNDEBUG}")"
start=$(date +%s)
gxx_pid=""
if [ -n "$cxx" ] && gxx="$(command -v g++)" && [ "$(readlink -f "$gxx")" != "$(readlink -f "$(command -v "$cxx")")" ]; then
  gxx_build="$(SIMCLR_BUILD_DIR="$build-gcc" SIMCLR_BUILD_TYPE=Release \
    "$root/scripts/configure.sh" -DCMAKE_CXX_COMPILER="$gxx" -DSIMCLR_ENABLE_CUDA=OFF \
    -DSIMCLR_BUILD_TESTS=OFF -DSIMCLR_BUILD_HEADER_CHECKS=OFF -DSIMCLR_INSTALL=OFF \
    -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_EXAMPLES_UNOPTIMIZED=ON -DSIMCLR_EXAMPLES_ONLY=fmnist_simclr \
    -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG)"
  # One job beside the main build, whose output it would interleave: logged, shown on failure.
  cmake --build "$gxx_build" -j 1 >"$gxx_build/build.log" 2>&1 &
  gxx_pid=$!
fi
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}"
if [ -n "$gxx_pid" ]; then
  if ! wait "$gxx_pid"; then
    cat "$gxx_build/build.log" >&2
    echo "simclr: the main example does not build with g++ (above)" >&2
    exit 1
  fi
  echo "simclr: the main example built with g++ as well"
fi
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
