#!/usr/bin/python3
"""PyTorch reference of bench_nt_xent: NT-Xent forward + backward in float32, median ms.

The straightforward PyTorch implementation (as in torchvision-based SimCLR code): F.normalize,
one (2N, 2N) logit matrix, the diagonal masked with -inf, F.cross_entropy, autograd.
    usage: nt_xent_torch.py [threads (2)] [2N ...]   (default 512 2048 8192; D = 128, tau = 0.1)
Run by benchmarks/nt_xent.sh, which also picks the BLAS library torch loads.
"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
sizes = [int(a) for a in sys.argv[2:]] or [512, 2048, 8192]
torch.set_num_threads(threads)
blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line})
print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS: {' '.join(blas) or '?'}")


def nt_xent(z, tau):
    rows = z.shape[0]
    u = F.normalize(z, dim=1)
    logits = (u @ u.T / tau).masked_fill(torch.eye(rows, dtype=torch.bool), float("-inf"))
    target = (torch.arange(rows) + rows // 2) % rows
    return F.cross_entropy(logits, target)


torch.manual_seed(7)
for rows in sizes:
    z = torch.randn(rows, 128, dtype=torch.float32, requires_grad=True)
    reps = 7 if rows >= 8192 else 21 if rows >= 2048 else 51
    times = []
    for r in range(reps + 2):  # two warm-up calls
        t0 = time.perf_counter()
        z.grad = None
        loss = nt_xent(z, 0.1)
        loss.backward()
        t1 = time.perf_counter()
        if r >= 2:
            times.append((t1 - t0) * 1e3)
    med = statistics.median(times)
    print(f"# torch   2N {rows:<6} D 128  threads {threads}  median {med:9.3f} ms  loss {loss.item():.5f}")
    print(f"result torch_{rows} {med:.4f}")
