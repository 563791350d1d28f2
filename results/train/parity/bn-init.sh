#!/usr/bin/env bash
# Trainer parity after the BN-initialisation fix (results/train/README.md, "Trainer parity with PyTorch"): tch
# initialises BN scales uniformly in [0, 1), PyTorch to 1; pann now sets 1. These are results/train/wd-5e-4's
# command (15 epochs, wd 5e-4, one-cycle) with seeds 0 and 1, to set beside PyTorch's 86.09% / 86.19% and the
# earlier pann runs' 85.35% / 85.16%. Resumable: rerun this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
for seed in 0 1; do
    dir=runs/train/parity/pann-bninit-seed$seed
    if [ -f "$dir/checkpoint.safetensors" ]; then
        [ "$(grep -c . "$dir/log.csv")" -gt 15 ] || target/release/pann train --resume "$dir" >> "$dir.out" 2>&1
    else
        target/release/pann train --out "$dir" --arch resnet20 --epochs 15 --batch 128 --lr 0.1 --momentum 0.9 \
            --wd 5e-4 --schedule onecycle --seed $seed > "$dir.out" 2>&1
    fi
done
