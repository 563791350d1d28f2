#!/usr/bin/env bash
# Reproduces results/remedies/: the bundled ResNet-20 on the 10,000 CIFAR-10 test images as a PANN for α = 6..12,
# with Lee et al.'s global range and with per-layer calibrated ranges, each without (--relu-shift 0) and with the
# shifted ReLU argument (--relu-shift eps: η = each α's certified ε). Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=results/remedies
for range in calibrate lee; do
    scripts/pann eval --alpha 6..12 --range $range --relu-shift 0 --json > $out/resnet20-$range-base.json
    scripts/pann eval --alpha 6..12 --range $range --relu-shift eps --json > $out/resnet20-$range-shift.json
done
