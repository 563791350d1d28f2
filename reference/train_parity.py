#!/usr/bin/env python3
"""PyTorch's own full training run of ResNet-20 on the bundled CIFAR-10: the accuracy side of `pann train`.

Answers one question: does a standard PyTorch recipe reach more on this training set (JPEG noise, see
../shared/data/README.md) than `pann train` with the same recipe? If it did, the gap of pann's models to 90% would
be pann's fault, not the data's. Plain PyTorch, no code shared with pann: the reader, the ResNet-20 (kaiming-normal
initialisation, option-A shortcuts) and the augmentation are those of reference/train_bench.py; the schedule is
torch.optim.lr_scheduler.OneCycleLR (pct_start 0.3, cosine annealing, div_factor 25, final_div_factor 1e4, momentum
not cycled; its warm-up is cosine-shaped, pann's linear), SGD with Nesterov momentum 0.9, weight decay on conv and linear weights only, batch 128, a fresh
shuffle per epoch, the last partial batch kept. The default matches results/train/wd-5e-4 (15 epochs, lr 0.1,
wd 5e-4, no mixup, crop + flip).

    .venv-ref/bin/python reference/train_parity.py --epochs 15 --out results/train/parity/pytorch-wd5e-4.csv

writes one CSV row per epoch (epoch, train_loss, train_acc, test_acc, lr, seconds) and prints each.
"""
import argparse
import csv
import os
import time

import torch
import torch.nn.functional as F

from train_bench import MEAN, SHARED, STD, ResNet20, augment, load_cifar10_train


def load_cifar10_test(data_dir):
    raw = open(os.path.join(data_dir, "test_batch.bin"), "rb").read()
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 3073)
    return t[:, 1:].reshape(-1, 3, 32, 32).clone(), t[:, 0].long()


def evaluate(model, images, labels, mean, std, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = images[i : i + batch].float().div_(255.0).sub_(mean).div_(std)
            correct += (model(x).argmax(1) == labels[i : i + batch]).sum().item()
    model.train()
    return correct / len(images)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(SHARED, "data", "cifar-10-batches-bin"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    images, labels = load_cifar10_train(a.data, 50000)
    test_images, test_labels = load_cifar10_test(a.data)
    model = ResNet20()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": a.wd}, {"params": rest, "weight_decay": 0.0}],
        lr=a.lr, momentum=0.9, nesterov=True,
    )
    steps = (len(images) + a.batch - 1) // a.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=a.lr, epochs=a.epochs, steps_per_epoch=steps, pct_start=0.3,
        anneal_strategy="cos", cycle_momentum=False, div_factor=25.0, final_div_factor=1e4,
    )
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(a.seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "train_acc", "test_acc", "lr", "seconds"])
        for epoch in range(1, a.epochs + 1):
            start = time.perf_counter()
            order = torch.randperm(len(images), generator=gen)
            loss_sum, correct = 0.0, 0
            for s in range(steps):
                idx = order[s * a.batch : (s + 1) * a.batch]
                x = augment(images[idx], gen, mean, std, True)
                out = model(x)
                loss = F.cross_entropy(out, labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                correct += (out.argmax(1) == labels[idx]).sum().item()
            seconds = time.perf_counter() - start
            test = evaluate(model, test_images, test_labels, mean, std)
            row = [epoch, loss_sum / len(images), correct / len(images), test, sched.get_last_lr()[0], seconds]
            w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
            f.flush()
            print(",".join(str(v) for v in row), flush=True)


if __name__ == "__main__":
    main()
