#!/usr/bin/env bash
# The fmnist-r18w16 recipe side by side: simclr (examples/fmnist_simclr) and PyTorch 1.13
# (benchmarks/fmnist_recipe_torch.py) with the same epochs, subset and evaluation, one after the
# other on the same cores. Usage: benchmarks/fmnist_recipe.sh [epochs] [subset] [eval-train]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The PyTorch reference and the OpenBLAS it should run on (installed when missing, as root).
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$root/scripts/deps.sh"
epochs="${1:-1}" subset="${2:-10000}" evaltrain="${3:-10000}"
build="$root/build"
SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" -DSIMCLR_BUILD_EXAMPLES=ON \
  -DSIMCLR_BUILD_TESTS=OFF "-DCMAKE_CXX_FLAGS=-march=native" >/dev/null
cmake --build "$build" --target fmnist_simclr -j 2 >/dev/null
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/examples/fmnist_simclr" --recipe fmnist-r18w16 --epochs "$epochs" --subset "$subset" --eval-train "$evaltrain" \
  --out "$build/fmnist-recipe-$epochs"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 \
  "$root/benchmarks/fmnist_recipe_torch.py" --epochs "$epochs" --subset "$subset" --eval-train "$evaltrain"
