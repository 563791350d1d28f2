#!/usr/bin/env bash
# Reproduces results/eval/smallcnn-*: the committed SmallCNNs (models/) as PANNs on all 10,000 test images, α = 4..14
# under Lee et al.'s global range and per-layer calibrated ranges, and α = 4..9 with the leak correction.
# Fashion-MNIST is read from /usr/share/datasets/fashion-mnist (IDX files). Run from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=results/eval
F=(--dataset fashion-mnist --data /usr/share/datasets/fashion-mnist)
for r in lee calibrate; do
    scripts/pann eval --nchw --model models/smallcnn-cifar10.safetensors --alpha 4..14 --range $r --json \
        --plot $out/smallcnn-cifar10-$r.svg > $out/smallcnn-cifar10-$r.json
    scripts/pann eval --nchw --model models/smallcnn-fashion-mnist.safetensors "${F[@]}" --alpha 4..14 --range $r --json \
        --plot $out/smallcnn-fashion-mnist-$r.svg > $out/smallcnn-fashion-mnist-$r.json
    scripts/pann eval --nchw --model models/smallcnn-cifar10.safetensors --alpha 4..9 --range $r --leak-correction --json \
        > $out/smallcnn-cifar10-$r-leakcorr.json
    scripts/pann eval --nchw --model models/smallcnn-fashion-mnist.safetensors "${F[@]}" --alpha 4..9 --range $r \
        --leak-correction --json > $out/smallcnn-fashion-mnist-$r-leakcorr.json
done
