#!/usr/bin/env python3
"""PyTorch reference of bench_cuda, on the same GPU: the same SimCLR step and NT-Xent.

    cuda_torch.py step    [views (1024)] [reps (10)] [--tf32 | --bf16]
    cuda_torch.py nt_xent [2N (8192)]    [reps (20)] [--tf32]

step: ResNet-18 with the CIFAR stem (3×3/1 conv, no max-pool; torchvision's BasicBlock layout,
written out here so torchvision is not needed) on 3×32×32, MLP head 512 → 512 → 128 (BN after the first Linear,
simclr's head::mlp v1),
NT-Xent τ = 0.5, SGD momentum 0.9, eager mode, cuDNN (benchmark mode on); --bf16 runs the
forward pass and the loss under torch.autocast(bfloat16) (float weights: PyTorch's usual mixed
precision, the counterpart of simclr's precision::bf16). nt_xent: the
straightforward implementation of benchmarks/nt_xent_torch.py, D = 128, τ = 0.1.
Prints "result torch_<name> <value>" lines for benchmarks/gpu_check.sh. --profile: after the
timed calls, one more under torch.profiler, and a table of its CUDA kernels (gpu_profile.sh).
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


def resnet18_cifar():
    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for stage, width in enumerate([64, 128, 256, 512]):
        for b in range(2):
            layers.append(Block(cin, width, 2 if stage > 0 and b == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def nt_xent(z, tau):
    rows = z.shape[0]
    u = F.normalize(z, dim=1)
    eye = torch.eye(rows, dtype=torch.bool, device=z.device)
    logits = (u @ u.T / tau).masked_fill(eye, float("-inf"))
    target = (torch.arange(rows, device=z.device) + rows // 2) % rows
    return F.cross_entropy(logits, target)


def median_ms(reps, f):
    times = []
    for r in range(reps + 2):  # two warm-up calls
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        f()
        torch.cuda.synchronize()
        if r >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
    if PROFILE:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            f()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=30,
                                        max_name_column_width=90))
    return statistics.median(times)


PROFILE = "--profile" in sys.argv


def main():
    args = [a for a in sys.argv[1:] if a not in ("--tf32", "--bf16", "--profile")]
    tf32 = "--tf32" in sys.argv
    bf16 = "--bf16" in sys.argv
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    what = args[0] if args else "step"
    dev = torch.device("cuda")
    print(f"# torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
          f"{torch.cuda.get_device_name()}, TF32 {'on' if tf32 else 'off'}, "
          f"bf16 autocast {'on' if bf16 else 'off'}")
    torch.manual_seed(1)
    if what == "step":
        views = int(args[1]) if len(args) > 1 else 1024
        reps = int(args[2]) if len(args) > 2 else 10
        net = nn.Sequential(resnet18_cifar(), nn.Linear(512, 512, bias=False), nn.BatchNorm1d(512),
                            nn.ReLU(), nn.Linear(512, 128)).to(dev).train()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-6)
        x = torch.rand(views, 3, 32, 32, device=dev)
        out = {}

        def one_step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16):
                loss = nt_xent(net(x), 0.5)
            loss.backward()
            opt.step()
            out["loss"] = loss.item()  # the value comes to the host, as simclr's does

        ms = median_ms(reps, one_step)
        print(f"# torch   resnet18 step  views {views}  median {ms:8.2f} ms  "
              f"{views / ms * 1e3:8.0f} views/s  loss {out['loss']:.4f}")
        print(f"result torch_step_views_per_s {views / ms * 1e3:.1f}")
    elif what == "nt_xent":
        rows = int(args[1]) if len(args) > 1 else 8192
        reps = int(args[2]) if len(args) > 2 else 20
        z = torch.randn(rows, 128, device=dev, requires_grad=True)
        out = {}

        def one_call():
            z.grad = None
            loss = nt_xent(z, 0.1)
            loss.backward()
            out["loss"] = loss.item()

        ms = median_ms(reps, one_call)
        print(f"# torch   nt_xent  2N {rows}  D 128  median {ms:8.3f} ms  loss {out['loss']:.5f}")
        print(f"result torch_nt_xent_ms {ms:.4f}")
    else:
        sys.exit("usage: cuda_torch.py step|nt_xent [size] [reps] [--tf32 | --bf16]")


if __name__ == "__main__":
    main()
