"""Shared helpers of the pann Python tests: data locations, the CI rule for missing data, the bundled ResNet-20.

Under CI (env CI set and not 0) a test whose data is missing fails; elsewhere it is skipped — the same rule as the
Rust tests (pann_data::test_utils::require).
"""
import json
import os
import struct

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("PANN_SHARED", os.path.join(ROOT, "..", "shared"))
MODEL = os.path.join(SHARED, "models", "resnet20-akamaster.safetensors")
CIFAR_TEST = os.path.join(SHARED, "data", "cifar-10-batches-bin", "test_batch.bin")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def under_ci():
    return os.environ.get("CI", "") not in ("", "0", "false")


def require(path):
    """The path, or a skip (a failure under CI) naming what is missing."""
    if not os.path.exists(path):
        msg = f"missing test data: {path} (set PANN_SHARED)"
        if under_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def require_torch():
    try:
        import torch
    except ImportError:
        if under_ci():
            pytest.fail("PyTorch is not installed in the test environment (scripts/test-python installs it)")
        pytest.skip("PyTorch is not installed", allow_module_level=True)
    return torch


def load_safetensors(path):
    """A safetensors file as a dict of NumPy arrays (a reader of our own: the format is a JSON header + raw)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    kinds = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=kinds[meta["dtype"]]).reshape(meta["shape"])
        out[name.removeprefix("module.")] = arr.copy()
    return out


def cifar10_test(limit):
    """The first ``limit`` CIFAR-10 test images, normalised (NCHW float32), and their labels."""
    raw = np.fromfile(require(CIFAR_TEST), dtype=np.uint8).reshape(-1, 3073)[:limit]
    labels = raw[:, 0].astype(np.int64)
    x = raw[:, 1:].astype(np.float32).reshape(-1, 3, 32, 32) / 255.0
    x = (x - np.array(MEAN, np.float32).reshape(1, 3, 1, 1)) / np.array(STD, np.float32).reshape(1, 3, 1, 1)
    return x.astype(np.float32), labels
