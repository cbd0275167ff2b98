#!/usr/bin/env bash
# One-shot GPU check: builds every CUDA target for Hopper (sm_90) plus portable PTX, runs all
# CUDA tests (and the NCCL communicator's, when NCCL is there) and the CUDA example, then benchmarks a SimCLR training step of ResNet-18 (CIFAR
# stem, 32×32, 1024 views) and NT-Xent at 2N = 8192 next to PyTorch on the same GPU (float32,
# then TF32, then the step in bf16 mixed precision; the step again with cuDNN's algorithms
# timed), printing views/s, ms and the ratios. Meant
# for a GPU machine with minutes of time (the whole run stays under 8 minutes on an H200): a
# missing tool or dependency, a configure or build error stops it at once and says where; a
# failing test, example or benchmark is recorded and the rest still runs (with a memcheck of the
# tests up to the first failure), then the summary lists every failure and exits 1.
# Usage: benchmarks/gpu_check.sh [build-dir]     SIMCLR_GPU_CHECK_BENCH=0 skips the benchmarks.
# On a machine that cannot reach a package mirror (this workplace's GPU machines), first run
# benchmarks/gpu_deps.sh where one is reachable and carry the .gpu-deps folder it fills.
# Or build the three programs where the compilers and packages are (benchmarks/gpu_prebuild.sh
# fills .gpu-bin) and run them on the GPU machine with SIMCLR_GPU_CHECK_PREBUILT=1:
#   SIMCLR_GPU_CHECK_PREBUILT=1 benchmarks/gpu_check.sh .gpu-bin
# which skips the dependencies, configure and build steps (minutes of GPU-machine time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-gpu}"
t0=$(date +%s)
step() { echo; echo "== [$(( $(date +%s) - t0 ))s] $*"; }

step "machine"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"
prebuilt="${SIMCLR_GPU_CHECK_PREBUILT:-0}"
if [ "$prebuilt" != 0 ]; then
  for exe in tests/test_cuda examples/cuda_quickstart benchmarks/bench_cuda; do
    [ -x "$build/$exe" ] || { echo "FAIL: SIMCLR_GPU_CHECK_PREBUILT is set but $build/$exe is missing (run benchmarks/gpu_prebuild.sh)"; exit 1; }
  done
  cat "$build/BUILT" 2>/dev/null || true
  . "$root/benchmarks/gpu_libs.sh"
  gpu_libs_resolve "$build/tests/test_cuda" "$build/benchmarks/bench_cuda" ||
    { echo "FAIL: the prebuilt programs need libraries this machine lacks"; exit 1; }
  echo "prebuilt programs in $build: no dependencies, configure or build step"
else
nvcc="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
[ -x "$nvcc" ] || nvcc="$(command -v nvcc || echo "$nvcc")"
[ -x "$nvcc" ] || { echo "FAIL: no nvcc at $nvcc (set CUDACXX)"; exit 1; }
"$nvcc" --version | tail -n 2

