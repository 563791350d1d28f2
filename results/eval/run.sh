#!/usr/bin/env bash
# Reproduces results/eval/: the bundled ResNet-20 on the 10,000 CIFAR-10 test images, exact and as a PANN for
# α = 4..14, with Lee et al.'s global range and with per-layer calibrated ranges, and the independent PyTorch
# reference of Lee's method on the same α (needs reference/setup.sh). Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=results/eval
scripts/pann eval --nchw --alpha 4..14 --range lee --json-out $out/resnet20-lee.json --plot $out/resnet20-lee.svg \
    > $out/resnet20-lee.txt
scripts/pann eval --nchw --alpha 4..14 --range calibrate --json --plot $out/resnet20-calibrate.svg > $out/resnet20-calibrate.json
reference/setup.sh
# The reference up to α = 12: each pass of its float64 tensor ops takes minutes at the degrees of α = 13, 14.
.venv-ref/bin/python reference/lee_pann.py --alpha 4..12 --pann-json $out/resnet20-lee.json \
    > $out/reference-lee.json 2> $out/reference-lee.log
