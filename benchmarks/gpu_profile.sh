#!/usr/bin/env bash
# Where the GPU time goes, simclr next to PyTorch: one ResNet-18 step (CIFAR stem, 32×32) or one
# NT-Xent forward + backward of bench_cuda under Nsight Compute (each kernel's
# gpu__time_duration, summed per kernel name), then PyTorch's same work
# (benchmarks/cuda_torch.py) under torch.profiler.
# Needs ncu on a machine where it can read the hardware counters (docs/cuda.md).
# Usage: benchmarks/gpu_profile.sh [bin-dir (build-gpu; .gpu-bin from gpu_prebuild.sh works)]
#          [precision fp32|tf32|bf16 (fp32)] [size: views for step (1024), 2N for nt_xent (8192)]
#          [what: step|nt_xent (step)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/build-gpu}"
prec="${2:-fp32}"
what="${4:-step}"
case "$what" in
  step) size="${3:-1024}" ;;
  nt_xent) size="${3:-8192}" ;;
  *) echo "gpu_profile: what must be step or nt_xent, not '$what'" >&2; exit 2 ;;
esac
command -v ncu >/dev/null || { echo "gpu_profile: no ncu on this machine" >&2; exit 1; }
. "$root/benchmarks/gpu_libs.sh"
gpu_libs_resolve "$bin/benchmarks/bench_cuda" || { echo "gpu_profile: libraries missing" >&2; exit 1; }
csv="$(mktemp)"
echo "== simclr: one $what of size $size, precision $prec, kernel durations from ncu"
# --profile makes bench_cuda bracket one step after the timed ones with cudaProfilerStart/Stop.
ncu --profile-from-start off --clock-control none --cache-control none \
  --metrics gpu__time_duration.sum --csv --print-units base --print-kernel-base function \
  "$bin/benchmarks/bench_cuda" "$what" "$size" 1 --precision "$prec" --profile >"$csv" 2>&1 ||
  { tail -n 20 "$csv"; echo "gpu_profile: ncu failed" >&2; exit 1; }
grep -v '^"' "$csv" | grep -v '^==PROF==' || true
python3 - "$csv" <<'EOF'
import collections, csv, sys
rows = [line for line in open(sys.argv[1]) if line.startswith('"')]
total = collections.Counter()
count = collections.Counter()
for r in csv.DictReader(rows):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    name = r["Kernel Name"]
    total[name] += float(r["Metric Value"].replace(",", "")) / 1e6  # ns -> ms (ncu may group digits)
    count[name] += 1
whole = sum(total.values())
print(f"{sum(count.values())} kernels, {whole:.3f} ms of kernel time in one call")
print(f"{'ms':>9} {'%':>6} {'calls':>6}  kernel")
for name, ms in total.most_common(30):
    print(f"{ms:9.3f} {100 * ms / whole:6.1f} {count[name]:6d}  {name[:110]}")
EOF
rm -f "$csv"
echo
echo "== PyTorch: the same $what under torch.profiler"
flag=""
[ "$prec" = tf32 ] && flag="--tf32"
[ "$prec" = bf16 ] && flag="--bf16"
python3 "$root/benchmarks/cuda_torch.py" "$what" "$size" 3 $flag --profile
