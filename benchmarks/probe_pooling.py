#!/usr/bin/env python3
"""Linear probes of a trained fmnist_simclr encoder on different pooled features (PyTorch 1.13).

    /usr/bin/python3 benchmarks/probe_pooling.py RUN/encoder.safetensors [cifar|strided]

Loads the encoder (torchvision names, as io::save_weights writes them; width 16, last-stage h)
into the reference network of benchmarks/fmnist_recipe_torch.py and fits its linear evaluation
(standardised features, L2 1e-4, up to 500 L-BFGS iterations; all 60 000 training images, the
10 000 test images) on: h (the last stage pooled, 128-d), every stage pooled and concatenated
(240-d, what encoders::pooling::every_stage gives as h), the last stage's unpooled map, the two
together, and every stage averaged over 2 × 2 cells (960-d, what resnet_options::pool_grid = 2
gives). It asks whether the trained network holds more than its pooled last stage shows
(docs/results.md).
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist_recipe_torch import Encoder, find, linear_eval, read_idx  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n, = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    types = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw = np.frombuffer(data[8 + n + s:8 + n + e], dtype=types[v["dtype"]])
        out[name] = torch.from_numpy(raw.reshape(v["shape"]).copy())
    return out


def features(f, images):
    kinds = {"h (last stage, pooled)": [], "every stage, pooled": [], "last stage, unpooled": [],
             "every stage pooled + last unpooled": [], "every stage over 2x2 cells": []}
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            y = torch.from_numpy(np.array(images[i:i + 1000])).float().div(255).unsqueeze(1)
            y = f.relu(f.bn1(f.conv1(y)))
            pooled, grid = [], []
            for layer in (f.layer1, f.layer2, f.layer3, f.layer4):
                y = layer(y)
                pooled.append(y.mean((2, 3)))
                grid.append(F.adaptive_avg_pool2d(y, 2).flatten(1))
            kinds["h (last stage, pooled)"].append(pooled[-1])
            kinds["every stage, pooled"].append(torch.cat(pooled, 1))
            kinds["last stage, unpooled"].append(y.flatten(1))
            kinds["every stage pooled + last unpooled"].append(torch.cat(pooled + [y.flatten(1)], 1))
            kinds["every stage over 2x2 cells"].append(torch.cat(grid, 1))
    return {k: torch.cat(v) for k, v in kinds.items()}


def main():
    torch.set_num_threads(os.cpu_count() or 1)
    path = sys.argv[1]
    stem = sys.argv[2] if len(sys.argv) > 2 else "cifar"
    f = Encoder(16)
    if stem == "strided":
        f.conv1 = nn.Conv2d(1, 16, 3, 2, 1, bias=False)
    f.load_state_dict(load_safetensors(path))
    f.eval()
    train = features(f, read_idx(find("train", "images")))
    test = features(f, read_idx(find("t10k", "images")))
    ytr, yte = read_idx(find("train", "labels")), read_idx(find("t10k", "labels"))
    for kind in train:
        acc = linear_eval(train[kind], ytr, test[kind], yte)
        print(f"{kind:24s} {train[kind].shape[1]:5d}-d  linear eval {100 * acc:.2f} %", flush=True)


if __name__ == "__main__":
    main()
