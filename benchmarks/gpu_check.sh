#!/usr/bin/env bash
# One-shot GPU check: builds every CUDA target for Hopper (sm_90) plus portable PTX, runs all
# CUDA tests and the CUDA example, and prints a short report. Meant for a GPU machine with
# minutes of time: it fails fast and says where. Usage: benchmarks/gpu_check.sh [build-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-gpu}"
t0=$(date +%s)
step() { echo; echo "== [$(( $(date +%s) - t0 ))s] $*"; }

step "machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"
nvcc="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
[ -x "$nvcc" ] || { echo "FAIL: no nvcc at $nvcc (set CUDACXX)"; exit 1; }
"$nvcc" --version | tail -n 2

step "dependencies"
"$root/scripts/deps.sh"

step "configure ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSIMCLR_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
  "-DCMAKE_CUDA_ARCHITECTURES=90-real;80-virtual" \
  -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_BUILD_EXAMPLES=ON >/dev/null

step "build CUDA targets"
cmake --build "$build" -j "$(nproc)" --target test_cuda cuda_quickstart simclr_cuda_header_check

step "CUDA tests"
set +e
"$build/tests/test_cuda"
rc=$?
set -e
if [ $rc -eq 77 ]; then echo "FAIL: CUDA tests skipped — no usable device on this machine"; exit 1; fi
[ $rc -eq 0 ] || { echo "FAIL: CUDA tests (exit $rc)"; exit $rc; }

step "CUDA example"
"$build/examples/cuda_quickstart"

step "done: all CUDA checks passed in $(( $(date +%s) - t0 )) s"
