#!/usr/bin/env bash
# Does bf16 mixed precision (`pann train --bf16`) learn as f32 training does? The same short run twice, f32 and
# bf16: ResNet-20, the first 20,000 training images, 4 one-cycle epochs, wd 5e-4, crop+flip, seed 0; test accuracy
# on all 10,000 test images after each epoch (log.csv). A sanity check of the numerics, not a parity proof for long
# runs. About 5 min with nothing else running. Writes results/train/bf16_check.txt. Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for p in f32 bf16; do
    flag=(); [ $p = bf16 ] && flag=(--bf16)
    scripts/pann train --out "$tmp/$p" --arch resnet20 --train-images 20000 --epochs 4 --batch 128 --lr 0.1 \
        --momentum 0.9 --wd 5e-4 --schedule onecycle --seed 0 "${flag[@]}" > "$tmp/$p.out" 2>&1
done
{
    echo "ResNet-20, 20,000 training images, 4 one-cycle epochs: test accuracy per epoch (10,000 test images)"
    printf '%-6s %s\n' epoch "f32 bf16 (train s/epoch f32 bf16)"
    paste -d, <(cut -d, -f1,4,7 "$tmp/f32/log.csv") <(cut -d, -f4,7 "$tmp/bf16/log.csv") | tail -n +2 |
        awk -F, '{ printf "%-6s %.4f %.4f (%.1f %.1f)\n", $1, $2, $4, $3, $5 }'
} > results/train/bf16_check.txt
cat results/train/bf16_check.txt
