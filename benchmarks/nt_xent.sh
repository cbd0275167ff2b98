#!/usr/bin/env bash
# Runs bench_nt_xent and benchmarks/nt_xent_torch.py in one go, both on the same 2 cores, and
# prints the Markdown table of docs/benchmarks.md ("## Losses"): NT-Xent forward + backward,
# float32, D = 128, 2N = 512 / 2048 / 8192, medians and the speed-up.
#   usage: benchmarks/nt_xent.sh [build-dir (build-bench)] [threads (2)]
# PyTorch runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset. It loads whatever libblas.so.3
# the system gives it (printed); Debian's default is the slow reference BLAS, so the script
# prefers OpenBLAS: $SIMCLR_TORCH_BLAS_DIR if set, else Debian's libopenblas0-pthread directory
# when it exists (apt-get install libopenblas0-pthread, or unpack its .deb and point
# SIMCLR_TORCH_BLAS_DIR at usr/lib/x86_64-linux-gnu/openblas-pthread inside it).
# Run it on a quiet machine: the load average is printed before and after.
set -euo pipefail
build=${1:-build-bench}
threads=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
# The PyTorch reference and the OpenBLAS it should run on (installed when missing, as root).
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$here/../scripts/deps.sh"
cpus="0-$((threads - 1))"
blas_dir=${SIMCLR_TORCH_BLAS_DIR:-}
if [ -z "$blas_dir" ] && [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  blas_dir=/usr/lib/x86_64-linux-gnu/openblas-pthread
fi

echo "load before: $(uptime | sed 's/.*load average: //')"
ours=$(SIMCLR_NUM_THREADS=$threads taskset -c "$cpus" "$build/benchmarks/bench_nt_xent")
# PyTorch at its best: torch's intra-op threads on top of OpenBLAS's own threads oversubscribe
# the cores at small sizes, so it runs twice (OpenBLAS on $threads threads and on 1) and the
# table takes the faster time of each size.
theirs=""
for blas_threads in "$threads" 1; do
  theirs+=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$threads" \
           OPENBLAS_NUM_THREADS="$blas_threads" ${blas_dir:+LD_LIBRARY_PATH="$blas_dir"} \
           taskset -c "$cpus" /usr/bin/python3 -W ignore "$here/nt_xent_torch.py" "$threads" |
           sed "s/^# torch /# torch (OpenBLAS threads $blas_threads) /")$'\n'
done
echo "load after:  $(uptime | sed 's/.*load average: //')"
printf '%s\n%s\n' "$ours" "$theirs" | grep '^#'

printf '%s\n%s\n' "$ours" "$theirs" | awk -v threads="$threads" '
  $1 == "result" && (!($2 in r) || $3 < r[$2]) { r[$2] = $3 }
  END {
    print ""
    print "| 2N × D (float32, τ = 0.1) | simclr ms | PyTorch ms | speed-up | target |"
    print "|---|---:|---:|---:|---|"
    n = split("512 2048 8192", sizes, " ")
    for (i = 1; i <= n; ++i) {
      s = sizes[i]; ours = r["simclr_" s]; theirs = r["torch_" s]
      ratio = theirs / ours
      printf "| %d × 128, %d threads | %.2f | %.2f | %.1f× | ≥ 3× %s |\n", s, threads, ours, theirs,
             ratio, (ratio >= 3) ? "(met)" : "(**not met**)"
    }
  }'