step "dependencies"
# A GPU machine without a package mirror: benchmarks/gpu_deps.sh, run where one is reachable,
# left the .deb files in .gpu-deps (carried with the tree); unpack them into a private prefix
# and point CMake, the compilers and the linker at it. Otherwise install what is missing.
debs=("$root"/.gpu-deps/*.deb)
if [ -e "${debs[0]}" ]; then
  prefix="${SIMCLR_DEPS_PREFIX:-/tmp/simclr-deps}"
  mkdir -p "$prefix"
  for f in "${debs[@]}"; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$f" "$prefix"
    else  # no dpkg: a .deb is an ar archive around data.tar.*
      member="$(ar t "$f" | grep '^data\.tar')"
      ar p "$f" "$member" | tar -x -a -f - -C "$prefix" 2>/dev/null ||
        ar p "$f" "$member" | tar -x -J -f - -C "$prefix"
    fi
  done
  # Absolute links (libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) point into the prefix.
  while IFS= read -r link; do
    target="$(readlink "$link")"
    case "$target" in /*) [ -e "$prefix$target" ] && ln -sfn "$prefix$target" "$link" ;; esac
  done < <(find "$prefix" -type l)
  export CMAKE_PREFIX_PATH="$prefix/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export CPATH="$prefix/usr/include${CPATH:+:$CPATH}"
  for lib in "$prefix/usr/lib/x86_64-linux-gnu" "$prefix/lib/x86_64-linux-gnu"; do
    export LIBRARY_PATH="$lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
  done
  echo "unpacked ${#debs[@]} packages from .gpu-deps into $prefix"
  command -v cmake >/dev/null || { echo "FAIL: no cmake on this machine"; exit 1; }
  command -v ninja >/dev/null || { echo "FAIL: no ninja on this machine"; exit 1; }
else
  "$root/scripts/deps.sh" || {
    echo "FAIL: dependencies (no package mirror? run benchmarks/gpu_deps.sh where one is"
    echo "      reachable and carry .gpu-deps with the tree)"; exit 1; }
fi
command -v "${CXX:-c++}" >/dev/null || { echo "FAIL: no host C++ compiler ${CXX:-c++} (nvcc needs one)"; exit 1; }
"${CXX:-c++}" --version | head -n 1 || true

step "configure ($build)"
configure_log="$(mktemp)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSIMCLR_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
  "-DCMAKE_CUDA_ARCHITECTURES=90-real;80-virtual" \
  -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_BUILD_BENCHMARKS=ON \
  >"$configure_log" 2>&1 || { cat "$configure_log"; echo "FAIL: configure"; exit 1; }
rm -f "$configure_log"

step "build CUDA targets"
# (The header self-checks, simclr_cuda_header_check, compile in CI; no device time for them.)
cmake --build "$build" -j "$(nproc)" --target test_cuda cuda_quickstart bench_cuda
# nccl_communicator's tests, when CMake found NCCL beside the toolkit.
if cmake --build "$build" --target help | grep -q '^test_nccl:'; then
  cmake --build "$build" -j "$(nproc)" --target test_nccl
fi
fi

# From here on a failing test, example or benchmark is recorded and the script goes on, so one
# run on a scarce GPU still gives every number it can; it exits 1 at the end if anything failed.
failures=()

step "CUDA tests"
set +e
timeout 300 "$build/tests/test_cuda"
rc=$?
set -e
if [ $rc -eq 77 ]; then echo "FAIL: CUDA tests skipped — no usable device on this machine"; exit 1; fi
if [ $rc -ne 0 ]; then
  failures+=("CUDA tests (exit $rc)")
  echo "FAIL: CUDA tests (exit $rc); going on to the example and the benchmarks"
  if command -v compute-sanitizer >/dev/null; then
    step "memcheck of the CUDA tests up to the first failure (90-second cap)"
    timeout 90 compute-sanitizer --tool memcheck --print-limit 10 \
      "$build/tests/test_cuda" --abort-after=1 || true
  fi
fi

if [ -x "$build/tests/test_nccl" ]; then
  step "NCCL tests (nccl_communicator, a group of one on one GPU)"
  if [ "$prebuilt" != 0 ] && ! gpu_libs_resolve "$build/tests/test_nccl"; then
    failures+=("NCCL tests: libnccl not found on this machine")
    echo "FAIL: NCCL tests: the NCCL library is missing here; going on"
  else
    set +e
    # A hang ends as simclr's named distributed_error (60 s collective timeout) with NCCL's
    # warnings, inside the 120 s kill.
    timeout 120 env SIMCLR_COLLECTIVE_TIMEOUT=60 NCCL_DEBUG="${NCCL_DEBUG:-WARN}" "$build/tests/test_nccl"
    rc=$?
    set -e
    [ $rc -eq 0 ] || { failures+=("NCCL tests (exit $rc)"); echo "FAIL: NCCL tests (exit $rc); going on"; }
  fi
fi

step "CUDA example"
timeout 120 "$build/examples/cuda_quickstart" || failures+=("CUDA example (exit $?)")

if [ "${SIMCLR_GPU_CHECK_BENCH:-1}" != 0 ]; then
  step "benchmarks: simclr vs PyTorch on this GPU"
  python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "FAIL: python3 cannot import torch with CUDA (the comparison needs PyTorch)"
         failures+=("PyTorch with CUDA not importable"); }
  results="$(mktemp)"
  # bench <label> <command...>: runs one benchmark (2-minute cap), echoes it, keeps its results.
  bench() {
    local label="$1"; shift
    local out
    out="$(timeout 120 "$@" 2>&1)" || {
      echo "$out"; echo "FAIL: benchmark '$label' ($*)"; failures+=("benchmark $label: $*"); return 0; }
    echo "$out" | grep -v '^result ' || true  # grep fails when every line is a result
    echo "$out" | awk -v l="$label" '/^result /{print l, $2, $3}' >>"$results"
  }
  for prec in fp32 tf32; do
    flag=""; [ "$prec" = tf32 ] && flag="--tf32"
    bench "$prec" "$build/benchmarks/bench_cuda" step 1024 10 --precision "$prec"
    bench "$prec" python3 "$root/benchmarks/cuda_torch.py" step 1024 10 $flag
    bench "$prec" "$build/benchmarks/bench_cuda" nt_xent 8192 20 --precision "$prec"
    bench "$prec" python3 "$root/benchmarks/cuda_torch.py" nt_xent 8192 20 $flag
  done
  # bf16: simclr's GEMM inputs in bf16 vs PyTorch's autocast (the loss is float in both).
  bench bf16 "$build/benchmarks/bench_cuda" step 1024 10 --precision bf16
  bench bf16 python3 "$root/benchmarks/cuda_torch.py" step 1024 10 --bf16
  # cuDNN algorithms timed (SIMCLR_CUDNN_BENCHMARK=1, PyTorch's cudnn.benchmark) instead of
  # chosen by its heuristics (the default, reproducible across processes): docs/cuda.md.
  for prec in fp32 tf32 bf16; do
    bench "$prec-timed" env SIMCLR_CUDNN_BENCHMARK=1 "$build/benchmarks/bench_cuda" step 1024 10 --precision "$prec"
  done
  bench fp32 "$build/benchmarks/bench_cuda" augment 1024 10
  step "summary (ratio > 1: simclr faster)"
  awk '{v[$1" "$2]=$3}
       END {
         for (p = 1; p <= 2; p++) {
           prec = p == 1 ? "fp32" : "tf32"
           s = v[prec" simclr_step_views_per_s"]; t = v[prec" torch_step_views_per_s"]
           a = v[prec" simclr_nt_xent_ms"]; b = v[prec" torch_nt_xent_ms"]
           printf "%s  ResNet-18 step, 1024 views: simclr %8.0f views/s  torch %8.0f views/s  ratio %.2f\n", prec, s, t, (t > 0 ? s / t : 0)
           printf "%s  NT-Xent fwd+bwd, 2N = 8192: simclr %8.3f ms       torch %8.3f ms       ratio %.2f\n", prec, a, b, (a > 0 ? b / a : 0)
         }
         s = v["bf16 simclr_step_views_per_s"]; t = v["bf16 torch_step_views_per_s"]
         printf "bf16  ResNet-18 step, 1024 views: simclr %8.0f views/s  torch %8.0f views/s  ratio %.2f (torch: autocast)\n", s, t, (t > 0 ? s / t : 0)
         for (p = 1; p <= 3; p++) {
           prec = p == 1 ? "fp32" : p == 2 ? "tf32" : "bf16"
           s = v[prec"-timed simclr_step_views_per_s"]; t = v[prec" torch_step_views_per_s"]
           printf "%s  ResNet-18 step, cuDNN algorithms timed (SIMCLR_CUDNN_BENCHMARK=1): simclr %8.0f views/s  ratio %.2f\n", prec, s, (t > 0 ? s / t : 0)
         }
         printf "device augmentation (two_views): CIFAR policy 32 px %10.0f views/s, ImageNet policy 224 px %8.0f views/s\n", v["fp32 simclr_augment_cifar_views_per_s"], v["fp32 simclr_augment_imagenet_views_per_s"]
       }' "$results"
  rm -f "$results"
fi

if [ ${#failures[@]} -gt 0 ]; then
  step "FAILED after $(( $(date +%s) - t0 )) s:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
step "done: all CUDA checks passed in $(( $(date +%s) - t0 )) s"
