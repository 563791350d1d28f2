#!/usr/bin/env bash
# Creates .venv-openfhe/ (ignored) with the PyPI `openfhe` wheel, built for CPython 3.10, for the side-by-side
# bootstrapping reference (reference/openfhe_bootstrap.py). pann never links OpenFHE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON310:-}"
if [ -z "$py" ]; then
    # The pyenv shim needs PYENV_VERSION to pick 3.10 when another version is the global default.
    if [ -x /root/.pyenv/versions/3.10.13/bin/python3.10 ]; then py=/root/.pyenv/versions/3.10.13/bin/python3.10; else py="env PYENV_VERSION=3.10.13 /root/.pyenv/shims/python3.10"; fi
fi
if ! "$root/.venv-openfhe/bin/python" -c "import openfhe" 2>/dev/null; then
    $py -m venv "$root/.venv-openfhe"
    "$root/.venv-openfhe/bin/pip" install --quiet --disable-pip-version-check openfhe numpy
fi
"$root/.venv-openfhe/bin/python" -c "import openfhe; print('openfhe', getattr(openfhe, '__version__', '(version unknown)'))"
