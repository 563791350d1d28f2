#!/usr/bin/env python3
"""Independent reference of Lee et al.'s PANN evaluation, written with plain PyTorch tensor ops.

It shares no code with pann's Rust evaluator: its own safetensors and CIFAR-10 readers, its own ResNet-20
(akamaster layout, option-A shortcuts), the polynomial ReLU x*(1+p(x/B))/2 evaluated component by component with
torch ops in float64, and Lee et al.'s global range search done the plain way (B = 50, 55, ...: a full pass over
the data per B, until no ReLU input of the approximate network exceeds B). The coefficients are the power-basis
ones of `pann approx --json`.

Used two ways:
  check:  python reference/lee_pann.py --alpha 4..14 --pann-json pann.json   (compares per α, in test images)
  bench:  python reference/lee_pann.py --bench [--channels-last]            (images/s, for `pann bench`)
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PANN_SHARED", os.path.join(ROOT, "..", "shared"))
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    kinds = {"F32": torch.float32, "I64": torch.int64, "F64": torch.float64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + a : base + b]), dtype=kinds[meta["dtype"]])
        out[name.removeprefix("module.")] = t.reshape(meta["shape"])
    return out


def load_cifar10_test(limit=None):
    path = os.path.join(SHARED, "data", "cifar-10-batches-bin", "test_batch.bin")
    raw = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.uint8).reshape(-1, 3073)
    if limit:
        raw = raw[:limit]
    labels = raw[:, 0].long()
    x = raw[:, 1:].float().div(255.0).reshape(-1, 3, 32, 32)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return x, labels


class ResNet20:
    """akamaster's CIFAR ResNet-20 as a function of its state dict; `act(x, site)` replaces every ReLU."""

    def __init__(self, sd):
        self.sd = sd

    def bn(self, x, p):
        s = self.sd
        return F.batch_norm(x, s[p + ".running_mean"], s[p + ".running_var"], s[p + ".weight"], s[p + ".bias"], False, 0.0, 1e-5)

    def forward(self, x, act):
        s = self.sd
        site = 0
        out = act(self.bn(F.conv2d(x, s["conv1.weight"], padding=1), "bn1"), site)
        site += 1
        for layer, planes in ((1, 16), (2, 32), (3, 64)):
            for blk in range(3):
                p = f"layer{layer}.{blk}"
                stride = 2 if (layer > 1 and blk == 0) else 1
                y = act(self.bn(F.conv2d(out, s[p + ".conv1.weight"], stride=stride, padding=1), p + ".bn1"), site)
                site += 1
                y = self.bn(F.conv2d(y, s[p + ".conv2.weight"], padding=1), p + ".bn2")
                if stride != 1 or out.shape[1] != planes:
                    sc = F.pad(out[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))
                else:
                    sc = out
                out = act(y + sc, site)
                site += 1
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return F.linear(out, s["linear.weight"], s["linear.bias"])


def poly_relu(comps, bound):
    """x*(1+p(x/B))/2 with p the composite of odd power-basis polynomials, in float64 tensor ops."""
    odd = [torch.tensor(c[1::2], dtype=torch.float64) for c in comps]

    def f(x):
        # In-place Horner in float64: the fair tensor-op baseline (no temporaries per coefficient).
        t = x.double().div_(bound)
        for q in odd:
            t2 = t * t
            acc = torch.full_like(t, float(q[-1]))
            for a in reversed(q[:-1].tolist()):
                acc.mul_(t2).add_(a)
            t = acc.mul_(t)
        return t.add_(1.0).mul_(x.double()).mul_(0.5).float()

    return f


def run(net, x, labels, act, batch=500):
    correct, max_in = 0, 0.0
    state = {"max": 0.0}

    def watched(v, site):
        state["max"] = max(state["max"], float(v.abs().max()))
        return act(v, site)

    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = net.forward(x[i : i + batch], watched)
            correct += int((logits.argmax(1) == labels[i : i + batch]).sum())
    max_in = state["max"]
    return correct, max_in


def approx_json(alpha):
    pann = os.environ.get("PANN_BIN", os.path.join(ROOT, "target", "release", "pann"))
    out = subprocess.run([pann, "approx", "--alpha", str(alpha), "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def parse_alphas(s):
    out = []
    for part in s.split(","):
        if ".." in part:
            a, b = part.split("..")
            out += list(range(int(a), int(b.lstrip("=")) + 1))
        else:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alpha", default="4..14")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--pann-json", help="pann eval --json output to compare with")
    ap.add_argument("--bench", action="store_true", help="time exact and α=14 (B=50) inference, print JSON")
    ap.add_argument("--coeffs", help="with --bench: `pann approx --alpha 14 --json` output to use")
    ap.add_argument("--channels-last", action="store_true",
                    help="with --bench: the input in torch.channels_last memory (PyTorch's fast CPU layout)")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    net = ResNet20(load_safetensors(os.path.join(SHARED, "models", "resnet20-akamaster.safetensors")))
    x, labels = load_cifar10_test(args.images)
    relu = lambda v, site: F.relu(v)

    if args.bench:
        if args.channels_last:
            # The input only: converting the conv weights as well (model.to(memory_format=...)) was slower here.
            x = x.contiguous(memory_format=torch.channels_last)
        run(net, x[:500], labels[:500], relu)  # warm-up, as `pann bench` does
        t = time.perf_counter()
        run(net, x, labels, relu)
        exact_s = time.perf_counter() - t
        summary = json.load(open(args.coeffs)) if args.coeffs else approx_json(14)
        comps = [c["coefficients"] for c in summary["components"]]
        t = time.perf_counter()
        correct, _ = run(net, x, labels, lambda v, site, f=poly_relu(comps, 50.0): f(v))
        pann_s = time.perf_counter() - t
        print(json.dumps({"images": len(x), "exact_seconds": exact_s, "pann_alpha14_seconds": pann_s, "pann_alpha14_correct": correct, "channels_last": args.channels_last, "torch": torch.__version__}))
        return

    correct, max_in = run(net, x, labels, relu)
    result = {"exact": {"accuracy": correct / len(x), "correct": correct}, "rows": []}
    print(f"exact: {correct}/{len(x)}  max |ReLU input| {max_in:.2f}", file=sys.stderr)
    for alpha in parse_alphas(args.alpha):
        comps = [c["coefficients"] for c in approx_json(alpha)["components"]]
        bound = 50.0
        while True:
            f = poly_relu(comps, bound)
            correct, max_in = run(net, x, labels, lambda v, site: f(v))
            if max_in <= bound:
                break
            bound += 5.0
        result["rows"].append({"alpha": alpha, "accuracy": correct / len(x), "correct": correct, "B": bound})
        print(f"α={alpha}: {correct}/{len(x)} B={bound}", file=sys.stderr)
    if args.pann_json:
        pann = json.load(open(args.pann_json))
        ex = pann["exact"]["correct"] - result["exact"]["correct"]
        print(f"exact: pann {pann['exact']['correct']} reference {result['exact']['correct']} (Δ {ex})", file=sys.stderr)
        by_alpha = {r["alpha"]: r for r in pann["rows"]}
        for r in result["rows"]:
            p = by_alpha.get(r["alpha"])
            if p:
                print(f"α={r['alpha']}: pann {p['correct']} (B={p['B']}) reference {r['correct']} (B={r['B']}) Δ {p['correct'] - r['correct']}", file=sys.stderr)
                result.setdefault("comparison", []).append({"alpha": r["alpha"], "pann_correct": p["correct"], "reference_correct": r["correct"], "pann_B": p["B"], "reference_B": r["B"]})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
