#!/usr/bin/env bash
# pann.relu against NumPy Horner and Lee et al.'s torch tensor ops, α = 14, 10^7 values (python/bench/relu_bench.py),
# alone on the machine (scripts/exclusive). Needs .venv-py with pann installed (scripts/test-python makes it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
scripts/exclusive .venv-py/bin/python python/bench/relu_bench.py | tee results/python/relu_bench.txt
