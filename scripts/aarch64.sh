#!/usr/bin/env bash
# The CPU kernel tests on aarch64: cross-compiled with Debian's g++-aarch64-linux-gnu and run
# under qemu-aarch64 (qemu-user), both installed when missing. An ARM CPU takes the generic path
# (the simd<T> loops on NEON, aarch64's baseline, and Eigen's NEON products), so this runs every
# kernel test on that path as compiled for ARM, and shows that no x86 intrinsic leaks out of
# its #if. Each area is one translation unit (as the unity build), header-only dependencies only.
# Usage: scripts/aarch64.sh [area ...]   (default: backend ops nn encoders head loss augment)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SIMCLR_EXTRA_PACKAGES="g++-aarch64-linux-gnu qemu-user" "$root/scripts/deps.sh"
build="${SIMCLR_AARCH64_BUILD_DIR:-$root/build-aarch64}"
areas=("$@")
[ ${#areas[@]} -gt 0 ] || areas=(backend ops nn encoders head loss augment)
cxx=(aarch64-linux-gnu-g++ -std=c++20 -O1 -DNDEBUG -Wall -Wextra -Wno-psabi -Werror=return-type
     -I "$root/include" -I "$root/tests" -isystem /usr/include/eigen3 -isystem "$build/include"
     "-DSIMCLR_LOSS_FIXTURES=\"$root/tests/fixtures/loss\""
     "-DSIMCLR_OPTIM_FIXTURES=\"$root/tests/fixtures/optim\"")
# The header-only test dependencies, without the rest of /usr/include (x86-64's).
mkdir -p "$build/include"
ln -sfn /usr/include/doctest "$build/include/doctest"
ln -sfn /usr/include/nlohmann "$build/include/nlohmann"

start=$(date +%s)
"${cxx[@]}" -c "$root/tests/support/main.cpp" -o "$build/main.o"
jobs=()
for area in "${areas[@]}"; do
  unity="$build/test_$area.cpp"
  : >"$unity"
  for f in "$root/tests/$area"/*.cpp "$root/tests/$area"/cpu/*.cpp; do
    [ -e "$f" ] && echo "#include \"$f\"" >>"$unity"
  done
  "${cxx[@]}" "$unity" "$build/main.o" -o "$build/test_$area" -pthread &
  jobs+=($!)
  # Two compiles at a time (each needs ~1 GiB).
  if [ ${#jobs[@]} -ge "${SIMCLR_JOBS:-2}" ]; then
    wait "${jobs[0]}"
    jobs=("${jobs[@]:1}")
  fi
done
for j in "${jobs[@]}"; do wait "$j"; done
echo "simclr: aarch64 build took $(( $(date +%s) - start )) s"

start=$(date +%s)
failed=()
for area in "${areas[@]}"; do
  echo "== aarch64 (qemu): test_$area"
  if ! qemu-aarch64 -L /usr/aarch64-linux-gnu "$build/test_$area" --minimal; then
    failed+=("$area")
  fi
done
echo "simclr: aarch64 tests took $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "simclr: aarch64 tests failed: ${failed[*]}" >&2
  exit 1
fi
