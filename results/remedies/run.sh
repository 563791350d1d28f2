#!/usr/bin/env bash
# Reproduces results/remedies/: the bundled ResNet-20 on the 10,000 CIFAR-10 test images as a PANN for α = 6..12,
# with Lee et al.'s global range and with per-layer calibrated ranges, each without (--relu-shift 0) and with the
# shifted ReLU argument (--relu-shift eps: η = each α's certified ε). Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=results/remedies
for range in calibrate lee; do
    scripts/pann eval --nchw --alpha 6..12 --range $range --relu-shift 0 --json > $out/resnet20-$range-base.json
    scripts/pann eval --nchw --alpha 6..12 --range $range --relu-shift eps --json > $out/resnet20-$range-shift.json
done

# Mean-leak correction (--leak-correction: per site and channel, the mean error E[e(x)] of the exact network's
# inputs over the 5,000 calibration training images is subtracted), first 2,000 test images, α = 6..10.
for range in calibrate lee; do
    scripts/pann eval --nchw --alpha 6..10 --images 2000 --range $range --json > $out/resnet20-$range-base-2000.json
    scripts/pann eval --nchw --alpha 6..10 --images 2000 --range $range --leak-correction --json \
        > $out/resnet20-$range-leakcorr-2000.json
done
# The full 10,000 test images, calibrated bounds, α = 6..9 (the baseline is resnet20-calibrate-base.json above).
scripts/pann eval --nchw --alpha 6..9 --range calibrate --leak-correction --json > $out/resnet20-calibrate-leakcorr.json

# The mean-leak correction iterated on the corrected approximate network's own inputs (--leak-iterations).
for it in 1 2 3; do
    for range in lee calibrate; do
        scripts/pann eval --nchw --alpha 6..9 --images 2000 --range $range --leak-correction --leak-iterations $it --json \
            > $out/resnet20-$range-leakcorr-iter$it-2000.json
    done
done

# The shift as a trade (added 2026-12-07): η = F·ε moves only the fraction F of the leak zone onto positive inputs
# (--relu-shift Feps). F = 0 and 1 are resnet20-calibrate-{base,shift}.json above; calibrated bounds, all 10,000
# test images, α = 6..10.
for f in 0.125 0.25 0.5; do
    scripts/pann eval --nchw --alpha 6..10 --range calibrate --relu-shift ${f}eps --json \
        > $out/resnet20-calibrate-shift${f}.json
done
