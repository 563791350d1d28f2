#!/bin/bash
# Probe (2026-12-02): stochastic weight averaging of the 100-epoch pair: 10 epochs at constant lr 0.01 from each
# model, one snapshot per epoch (copied by a watcher; `pann train --snapshots` now does the same), then the average
# of all 10 and of the last 5, each BN-recalibrated. Writes to /tmp.
cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && source scripts/env.sh
swa() {  # name base wd mixup
  local d=/tmp/swa-$1
  rm -rf $d $d-snap; mkdir -p $d-snap
  ( last=0; while true; do
      n=$( [ -f $d/log.csv ] && tail -n +2 $d/log.csv | wc -l || echo 0)
      if [ "$n" -gt "$last" ]; then cp $d/model.safetensors $d-snap/e$n.safetensors; last=$n; fi
      [ "$last" -ge 10 ] && break; sleep 5; done ) &
  local w=$!
  target/release/pann train --out $d --arch resnet20 --init runs/train/$2/model.safetensors --epochs 10 \
     --batch 128 --lr 0.01 --momentum 0.9 --wd $3 --mixup $4 --cutout 8 --schedule step --gamma 1 --seed 0 > $d.out 2>&1
  wait $w
  target/release/pann recalibrate-bn --model $(ls $d-snap/e*.safetensors | sort -V | paste -sd,) \
     --out $d/model-swa.safetensors --cutout 8 >> $d.out 2>&1
  target/release/pann recalibrate-bn --model $(ls $d-snap/e*.safetensors | sort -V | tail -5 | paste -sd,) \
     --out $d/model-swa5.safetensors --cutout 8 >> $d.out 2>&1
}
swa common r20-common-100 5e-4 0
swa pann r20-pann-100 1e-5 0.5
