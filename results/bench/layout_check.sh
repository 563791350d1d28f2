#!/usr/bin/env bash
# Does the memory layout change any result? The bundled ResNet-20 on the 10,000 CIFAR-10 test images, exact and
# at α = 6, 8, 10, 14 with a fixed B = 50, once in NCHW (the default) and once with --channels-last; prints the
# correct counts side by side into results/bench/layout_check.txt. About 2 min. Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/pann eval --nchw --alpha 6,8,10,14 --range 50 --json > "$tmp/nchw.json"
scripts/pann eval --alpha 6,8,10,14 --range 50 --json --channels-last > "$tmp/nhwc.json"
python3 - "$tmp/nchw.json" "$tmp/nhwc.json" > results/bench/layout_check.txt <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print("bundled ResNet-20, 10000 CIFAR-10 test images, B = 50: correct images per layout")
print(f"{'':>8} {'NCHW':>6} {'NHWC':>6}")
print(f"{'exact':>8} {a['exact']['correct']:>6} {b['exact']['correct']:>6}")
for r, s in zip(a["rows"], b["rows"]):
    print(f"{'α=' + str(r['alpha']):>8} {r['correct']:>6} {s['correct']:>6}")
PY
cat results/bench/layout_check.txt
