#!/bin/bash
# Probe (2026-12-02): 3-epoch low-lr tails of r20-pann-100 with and without mixup, then BN recalibration.
# Writes to /tmp; run from anywhere. The logs here are its output (the mix0.5 recalibration was rerun by hand with
# the same command after a flag rename; its lines are at the end of tail-mix0.5.out).
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && source scripts/env.sh
for mix in 0 0.5; do
  d=/tmp/probe-tail-mix$mix
  [ -f $d/log.csv ] && [ "$(tail -1 $d/log.csv | cut -d, -f1)" = 3 ] && continue
  rm -rf $d
  target/release/pann train --out $d --arch resnet20 --init runs/train/r20-pann-100/model.safetensors --epochs 3 \
     --batch 128 --lr 0.002 --momentum 0.9 --wd 1e-5 --mixup $mix --cutout 8 --schedule cosine --seed 0 > $d.out 2>&1
  target/release/pann recalibrate-bn --model $d/model.safetensors --out $d/model-bn.safetensors --cutout 8 >> $d.out 2>&1
done
