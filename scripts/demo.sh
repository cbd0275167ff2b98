#!/usr/bin/env bash
# The main job: installs missing Debian packages (Fashion-MNIST among them), builds the examples
# optimised for this machine and trains SimCLR on Fashion-MNIST (recipe fmnist-r18w16-stages), then
# prints linear-eval and kNN accuracy next to a random encoder and raw pixels, and writes the
# pictures. Arguments go to the example, e.g. scripts/demo.sh --epochs 5 --subset 0
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
build="$(SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" -DSIMCLR_BUILD_EXAMPLES=ON \
  -DSIMCLR_BUILD_TESTS=OFF "-DCMAKE_CXX_FLAGS=-march=native")"
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --target fmnist_simclr
"$build/examples/fmnist_simclr" "$@"
