#!/usr/bin/env bash
# Configures build/ (or $SIMCLR_BUILD_DIR) with Ninja, ccache when present, and CUDA when nvcc is.
# Usage: scripts/configure.sh [extra cmake arguments]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SIMCLR_BUILD_DIR:-$root/build}"
args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${SIMCLR_BUILD_TYPE:-RelWithDebInfo}")
if command -v ccache >/dev/null 2>&1; then
  # The sloppiness lets ccache cache the test files, which use a precompiled header.
  args+=("-DCMAKE_CXX_COMPILER_LAUNCHER=env;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;ccache"
         -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake "${args[@]}" "$@" >/dev/null
echo "$build"
