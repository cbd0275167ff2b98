#!/usr/bin/python3
"""PyTorch reference of bench_gemm: float32 square matmul, median ms and GFLOP/s.
    usage: gemm_torch.py [threads (2)] [size ...]   (default 256 512 1024 2048)
Run by benchmarks/gemm.sh with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset.
"""
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
sizes = [int(a) for a in sys.argv[2:]] or [256, 512, 1024, 2048]
torch.set_num_threads(threads)
blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line})
print(f"# torch {torch.__version__}, {threads} threads, BLAS: {' '.join(blas) or '?'}")
torch.manual_seed(1)
for n in sizes:
    a, b = torch.rand(n, n) * 2 - 1, torch.rand(n, n) * 2 - 1
    c = torch.empty(n, n)
    reps = 5 if n >= 2048 else 11
    times = []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        t1 = time.perf_counter()
        if r > 0:
            times.append((t1 - t0) * 1e3)
    med = statistics.median(times)
    print(f"torch    {n:<8} {threads:<8} {med:12.3f} {2.0 * n ** 3 / (med * 1e6):12.1f}")
