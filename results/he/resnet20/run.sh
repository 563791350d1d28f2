#!/usr/bin/env bash
# Encrypted ResNet-20 on CIFAR-10 at N = 2^16 with bootstrapping (issue 27): per α, the first IMAGES test images,
# one JSON line per image appended to results/he/resnet20/a<α>.jsonl as it finishes (a rerun resumes: images
# already in the file are skipped), the run's summary JSON in a<α>.json and its time/memory in a<α>.time.
#
#     results/he/resnet20/run.sh [IMAGES] [α ...]        # default: 2 images at α = 9, 7, 12, 14
#
# Each image takes minutes and about 12 GB: run it alone (scripts/exclusive pauses a background training and
# waits for other heavy jobs). a9-n16-dense-preset.jsonl is the one image run before sparse-secret encapsulation
# (the dense N = 2^16 preset, 10 key-switching digits): 918 s, 14.7 GB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
images=${1:-2}
shift || true
alphas=("${@:-9 7 12 14}")
# shellcheck disable=SC2068
for a in ${alphas[@]}; do
    out=results/he/resnet20/a$a
    scripts/exclusive /usr/bin/time -v -o "$out.time" target/release/pann he infer \
        --model models/resnet20-pann.safetensors --alpha "$a" --images "$images" --json \
        --results "$out.jsonl" > "$out.json"
done
