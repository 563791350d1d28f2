#!/usr/bin/env python3
"""PyTorch's own training loop for ResNet-20 on CIFAR-10, timed: the other side of `pann train --bench`.

Plain PyTorch, no code shared with pann: its own CIFAR-10 reader, its own ResNet-20 (He et al. 2016, option-A
shortcuts, as akamaster's), the standard augmentation (4-pixel zero padding, random 32x32 crop, horizontal flip,
then normalisation), cross-entropy, torch.optim.SGD with Nesterov momentum 0.9 and weight decay 5e-4 on conv and
linear weights. Augmentation runs in the training loop on whole batches with tensor ops (what a DataLoader with
num_workers=0 costs at most); the time of every step after the warm-up is counted, augmentation included.

    .venv-ref/bin/python reference/train_bench.py --steps 40 --warmup 5 --batch 128 [--channels-last]

prints one JSON object: {"images_per_sec": ..., "threads": ..., "peak_rss_mib": ..., ...}.
"""
import argparse
import json
import os
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PANN_SHARED", os.path.join(ROOT, "..", "shared"))
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def load_cifar10_train(data_dir, limit):
    parts, have = [], 0
    for i in range(1, 6):
        raw = open(os.path.join(data_dir, f"data_batch_{i}.bin"), "rb").read()
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 3073)
        parts.append(t[: limit - have])
        have += len(parts[-1])
        if have >= limit:
            break
    raw = torch.cat(parts)
    return raw[:, 1:].reshape(-1, 3, 32, 32).clone(), raw[:, 0].long()


class Block(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or cin != planes) else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + s)


class ResNet20(nn.Module):
    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for stage, planes in enumerate([16, 32, 64]):
            blocks = []
            for i in range(n):
                blocks.append(Block(cin, planes, 2 if stage > 0 and i == 0 else 1))
                cin = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.layer3(self.layer2(self.layer1(y)))
        return self.linear(y.mean((2, 3)))


def augment(images, gen, mean, std, crop):
    """uint8 [N,3,32,32] -> normalised float with random crop (pad 4) and flip."""
    n = images.shape[0]
    x = images.float().div_(255.0).sub_(mean).div_(std)
    if not crop:
        return x
    padded = F.pad(images, (4, 4, 4, 4)).float().div_(255.0).sub_(mean).div_(std)
    # Zero padding in pixel space becomes (0 - mean)/std after normalisation, as with torchvision.
    dy = torch.randint(0, 9, (n,), generator=gen)
    dx = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    rows = (dy.view(n, 1) + torch.arange(32)).view(n, 1, 32, 1).expand(n, 3, 32, 40)
    cols = dx.view(n, 1) + torch.arange(32)
    cols = torch.where(flip.view(n, 1), cols.flip(1), cols).view(n, 1, 1, 32).expand(n, 3, 32, 32)
    out = padded.gather(2, rows)
    return out.gather(3, cols)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(SHARED, "data", "cifar-10-batches-bin"))
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--no-augment", action="store_true")
    # The input batch in channels-last (NHWC) memory, as pann trains: oneDNN then runs every layer in NHWC.
    ap.add_argument("--channels-last", action="store_true")
    # bfloat16 autocast (PyTorch's CPU mixed precision), for `pann train --bench --bf16`.
    ap.add_argument("--bf16", action="store_true")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    need = (a.steps + a.warmup) * a.batch
    images, labels = load_cifar10_train(a.data, need)
    model = ResNet20()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": 5e-4}, {"params": rest, "weight_decay": 0.0}],
        lr=0.05, momentum=0.9, nesterov=True,
    )
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(images), generator=gen)
    model.train()
    start = time.perf_counter()
    for s in range(a.steps + a.warmup):
        if s == a.warmup:
            start = time.perf_counter()
        idx = order[s * a.batch : (s + 1) * a.batch]
        x = augment(images[idx], gen, mean, std, not a.no_augment)
        if a.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "images_per_sec": a.steps * a.batch / seconds,
        "seconds": seconds,
        "steps": a.steps,
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "channels_last": a.channels_last,
        "bf16": a.bf16,
        "torch": torch.__version__,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
