#!/usr/bin/python3
"""Views per second of SimCLR's augmentation policy in torchvision, on one core.

The reference for benchmarks/augment.cpp (run both with benchmarks/augment.sh). Two pipelines:
  tensor: float (3, H, W) tensors through torchvision.transforms (what simclr's ops match);
  pil:    PIL images through the same transforms, then ToTensor (the usual data-loader setup).
The policy is docs/augmentations.md: RandomResizedCrop(S) → RandomHorizontalFlip → RandomApply(ColorJitter(
0.8s, 0.8s, 0.8s, 0.2s), 0.8) → RandomGrayscale(0.2) → RandomApply(GaussianBlur(23), 0.5) at
S = 224, s = 1; no blur and s = 0.5 at S = 32. Inputs: 32×32 and 500×375 random images.
Prints "result <name> <views/s>" lines (median of the repetitions).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/augment_torchvision.py [reps]
"""
import statistics
import sys
import time

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image


def policy(size, strength, blur, to_tensor):
    ops = [
        T.RandomResizedCrop(size, antialias=False) if not to_tensor else T.RandomResizedCrop(size),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.8 * strength, 0.8 * strength, 0.8 * strength, 0.2 * strength)], p=0.8),
        T.RandomGrayscale(p=0.2),
    ]
    if blur:
        ops.append(T.RandomApply([T.GaussianBlur(23, sigma=(0.1, 2.0))], p=0.5))
    if to_tensor:
        ops.append(T.ToTensor())
    return T.Compose(ops)


def rate(transform, images, views, reps):
    """Median views/s of elapsed time and of this thread's CPU time (robust to other load)."""
    wall, cpu = [], []
    for r in range(reps + 1):
        t0, c0 = time.perf_counter(), time.thread_time()
        for v in range(views):
            transform(images[v % len(images)])
        dt, dc = time.perf_counter() - t0, time.thread_time() - c0
        if r > 0:  # the first repetition warms up
            wall.append(views / dt)
            cpu.append(views / dc)
    return statistics.median(wall), statistics.median(cpu)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"# torchvision {__import__('torchvision').__version__}, torch {torch.__version__}, "
          f"1 thread, median of {reps} repetitions")
    for size, (h, w), strength, blur, n_images, views in ((32, (32, 32), 0.5, False, 64, 400),
                                                          (224, (375, 500), 1.0, True, 8, 20)):
        tensors = [torch.rand(3, h, w) for _ in range(n_images)]
        pils = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for _ in range(n_images)]
        for name, transform, inputs in (("tensor", policy(size, strength, blur, False), tensors),
                                        ("pil", policy(size, strength, blur, True), pils)):
            wall, cpu = rate(transform, inputs, views, reps)
            print(f"result torchvision_{name}_{size}_1core {wall:.0f}")
            print(f"result torchvision_{name}_{size}_1core_cpu {cpu:.0f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
