#!/usr/bin/env bash
# Data-parallel scaling on this machine: one SimCLR step of the fmnist-r18w16 recipe (global
# batch 256, 512 views, gathered negatives, global BatchNorm, summed gradients) as
#   1 process × 1 thread, 1 process × 2 threads, 2 processes × 1 thread
# with the time and bytes of every collective per step (bench_distributed; medians over 20
# steps, the slowest rank). Scaling efficiency of 2 processes = their views/s over twice one
# process's one-thread views/s. Run it on a quiet machine.
#   usage: benchmarks/distributed.sh [build-dir (build-bench)] [global batch (256)] [steps (20)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build-bench}"
batch="${2:-256}"
steps="${3:-20}"
SIMCLR_BUILD_DIR="$build" SIMCLR_BUILD_TYPE=Release "$root/scripts/configure.sh" \
  -DSIMCLR_BUILD_BENCHMARKS=ON -DSIMCLR_ENABLE_CUDA=OFF >/dev/null
cmake --build "$build" --target bench_distributed -j 2 >/dev/null
bench="$build/benchmarks/bench_distributed"
# OpenMPI as root needs these; more processes than cores need oversubscription (MPICH: neither).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
launcher=$(command -v mpirun || command -v mpiexec)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "launcher: $launcher ($("$launcher" --version 2>&1 | head -1))"
SIMCLR_NUM_THREADS=1 "$launcher" -np 1 "$bench" "$batch" "$steps"
# OpenMPI binds a single process to one core: unbind it so its two threads get two cores.
unbind=()
if "$launcher" --version 2>&1 | grep -q "Open MPI"; then unbind=(--bind-to none); fi
SIMCLR_NUM_THREADS=2 "$launcher" -np 1 "${unbind[@]}" "$bench" "$batch" "$steps"
SIMCLR_NUM_THREADS=1 "$launcher" -np 2 "$bench" "$batch" "$steps"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
