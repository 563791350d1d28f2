#!/usr/bin/env bash
# Encrypted inference (issue 6): the committed smallcnn on the first 100 CIFAR-10 test images, fully encrypted
# (RNS-CKKS, 128-bit secure parameters chosen for the network's depth), at α = 7 and α = 6; then the CKKS
# operation benchmark. Run alone on the machine: the timings are part of the results.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
for a in 7 6; do
    target/release/pann he infer --alpha "$a" --images 100 --json > "results/he/infer-alpha$a.json"
done
# Fashion-MNIST (Debian package dataset-fashion-mnist) with the model trained on it.
target/release/pann he infer --model models/smallcnn-fashion-mnist.safetensors --dataset fashion-mnist \
    --data /usr/share/datasets/fashion-mnist --alpha 7 --images 100 --json > results/he/infer-fashion-alpha7.json
for lc in "--leak-correction" ""; do
    target/release/pann he infer --model models/smallcnn-fashion-mnist.safetensors --dataset fashion-mnist \
        --data /usr/share/datasets/fashion-mnist --alpha 6 --images 100 $lc --json \
        > "results/he/infer-fashion-alpha6${lc:+-leakcorr}.json"
done
cargo bench -p pann-he 2>/dev/null | grep -E "^(pn1[456]|\s+time:)" > results/he/bench.txt
cargo bench -p pann-he -- ntt 2>/dev/null | grep -E "^(pn1[456]|\s+time:)" > results/he/bench-ntt.txt
