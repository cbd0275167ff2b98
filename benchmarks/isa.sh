#!/usr/bin/env bash
# Every CPU path side by side with PyTorch 1.13 pinned to the same instruction set, in one run.
#
# simclr's benchmarks are built here with plain -O2 and no -march, as a consumer project that
# does find_package(simclr) would build them: the kernels pick their instruction set at run
# time, and SIMCLR_CPU_ISA forces one. (A -march=native build cannot show the avx2 path: its
# host flags already allow AVX-512 everywhere.) PyTorch is pinned to the same path through
# oneDNN (ONEDNN_MAX_CPU_ISA), OpenBLAS (OPENBLAS_CORETYPE) and ATen (ATEN_CPU_CAPABILITY).
# Each round runs both programs back to back (odd rounds simclr first, even rounds PyTorch), rounds
# alternate the paths; the medians, the ratio of the medians and the median of the per-round
# ratios are printed per path and model.
#
# Then, per path, the encoder step's thread scaling (1 and 2 threads alternating), the
# augmentation policies (one core, views/s) next to torchvision, NT-Xent
# forward + backward (2 threads, ms) next to PyTorch, and SGEMM (GFLOP/s) next to OpenBLAS
# (bench_gemm_blas on the generic path: Eigen hands each row block to OpenBLAS, pinned to the
# same instruction set).
#
#   usage: benchmarks/isa.sh [build-dir (build-bench-o2)] [rounds (5)] [paths (all this CPU runs)]
#   SIMCLR_ISA_ENCODER_ONLY=1 stops after the encoder table (the other parts take ~5 minutes).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-bench-o2}"
rounds="${2:-5}"
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$root/scripts/deps.sh"
SIMCLR_BUILD_DIR="$build" SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" \
  -DSIMCLR_BUILD_BENCHMARKS=ON -DSIMCLR_BUILD_TESTS=OFF -DSIMCLR_BUILD_EXAMPLES=OFF \
  -DSIMCLR_ENABLE_CUDA=OFF "-DSIMCLR_BENCHMARK_FLAGS=-O2" >/dev/null
cmake --build "$build" --target bench_encoder bench_augment bench_nt_xent bench_gemm bench_gemm_blas -j 2 >/dev/null
if [ $# -ge 3 ]; then
  paths="${*:3}"
else
  paths="avx2"
  grep -qw avx512f /proc/cpuinfo && paths="avx512 avx2"
fi

# PyTorch's settings for one path (benchmark only: OPENBLAS_* never set in tests or CI).
torch_env() {
  case "$1" in
    avx512) echo "OPENBLAS_CORETYPE=SkylakeX ONEDNN_MAX_CPU_ISA=AVX512_CORE" ;;
    avx2) echo "OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2" ;;
    *) echo "OPENBLAS_CORETYPE=Prescott ONEDNN_MAX_CPU_ISA=SSE41 ATEN_CPU_CAPABILITY=default" ;;
  esac
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
  "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)," \
  "load before $(cut -d' ' -f1-3 /proc/loadavg)"
log=$(mktemp)
for r in $(seq "$rounds"); do
  for isa in $paths; do
    for model in fmnist r18; do
      run_simclr() {
        s=$(SIMCLR_CPU_ISA=$isa "$build/benchmarks/bench_encoder" "$model" | sed -n 's/.*median *\([0-9.]*\) ms.*/\1/p')
      }
      run_torch() {
        # shellcheck disable=SC2046
        t=$(env -u OPENBLAS_L2_SIZE $(torch_env "$isa") /usr/bin/python3 \
          "$root/benchmarks/encoder_torch.py" "$model" | sed -n 's/.*median *\([0-9.]*\) ms.*/\1/p')
      }
      # Odd rounds run simclr first, even rounds PyTorch: the VM's drifts hit both alike.
      if [ $((r % 2)) = 1 ]; then run_simclr; run_torch; else run_torch; run_simclr; fi
      echo "$isa $model $s $t" | tee -a "$log"
    done
  done
done
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$log" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    isa, model, s, t = line.split()
    rows.setdefault((isa, model), []).append((float(s), float(t)))
