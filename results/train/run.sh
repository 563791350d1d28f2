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
# (3) issue 5's weight-decay sweep: wd ∈ {0, 1e-4, 5e-4, 5e-3}, mixup off, the same 20-epoch one-cycle schedule
#     for all four (shorter than (1)/(2) so that the sweep fits the CPU budget; compared only with each other).
for wd in 0 1e-4 5e-4 5e-3; do
    run "results/train/wd-$wd" --arch resnet20 --epochs 20 --batch 128 --lr 0.1 --momentum 0.9 --wd "$wd" \
        --schedule onecycle --seed 0
done
# (4) approximation-aware fine-tuning of the PANN-friendly model through the α = 8 polynomial ReLU (issue 4/5).
if [ -f results/train/r20-pann/model.safetensors ] && grep -q '"epoch": *60' results/train/r20-pann/log.json 2>/dev/null; then
    run results/train/r20-pann-ft8 --arch resnet20 --init results/train/r20-pann/model.safetensors --epochs 5 \
        --batch 128 --lr 0.01 --momentum 0.9 --wd 1e-5 --mixup 0.5 --schedule cosine --pann-alpha 8 --seed 0
fi
