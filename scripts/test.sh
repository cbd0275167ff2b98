#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, configures, builds (tests, examples,
# CUDA code when nvcc is present) and runs CTest. CUDA tests report "skipped" without a GPU.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
build="$("$root/scripts/configure.sh" -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_BUILD_EXAMPLES=ON)"
start=$(date +%s)
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}"
echo "simclr: build took $(( $(date +%s) - start )) s"
start=$(date +%s)
ctest --test-dir "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --output-on-failure --timeout 600 "$@"
echo "simclr: tests took $(( $(date +%s) - start )) s"
