#!/usr/bin/env python3
"""The fmnist-r18w16 SimCLR recipe in PyTorch 1.13 — the side-by-side reference for
examples/fmnist_simclr.cpp (docs/results.md).

    python3 benchmarks/fmnist_recipe_torch.py --epochs 1 --subset 10000 --eval-train 10000

Same recipe: ResNet-18 basic blocks [2,2,2,2] widths 16/32/64/128 (torchvision's BasicBlock,
CIFAR stem, 1×28×28); head Linear(128,128)–ReLU–Linear(128,128) without BN; augmentation
RandomResizedCrop(28, scale=(0.2, 1)), RandomHorizontalFlip(0.5), RandomApply(ColorJitter(0.4,
0.4), p=0.8); NT-Xent τ 0.5; SGD momentum 0.9 Nesterov, lr 0.3·B/256, weight decay 5e-4, one
warm-up epoch then cosine per step; linear evaluation: standardised frozen features,
multinomial logistic regression with L2 1e-4 by L-BFGS (torch.optim.LBFGS, strong Wolfe);
kNN: cosine, k = 200, weights exp(sim/0.1). Data: Debian's dataset-fashion-mnist. Run with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (benchmarks/fmnist_recipe.sh does).
"""
import argparse
import gzip
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from torchvision.models.resnet import BasicBlock

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(prefix, kind):
    for name in os.listdir(DATA):
        if name.startswith(prefix) and kind in name:
            return os.path.join(DATA, name)
    raise FileNotFoundError(f"{DATA}/{prefix}-{kind}*")


class Encoder(nn.Module):
    def __init__(self, w=16):
        super().__init__()
        self.inplanes = w
        self.conv1 = nn.Conv2d(1, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make(w, 1)
        self.layer2 = self._make(2 * w, 2)
        self.layer3 = self._make(4 * w, 2)
        self.layer4 = self._make(8 * w, 2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make(self, planes, stride):
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self.inplanes, planes, stride, down), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


def nt_xent(z, tau=0.5):
    n2 = z.shape[0]
    u = F.normalize(z, dim=1)
    s = u @ u.t() / tau
    s.fill_diagonal_(float("-inf"))
    pos = torch.arange(n2, device=z.device).roll(n2 // 2)
    return F.cross_entropy(s, pos)


def features(f, x, batch=500):
    f.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(np.array(x[i:i + batch])).float().div(255).unsqueeze(1)
            out.append(f(xb))
    return torch.cat(out)


def linear_eval(xtr, ytr, xte, yte, l2=1e-4, classes=10):
    mean, std = xtr.mean(0), xtr.std(0, unbiased=False).clamp_min(1e-8)
    xtr, xte = ((xtr - mean) / std).double(), ((xte - mean) / std).double()
    w = torch.zeros(xtr.shape[1], classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=500, tolerance_grad=1e-6,
                            line_search_fn="strong_wolfe")
    ytr_t = torch.from_numpy(ytr.astype(np.int64))

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(xtr @ w + b, ytr_t) + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return ((xte @ w + b).argmax(1).numpy() == yte).mean()


def knn(xtr, ytr, xte, yte, k=200, tau=0.1, classes=10):
    xtr, xte = F.normalize(xtr, dim=1), F.normalize(xte, dim=1)
    ytr_t = torch.from_numpy(ytr.astype(np.int64))
    correct = 0
    for i in range(0, len(xte), 500):
        sim = xte[i:i + 500] @ xtr.t()
        w, idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(w), classes, dtype=torch.float64)
        votes.scatter_add_(1, ytr_t[idx], torch.exp(w.double() / tau))
        correct += (votes.argmax(1).numpy() == yte[i:i + 500]).sum()
    return correct / len(xte)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--subset", type=int, default=10000)
    p.add_argument("--eval-train", type=int, default=10000)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    xtr, ytr = read_idx(find("train", "images")), read_idx(find("train", "labels"))
    xte, yte = read_idx(find("t10k", "images")), read_idx(find("t10k", "labels"))
    pre = xtr[rng.permutation(len(xtr))[:a.subset]] if 0 < a.subset < len(xtr) else xtr
    sel = rng.permutation(len(xtr))[:a.eval_train] if 0 < a.eval_train < len(xtr) else np.arange(len(xtr))
    aug = T.Compose([T.ToPILImage(), T.RandomResizedCrop(28, scale=(0.2, 1.0)),
                     T.RandomHorizontalFlip(), T.RandomApply([T.ColorJitter(0.4, 0.4)], p=0.8),
                     T.ToTensor()])

    f = Encoder(16)
    g = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128))
    params = list(f.parameters()) + list(g.parameters())
    peak = 0.3 * a.batch_size / 256
    opt = torch.optim.SGD(params, lr=peak, momentum=0.9, nesterov=True, weight_decay=5e-4)
    per_epoch = len(pre) // a.batch_size
    total, warm = a.epochs * per_epoch, per_epoch
    step = 0
    for epoch in range(a.epochs):
        f.train(); g.train()
        t0, t_data = time.perf_counter(), 0.0
        order = rng.permutation(len(pre))
        for b in range(per_epoch):
            td = time.perf_counter()
            imgs = pre[order[b * a.batch_size:(b + 1) * a.batch_size]]
            v1 = torch.stack([aug(im) for im in imgs])
            v2 = torch.stack([aug(im) for im in imgs])
            t_data += time.perf_counter() - td
            lr = peak * step / warm if step < warm else \
                peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for group in opt.param_groups:
                group["lr"] = lr
            loss = nt_xent(g(f(torch.cat([v1, v2]))))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
        dt = time.perf_counter() - t0
        print(f"pytorch epoch {epoch + 1}: {dt:.1f} s ({2 * per_epoch * a.batch_size / dt:.0f} views/s, "
              f"{100 * t_data / dt:.0f}% in augmentation), last loss {loss.item():.4f}", flush=True)
    t0 = time.perf_counter()
    htr, hte = features(f, xtr[sel]), features(f, xte)
    lin = linear_eval(htr, ytr[sel], hte, yte)
    kn = knn(htr, ytr[sel], hte, yte)
    print(f"pytorch fmnist-r18w16 after {a.epochs} epochs on {len(pre)} images: linear eval "
          f"{100 * lin:.2f}%, kNN {100 * kn:.2f}% (eval {time.perf_counter() - t0:.1f} s, torch "
          f"{torch.__version__}, {a.threads} threads)")


if __name__ == "__main__":
    main()
