# shellcheck shell=bash
# Sets up libtorch for the tch-based crates (pann-nn and what uses it). Source it from the
# repository root or anywhere else:
#
#     source scripts/env.sh
#
# On a fresh machine the first call creates `.venv/` at the repository root (gitignored) and
# installs the PyTorch wheel there (about 540 MB, once); later calls only export variables.
#
# Why a Python wheel: it is the one libtorch build a package registry serves. tch 0.26 is built
# for libtorch 2.13.0, so the wheel is pinned to that version. The Linux wheel is the CUDA build;
# its `libtorch_cpu.so` itself needs `libcudart.so.13` and `libcupti.so.13` (profiler hooks) and
# finds them through its own RPATH under `site-packages/nvidia/cu13/lib`, so those two small
# wheels are pinned too. Nothing else of CUDA is installed (`--no-deps`): the CUDA-only libraries
# are never loaded on a CPU run, because our binaries do not end up needing `libtorch_cuda.so`.
#
# How binaries find libtorch at run time without LD_LIBRARY_PATH: `crates/pann-nn/build.rs`
# adds `-Wl,-rpath,<libtorch lib dir>` to the link of pann-nn's own tests, examples and
# benches; it takes the directory from torch-sys (`DEP_TCH_LIBTORCH_LIB`), so it is always the
# libtorch that was linked, and re-exports it as `DEP_PANN_NN_LIBTORCH_LIB` for binary crates
# that depend on pann-nn (their build.rs emits the same link arg; see pann-nn's build.rs).
# RUSTFLAGS are deliberately not used: they would be machine-specific, would rebuild the whole
# workspace whenever a shell without them runs cargo, and would override `.cargo/config.toml`.
#
# Variables exported:
#   LIBTORCH   the wheel's `torch/` directory (holds `include/` and `lib/`), read by torch-sys.
# No LIBTORCH_BYPASS_VERSION_CHECK: the wheel ships no `build-version` file, so torch-sys has
# no version to check; the pin above is what keeps tch and libtorch in step.

_pann_env_main() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    local venv="$root/.venv"
    local torch_version="2.13.0"

    if ! "$venv/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is None)" 2>/dev/null; then
        echo "scripts/env.sh: installing torch==$torch_version into $venv (about 540 MB, once)" >&2
        if [ ! -x "$venv/bin/python" ]; then
            python3 -m venv "$venv" || return 1
        fi
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
            "torch==$torch_version" \
            "nvidia-cuda-runtime==13.0.96" \
            "nvidia-cuda-cupti==13.0.85" || return 1
    fi

    local site
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || return 1
    export LIBTORCH="$site/torch"
    if [ ! -f "$LIBTORCH/lib/libtorch_cpu.so" ]; then
        echo "scripts/env.sh: $LIBTORCH/lib/libtorch_cpu.so missing; remove $venv and retry" >&2
        return 1
    fi
}

_pann_env_main
_pann_env_status=$?
unset -f _pann_env_main
# `return` works when sourced; the `exit` fallback covers `bash scripts/env.sh`.
return "$_pann_env_status" 2>/dev/null || exit "$_pann_env_status"
