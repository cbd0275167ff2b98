#!/usr/bin/env bash
# Builds the programs benchmarks/gpu_check.sh runs (test_cuda, cuda_quickstart, bench_cuda,
# and test_nccl when NCCL is found) here, for Hopper (sm_90) plus portable PTX, and copies them into .gpu-bin/
# (ignored by git) in the layout gpu_check.sh expects. Carry .gpu-bin to a GPU machine and run
#   SIMCLR_GPU_CHECK_PREBUILT=1 benchmarks/gpu_check.sh .gpu-bin
# there: no compiler, packages or build time needed on the GPU machine, whose minutes are scarce.
# The programs link the CUDA runtime, cuBLAS and cuDNN dynamically (the CUDA toolkit's or
# PyTorch's nvidia-* wheels' there) and, with --as-needed, no library they never call.
# Usage: benchmarks/gpu_prebuild.sh [build-dir (build-gpu)] [dest (.gpu-bin)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-gpu}"
dest="${2:-$root/.gpu-bin}"
nvcc="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
[ -x "$nvcc" ] || nvcc="$(command -v nvcc || echo "$nvcc")"
[ -x "$nvcc" ] || { echo "gpu_prebuild: no nvcc at $nvcc (set CUDACXX)" >&2; exit 1; }
"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSIMCLR_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc" \
  "-DCMAKE_CUDA_ARCHITECTURES=90-real;80-virtual" \
  -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_BUILD_EXAMPLES=ON -DSIMCLR_BUILD_BENCHMARKS=ON \
  "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed" >/dev/null  # no libpng, libjpeg-turbo ... it never calls
programs=(tests/test_cuda examples/cuda_quickstart benchmarks/bench_cuda)
# test_nccl (nccl_communicator on one GPU) exists when NCCL was found beside the toolkit.
cmake --build "$build" --target help | grep -q '^test_nccl:' && programs+=(tests/test_nccl)
cmake --build "$build" -j "$(nproc)" --target "${programs[@]##*/}"
rm -rf "$dest"
mkdir -p "$dest/tests" "$dest/examples" "$dest/benchmarks"
for exe in "${programs[@]}"; do
  cp "$build/$exe" "$dest/$exe"
  strip --strip-debug "$dest/$exe"
done
{ echo "built $(date -u +%FT%TZ) from $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')" \
       "with $("$nvcc" --version | tail -n 1) and $(${CXX:-c++} --version | head -n 1)"; } >"$dest/BUILT"
cat "$dest/BUILT"
echo "gpu_prebuild: $(du -sh "$dest" | cut -f1) in $dest — carry it: run(carry=[\"${dest#"$root"/}\"]," \
     "command=\"SIMCLR_GPU_CHECK_PREBUILT=1 benchmarks/gpu_check.sh ${dest#"$root"/}\")"
