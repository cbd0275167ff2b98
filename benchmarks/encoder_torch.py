#!/usr/bin/env python3
"""PyTorch reference for bench_encoder: the same encoder training step in views/s (median), with
the process CPU time per step.

    python3 benchmarks/encoder_torch.py fmnist [views] [reps]
    python3 benchmarks/encoder_torch.py r18 [views] [reps]

Builds the encoder from torchvision's BasicBlock with torchvision's layout (CIFAR stem: 3×3/1
conv, no max-pool), fmnist-r18w16 = widths 16/32/64/128 on 1×28×28, r18 = widths 64..512 on
3×32×32. Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (benchmarks/encoder.sh does).
"""
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock


class Encoder(nn.Module):
    def __init__(self, w, in_ch):
        super().__init__()
        self.inplanes = w
        self.conv1 = nn.Conv2d(in_ch, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.layers = nn.Sequential(*[self._make(w << i, 1 if i == 0 else 2) for i in range(4)])
        self.pool = nn.AdaptiveAvgPool2d(1)

    def _make(self, planes, stride):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self.inplanes, planes, stride, down), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        return torch.flatten(self.pool(self.layers(self.relu(self.bn1(self.conv1(x))))), 1)


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "fmnist"
    views = int(sys.argv[2]) if len(sys.argv) > 2 else (128 if which == "r18" else 512)
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(int(os.environ.get("SIMCLR_NUM_THREADS", os.cpu_count())))
    fm = which == "fmnist"
    net = Encoder(16 if fm else 64, 1 if fm else 3).train()
    x = torch.rand(views, 1 if fm else 3, 28 if fm else 32, 28 if fm else 32)
    times, cpu = [], []
    for r in range(reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        net.zero_grad(set_to_none=True)
        h = net(x)
        (h.sum() / views).backward()
        t1, c1 = time.perf_counter(), time.process_time()
        if r > 0:
            times.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
    med = statistics.median(times)
    print("pytorch  %-7s views %-5d threads %d  median %8.1f ms  %7.0f views/s                 "
          "cpu %8.1f ms   (torch %s, mkldnn %s)"
          % (which, views, torch.get_num_threads(), med, views / med * 1e3,
             statistics.median(cpu), torch.__version__, torch.backends.mkldnn.is_available()))


if __name__ == "__main__":
    main()
