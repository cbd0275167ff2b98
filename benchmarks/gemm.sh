#!/usr/bin/env bash
# SGEMM side by side on the same cores: ops::gemm (bench_gemm: the register tiles of the CPU path
# in use), ops::gemm on the generic path with Eigen handing products to the system BLAS
# (bench_gemm_blas, EIGEN_USE_BLAS; one BLAS thread per row block), and torch.mm — on 1 and 2
# threads. Medians, GFLOP/s.
#   usage: benchmarks/gemm.sh [build-dir (build-bench)] [size ...]
set -euo pipefail
build=${1:-build-bench}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
# The PyTorch reference and the OpenBLAS it should run on (installed when missing, as root).
SIMCLR_EXTRA_PACKAGES="python3-torch python3-torchvision libopenblas0-pthread" "$here/../scripts/deps.sh"
echo "load before: $(uptime | sed 's/.*load average: //')"
for t in 1 2; do
  cpus="0-$((t - 1))"
  echo "== $t thread(s)"
  echo "what     size     threads     median ms      GFLOP/s"
  SIMCLR_NUM_THREADS=$t taskset -c "$cpus" "$build/benchmarks/bench_gemm" "$@" | tail -n +2 | sed 's/^/eigen    /'
  if [ -x "$build/benchmarks/bench_gemm_blas" ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 SIMCLR_NUM_THREADS=$t SIMCLR_CPU_ISA=generic \
      taskset -c "$cpus" "$build/benchmarks/bench_gemm_blas" "$@" | tail -n +2 | sed 's/^/eigen+blas /'
  fi
  # PyTorch at its best: OpenBLAS's AVX-512 kernels (the two variables unset, benchmark only).
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t \
    taskset -c "$cpus" /usr/bin/python3 -W ignore "$here/gemm_torch.py" "$t" "$@"
done
echo "load after:  $(uptime | sed 's/.*load average: //')"
