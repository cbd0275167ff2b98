#!/usr/bin/env bash
# Fuzzing and sanitizers: builds, with clang and ASan + UBSan (-fno-sanitize-recover), the
# libFuzzer targets of tests/fuzz/ and the I/O, data, parallel and training tests; runs those
# tests, then each fuzzer on its seed corpus plus fresh inputs for SECONDS (default 20). New
# inputs go to a scratch folder, never into the committed corpus; a crash leaves its input in
# $SIMCLR_FUZZ_ARTIFACTS (default build-fuzz/artifacts) and fails the script.
# Usage: scripts/fuzz.sh [SECONDS] [target ...]    e.g. scripts/fuzz.sh 600 image   (a campaign)
#        SIMCLR_FUZZ_TESTS=0 skips the sanitizer test run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
shift || true
build="${SIMCLR_FUZZ_BUILD_DIR:-$root/build-fuzz}"
cxx="${SIMCLR_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
[ -n "$cxx" ] || { echo "fuzz.sh: no clang++ (Debian: clang libclang-rt-14-dev)" >&2; exit 1; }
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
SIMCLR_BUILD_DIR="$build" SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" \
  -DCMAKE_CXX_COMPILER="$cxx" -DSIMCLR_ENABLE_CUDA=OFF -DSIMCLR_BUILD_FUZZERS=ON \
  -DSIMCLR_BUILD_TESTS=ON -DSIMCLR_BUILD_EXAMPLES=OFF -DSIMCLR_INSTALL=OFF \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1 -DNDEBUG $san" "-DCMAKE_EXE_LINKER_FLAGS=$san" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
# The list once, then matched here: `ninja ... | grep -q` under pipefail fails whenever grep
# stops reading before ninja has written everything (SIGPIPE), which dropped targets at random.
all_targets="$(ninja -C "$build" -t targets all 2>/dev/null)"
build_targets=()
for t in "${targets[@]}"; do
  if grep -q "^fuzz_$t:" <<<"$all_targets"; then
    build_targets+=("fuzz_$t")
  else
    echo "fuzz.sh: no target fuzz_$t in this build (libarchive missing for 'archive'?)" >&2
  fi
done
tests=(test_io test_data test_parallel test_train)
[ "${SIMCLR_FUZZ_TESTS:-1}" = 0 ] && tests=()
start=$(date +%s)
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --target "${build_targets[@]}" "${tests[@]}"
echo "fuzz.sh: sanitizer build took $(( $(date +%s) - start )) s"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
if [ ${#tests[@]} -gt 0 ]; then
  start=$(date +%s)
  ctest --test-dir "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --output-on-failure --timeout 600 \
    -R '^(io|data|parallel|train):'
  echo "fuzz.sh: the I/O, data, parallel and training tests ran clean under ASan + UBSan in $(( $(date +%s) - start )) s"
fi
artifacts="${SIMCLR_FUZZ_ARTIFACTS:-$build/artifacts}"
mkdir -p "$artifacts"
# One fuzzer per core at a time; each writes its log, then the results are reported in order.
run_one() {
  local t="$1" name="${1#fuzz_}" scratch
  scratch="$(mktemp -d)"
  # libFuzzer writes new inputs into the first folder; the seeds are read from the second.
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/$t-" -print_final_stats=1 \
    "$scratch" "$root/tests/fuzz/corpus/$name" >"$build/$t.log" 2>&1
  echo $? >"$build/$t.rc"
  ls "$scratch" | wc -l >"$build/$t.new"
  rm -rf "$scratch"
}
jobs_max="${SIMCLR_JOBS:-$(nproc)}"
for t in "${build_targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do sleep 1; done
  run_one "$t" &
done
wait
failed=0
for t in "${build_targets[@]}"; do
  if [ "$(cat "$build/$t.rc")" != 0 ]; then
    tail -n 60 "$build/$t.log"
    echo "fuzz.sh: $t FAILED; the input is in $artifacts" >&2
    failed=1
    continue
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.log" | grep -o '[0-9]*$' || echo '?')"
  cov="$(grep -o 'cov: [0-9]*' "$build/$t.log" | tail -n 1 || true)"
  echo "fuzz.sh: $t: $runs executions in $seconds s, nothing found ($cov; $(cat "$build/$t.new") new inputs)"
done
exit $failed