# Besides the ratio of the medians, each round's ratio (its two runs were back to back) and
# their median, which a slow phase of a shared machine moves less.
print("| path | model | simclr ms/step (runs) | PyTorch ms/step (runs) | median simclr | median PyTorch"
      " | PyTorch / simclr | per round | median of rounds |")
print("|---|---|---|---|---:|---:|---:|---|---:|")
for (isa, model), v in rows.items():
    s = [a for a, _ in v]; t = [b for _, b in v]
    ms, mt = statistics.median(s), statistics.median(t)
    per = [b / a for a, b in v]
    print(f"| {isa} | {model} | {', '.join(f'{a:.0f}' for a in s)} | {', '.join(f'{b:.0f}' for b in t)}"
          f" | {ms:.0f} | {mt:.0f} | **{mt / ms:.2f}** | {', '.join(f'{x:.2f}' for x in per)}"
          f" | **{statistics.median(per):.2f}** |")
EOF
rm -f "$log"
[ "${SIMCLR_ISA_ENCODER_ONLY:-0}" = 1 ] && exit 0

for isa in $paths; do
  echo "== $isa: encoder step, 1 against 2 threads (alternating in one process)"
  for model in fmnist r18; do
    SIMCLR_CPU_ISA=$isa "$build/benchmarks/bench_encoder" "$model" "$([ $model = fmnist ] && echo 512 || echo 128)" 5 threads
  done
  echo "== $isa: augmentation, views/s (policy on one core; two_views on 1 and 2 threads)"
  SIMCLR_CPU_ISA=$isa "$build/benchmarks/bench_augment" 15 | grep '^result' | grep -v _cpu
  # shellcheck disable=SC2046
  env -u OPENBLAS_L2_SIZE $(torch_env "$isa") /usr/bin/python3 -W ignore \
    "$root/benchmarks/augment_torchvision.py" 15 | grep '^result' | grep -v _cpu
  echo "== $isa: NT-Xent forward + backward, 2 threads, ms: five alternating pairs of runs"
  ntlog=$(mktemp)
  for r in 1 2 3 4 5; do
    run_ours() { SIMCLR_NUM_THREADS=2 SIMCLR_CPU_ISA=$isa "$build/benchmarks/bench_nt_xent" | grep '^result'; }
    # shellcheck disable=SC2046
    run_theirs() { env -u OPENBLAS_L2_SIZE $(torch_env "$isa") OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 \
      /usr/bin/python3 -W ignore "$root/benchmarks/nt_xent_torch.py" 2 | grep '^result'; }
    if [ $((r % 2)) = 1 ]; then run_ours; run_theirs; else run_theirs; run_ours; fi | sed "s/^/$r /" | tee -a "$ntlog"
  done
  # Per size: each pair's ratio PyTorch / simclr (its two runs back to back) and their median.
  /usr/bin/python3 - "$ntlog" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    r, _, name, ms = line.split()
    who, n = name.split("_")
    t.setdefault(int(n), {}).setdefault(r, {})[who] = float(ms)
for n in sorted(t):
    ratios = [p["torch"] / p["simclr"] for p in t[n].values()]
    print(f"NT-Xent 2N = {n}: PyTorch / simclr {' '.join(f'{x:.2f}' for x in ratios)},"
          f" median {statistics.median(ratios):.2f}")
EOF
  rm -f "$ntlog"
  echo "== $isa: SGEMM against OpenBLAS pinned to the same path, alternating call by call in one"
  echo "   process (bench_gemm_blas --paired: the tiles on $isa, then Eigen handing each row block to"
  echo "   OpenBLAS on the generic path); ratio = median of the per-round ratios tiles / OpenBLAS"
  for t in 1 2; do
    # shellcheck disable=SC2046
    env -u OPENBLAS_L2_SIZE $(torch_env "$isa") OPENBLAS_NUM_THREADS=1 SIMCLR_NUM_THREADS=$t \
      taskset -c "0-$((t - 1))" "$build/benchmarks/bench_gemm_blas" --paired "$isa" 256 1024 2048 |
      tail -n "+$t"  # the header once
  done
done
