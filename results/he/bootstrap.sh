#!/usr/bin/env bash
# Issue 26: one full-slot CKKS bootstrap at N = 2^16 (128-bit preset), pann against OpenFHE's EvalBootstrap
# (full slots, uniform ternary secret, level budget [3, 3], 2 threads) in the same run on the same machine.
# Run alone on the machine (the timings are the result; scripts/exclusive pauses a background training and waits
# for other heavy jobs); reference/openfhe_setup.sh installs OpenFHE first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/env.sh
cargo build --release --quiet -p pann-cli
[ -x .venv-openfhe/bin/python ] || reference/openfhe_setup.sh
scripts/exclusive target/release/pann he bootstrap-bench --log-n 16 --openfhe --json > results/he/bootstrap-n16.json
cat results/he/bootstrap-n16.json
