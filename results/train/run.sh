#!/usr/bin/env bash
# The two ResNet-20 training runs of issue 4, one after the other (never both at once: libtorch's 2-thread mode
# collapses under contention). 60 one-cycle epochs each, ~108 s per epoch on the 2-core machine (~1 h 50 min).
# Each run checkpoints after every epoch into its directory; if the session ends, rerun this script: a directory
# with a checkpoint is resumed (`--resume`), a finished one is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
run() {
    local dir=$1; shift
    if [ -f "$dir/checkpoint.safetensors" ]; then
        target/release/pann train --resume "$dir" >> "$dir.out" 2>&1
    else
        mkdir -p "$(dirname "$dir")"
        target/release/pann train --out "$dir" "$@" > "$dir.out" 2>&1
    fi
}
# (1) the common recipe: weight decay 5e-4, no mixup
run results/train/r20-common --arch resnet20 --epochs 60 --batch 128 --lr 0.1 --momentum 0.9 --wd 5e-4 \
    --schedule onecycle --seed 0
# (2) the PANN-friendly recipe: minimal weight decay, mixup
run results/train/r20-pann --arch resnet20 --epochs 60 --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-5 --mixup 0.5 \
    --schedule onecycle --seed 0
