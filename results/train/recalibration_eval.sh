#!/usr/bin/env bash
# The 100-epoch pair as trained and after BN recalibration (run.sh step 7) as PANNs: Lee et al.'s global B at
# α = 7..9 and per-layer calibrated bounds at α = 6..9, on the first 2,000 test images. Writes recalibration_eval.txt.
# About 3 min (pause a running training first: two heavy jobs at once slow both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
{
    for m in r20-pann-100/model r20-pann-100/model-bn r20-common-100/model r20-common-100/model-bn; do
        echo "== $m (Lee's rule)"
        target/release/pann eval --nchw --model "runs/train/$m.safetensors" --alpha 7,8,9 --range lee --images 2000 | tail -6
    done
    for m in r20-pann-100/model r20-pann-100/model-bn; do
        echo "== $m (calibrated)"
        target/release/pann eval --nchw --model "runs/train/$m.safetensors" --alpha 6,7,8,9 --range calibrate --images 2000 | tail -5
    done
} > results/train/recalibration_eval.txt.tmp
mv results/train/recalibration_eval.txt.tmp results/train/recalibration_eval.txt
