#!/usr/bin/env python3
"""pann.relu at α = 14 on 10^7 values against NumPy Horner and against the torch tensor ops of Lee et al.'s code.

All three evaluate the same published power-basis coefficients (pann.approx(14).coefficients) in float64, as the
PANN ReLU x*(1 + p(x/B))/2 with B = 50:

- pann.relu: pann's fused kernel (each value read once, all components in registers, AVX2/AVX-512 + FMA when the
  CPU has them, rayon threads), on float32 and float64 arrays;
- NumPy: Horner's rule in t² per component, whole-array operations (one temporary per step);
- torch: the in-place float64 Horner of reference/lee_pann.py (Lee et al.'s evaluation written with tensor ops:
  t = x.double()/B, acc.mul_(t2).add_(a) per coefficient), on all the machine's threads.

Each is timed as the best of --repeat runs; the output states the machine, threads and ratios.

    .venv-py/bin/python python/bench/relu_bench.py            # results/python/relu_bench.txt
"""
import argparse
import os
import platform
import time

import numpy as np

import pann


def numpy_relu(x, comps, bound):
    t = x.astype(np.float64) / bound
    for c in comps:
        odd = c[1::2]
        t2 = t * t
        acc = np.full_like(t, odd[-1])
        for a in reversed(odd[:-1]):
            acc *= t2
            acc += a
        t = acc * t
    return (x * (1.0 + t) * 0.5).astype(x.dtype)


def torch_relu(torch, comps, bound):
    odd = [c[1::2] for c in comps]

    def f(x):
        # A copy even for float64 input (reference/lee_pann.py's x.double() copies its float32 input; on a float64
        # tensor it would return x itself and div_ would overwrite the input).
        t = x.to(torch.float64, copy=True).div_(bound)
        for q in odd:
            t2 = t * t
            acc = torch.full_like(t, float(q[-1]))
            for a in reversed(q[:-1]):
                acc.mul_(t2).add_(a)
            t = acc.mul_(t)
        return t.add_(1.0).mul_(x.double()).mul_(0.5).to(x.dtype)

    return f


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--alpha", type=int, default=14)
    ap.add_argument("--bound", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    a = pann.approx(args.alpha)
    comps = a.coefficients
    rng = np.random.default_rng(0)
    x64 = rng.uniform(-args.bound, args.bound, args.n)
    x32 = x64.astype(np.float32)
    rows = []
    ref = numpy_relu(x64, comps, args.bound)
    y = pann.relu(x64, a, args.bound)
    assert np.abs(y - ref).max() <= 0.01 * args.bound * 2.0 ** -args.alpha, "pann.relu disagrees with NumPy"
    rows.append(("pann.relu float64", best(lambda: pann.relu(x64, a, args.bound), args.repeat)))
    rows.append(("pann.relu float32", best(lambda: pann.relu(x32, a, args.bound), args.repeat)))
    rows.append(("NumPy Horner float64", best(lambda: numpy_relu(x64, comps, args.bound), max(2, args.repeat // 2))))
    rows.append(("NumPy Horner float32 in", best(lambda: numpy_relu(x32, comps, args.bound), max(2, args.repeat // 2))))
    torch_threads = None
    try:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        torch_threads = torch.get_num_threads()
        f = torch_relu(torch, comps, args.bound)
        t64, t32 = torch.from_numpy(x64), torch.from_numpy(x32)
        assert np.abs(f(t64).numpy() - ref).max() <= 0.01 * args.bound * 2.0 ** -args.alpha, "torch disagrees"
        assert np.array_equal(t64.numpy(), x64), "the torch evaluation must not modify its input"
        rows.append((f"torch ops float64 ({torch.__version__})", best(lambda: f(t64), args.repeat)))
        rows.append(("torch ops float32 in", best(lambda: f(t32), args.repeat)))
    except ImportError:
        rows.append(("torch ops", float("nan")))
    print(f"pann.relu bench: α = {args.alpha} {a.degrees}, B = {args.bound:g}, {args.n:.0e} values, best of "
          f"{args.repeat}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
          f"{torch_threads}")
    base64, base32 = rows[0][1], rows[1][1]
    print(f"{'':34} {'seconds':>9} {'Mvalues/s':>10} {'pann.relu is':>13}")
    for name, s in rows:
        base = base32 if "float32" in name else base64
        ratio = "" if name.startswith("pann") else f"{s / base:.1f}x faster"
        print(f"{name:34} {s:9.4f} {args.n / s / 1e6:10.1f} {ratio:>13}")


if __name__ == "__main__":
    main()
