#!/usr/bin/env bash
# Fetches the .deb files of the build's library dependencies (header-only libraries, zlib) into
# .gpu-deps/ (ignored by git), for a GPU machine that cannot reach a package mirror: carry
# .gpu-deps with the working tree and benchmarks/gpu_check.sh unpacks them into a private
# prefix (dpkg-deb -x, nothing installed system-wide) instead of running scripts/deps.sh.
# Run it where Debian's mirrors are reachable (this development machine, CI). ~4 MB.
# Usage: benchmarks/gpu_deps.sh [dest-dir]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/.gpu-deps}"
# What the CUDA targets, the tests' configure step and the examples need, besides the
# compilers, CMake and ninja (the GPU machine has those).
packages=(
  libeigen3-dev libxtensor-dev xtl-dev doctest-dev libstb-dev nlohmann-json3-dev
  libcli11-dev liblbfgspp-dev zlib1g-dev zlib1g libpng-dev libpng16-16 libturbojpeg0-dev
  libturbojpeg0
)
command -v apt-get >/dev/null || { echo "gpu_deps: needs apt-get (a Debian or Ubuntu machine)" >&2; exit 1; }
mkdir -p "$dest"
rm -f "$dest"/*.deb
# apt-get download writes into the current folder; as root it warns that _apt cannot write
# there, which is harmless.
(cd "$dest" && apt-get download "${packages[@]}" 2>&1 | grep -v "^W: Download is performed unsandboxed") ||
  { echo "gpu_deps: apt-get download failed (run 'apt-get update' first?)" >&2; exit 1; }
n=$(ls "$dest"/*.deb | wc -l)
[ "$n" -eq "${#packages[@]}" ] || { echo "gpu_deps: got $n of ${#packages[@]} packages in $dest" >&2; exit 1; }
echo "gpu_deps: $n packages, $(du -sh "$dest" | cut -f1), in $dest — carry it: run(carry=[\"${dest#"$root"/}\"], ...)"
