#!/usr/bin/env bash
# Runs bench_augment and benchmarks/augment_torchvision.py in one go and prints the Markdown
# table of docs/benchmarks.md ("## Augmentations"): views per second per core of SimCLR's policy
# at 32 and 224 px against torchvision (tensor and PIL pipelines), and two_views on 1 and 2 threads.
#   usage: benchmarks/augment.sh [build-dir (build-bench)] [repetitions (15)]
# Run it on a quiet machine: the load average is printed before and after.
set -euo pipefail
build=${1:-build-bench}
reps=${2:-15}
here=$(cd "$(dirname "$0")" && pwd)
# The PyTorch reference and the OpenBLAS it should run on (installed when missing, as root).
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$here/../scripts/deps.sh"

echo "load before: $(uptime | sed 's/.*load average: //')"
ours=$("$build/benchmarks/bench_augment" "$reps")
# PyTorch at its best: OpenBLAS picks its own kernels; one thread for per-core numbers (set in
# the script).
theirs=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 -W ignore \
         "$here/augment_torchvision.py" "$reps")
echo "load after:  $(uptime | sed 's/.*load average: //')"
printf '%s\n%s\n' "$ours" "$theirs" | grep '^#'

printf '%s\n%s\n' "$ours" "$theirs" | awk '
  $1 == "result" { r[$2] = $3 }
  function row(label, s, tt, tp, target,   best, ratio) {
    best = (r[tt] > r[tp]) ? r[tt] : r[tp]
    ratio = r[s] / best
    printf "| %s | %d | %d | %d | %.1f× | ≥ %d× %s |\n", label, r[s], r[tt], r[tp], ratio, target,
           (ratio >= target) ? "(met)" : "(**not met**)"
  }
  END {
    for (k = 0; k < 2; ++k) {
      print ""
      if (k == 0) {
        sfx = ""
        print "Views per second of elapsed time, one core:"
      } else {
        sfx = "_cpu"
        print "Views per second of the thread'"'"'s CPU time, one core (insensitive to other load):"
      }
      print ""
      print "| policy, one core | simclr views/s | torchvision tensor views/s | torchvision PIL views/s | simclr / faster torchvision | target |"
      print "|---|---:|---:|---:|---:|---|"
      row("CIFAR, 32 px (32×32 input, s = 0.5, no blur)", "simclr_policy_32_1core" sfx,
          "torchvision_tensor_32_1core" sfx, "torchvision_pil_32_1core" sfx, 5)
      row("ImageNet, 224 px (500×375 input, s = 1, blur)", "simclr_policy_224_1core" sfx,
          "torchvision_tensor_224_1core" sfx, "torchvision_pil_224_1core" sfx, 10)
    }
    print ""
    print "| two_views batch | 1 thread views/s | 2 threads views/s | scaling (medians) | scaling (median of rounds) |"
    print "|---|---:|---:|---:|---:|"
    printf "| CIFAR policy, N = 256 (512 views of 32 px) | %d | %d | %.2f× | %.2f× |\n",
           r["two_views_32_b256_1threads"], r["two_views_32_b256_2threads"],
           r["two_views_32_b256_2threads"] / r["two_views_32_b256_1threads"], r["two_views_32_scaling"]
    printf "| ImageNet policy, N = 32 (64 views of 224 px) | %d | %d | %.2f× | %.2f× |\n",
           r["two_views_224_b32_1threads"], r["two_views_224_b32_2threads"],
           r["two_views_224_b32_2threads"] / r["two_views_224_b32_1threads"], r["two_views_224_scaling"]
  }'
