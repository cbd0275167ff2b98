#!/usr/bin/env bash
# Side by side: one encoder training step in simclr and in PyTorch 1.13 on the same cores.
# Usage: benchmarks/encoder.sh [build-dir]   (builds bench_encoder in Release with -march=native)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The PyTorch reference and the OpenBLAS it should run on (installed when missing, as root).
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$root/scripts/deps.sh"
build="${1:-$root/build-bench}"
SIMCLR_BUILD_DIR="$build" SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" \
  -DSIMCLR_BUILD_BENCHMARKS=ON -DSIMCLR_ENABLE_CUDA=OFF >/dev/null
cmake --build "$build" --target bench_encoder -j 2 >/dev/null
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for model in fmnist r18; do
  "$build/benchmarks/bench_encoder" "$model"
  # PyTorch's OpenBLAS runs its AVX-512 kernels only with these two unset (benchmark only).
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$root/benchmarks/encoder_torch.py" "$model"
done
