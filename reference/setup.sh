#!/usr/bin/env bash
# Creates .venv-ref/ with the full PyTorch wheel (about 4.7 GB with its CUDA dependencies, about 70 s here),
# for the independent reference (reference/lee_pann.py) and the PyTorch side of `pann bench`.
# pann itself never needs it: scripts/env.sh installs only the libtorch part it links.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! "$root/.venv-ref/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$root/.venv-ref"
    "$root/.venv-ref/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0 numpy
fi
