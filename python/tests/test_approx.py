"""pann.approx and the NumPy kernels, each checked against an independent NumPy evaluation of the published
coefficients (the JSON of `pann approx --json`), not against the kernels' own arithmetic."""
import json
import threading
import time

import numpy as np
import pytest

import pann


def horner_odd(coeffs, t):
    """An odd polynomial from its power-basis coefficients, plain NumPy Horner in float64."""
    acc = np.zeros_like(t)
    for c in reversed(coeffs):
        acc = acc * t + c
    return acc


def sign_numpy(summary, t):
    for comp in summary["components"]:
        t = horner_odd(comp["coefficients"], t)
    return t


def sign_numpy_chebyshev(summary, t):
    """The composite from its odd Chebyshev form, by numpy.polynomial (T_{2j+1} at index 2j+1)."""
    for comp in summary["components"]:
        ch = comp["chebyshev"]
        full = np.zeros(2 * len(ch["coefficients"]))
        full[1::2] = ch["coefficients"]
        t = np.polynomial.chebyshev.chebval(t * ch["input_scale"], full)
    return t


@pytest.mark.parametrize("alpha", [6, 9, 12, 14])
def test_relu_matches_numpy_of_published_coefficients(alpha):
    a = pann.approx(alpha)
    summary = json.loads(a.json())
    assert summary["alpha"] == alpha and summary["degrees"] == a.degrees
    assert [c["coefficients"] for c in summary["components"]] == a.coefficients
    bound = 7.5
    x = np.linspace(-bound, bound, 200_001)
    want = x * (1 + sign_numpy(summary, x / bound)) / 2
    got = pann.relu(x, alpha, bound)
    assert got.dtype == np.float64 and got.shape == x.shape
    # Same polynomial, different rounding (fused multiply-adds, Horner in t² against Horner in t; the power basis
    # cancels digits at high degree): agreement within 1% of the approximation error.
    assert np.abs(got - want).max() <= 0.01 * bound * 2.0 ** -alpha
    # The certificate: ReLU error at most B·2^-α on [-B, B].
    assert np.abs(got - np.maximum(x, 0)).max() <= bound * a.max_relu_error * (1 + 1e-6)
    assert a.max_relu_error <= 2.0 ** -alpha
    # float32 in, float32 out, computed in float64: within the float32 rounding of the result.
    got32 = pann.relu(x.astype(np.float32), alpha, bound)
    assert got32.dtype == np.float32
    want32 = x.astype(np.float32).astype(np.float64)
    want32 = want32 * (1 + sign_numpy(summary, want32 / bound)) / 2
    assert np.abs(got32 - want32).max() <= 2 ** -23 * bound


def test_high_alpha_evaluates_the_chebyshev_form():
    """Where the power basis is less accurate than the certificate, the kernel uses the Chebyshev form."""
    cheb = [a for a in range(15, 21) if pann.approx(a).evaluates == "chebyshev"]
    assert cheb, "some α in 15..20 should need the Chebyshev form (pann-approx's certificate says so)"
    a = pann.approx(cheb[0])
    assert a.max_relu_error_power_basis > 2.0 ** -a.alpha
    summary = json.loads(a.json())
    x = np.linspace(-1, 1, 100_001)
    got = pann.relu(x, a, 1.0)
    want = x * (1 + sign_numpy_chebyshev(summary, x)) / 2
    assert np.abs(got - want).max() <= 1e-12
    assert np.abs(got - np.maximum(x, 0)).max() <= 2.0 ** -a.alpha


def test_approx_object_and_degrees():
    a = pann.approx(9)
    assert a.degrees == [15, 15] and a.depth == 8 and a.relu_depth == 9
    assert 0 < a.epsilon < 0.1 and a.max_sign_error <= 2.0 ** (1 - 9) * 1.001
    assert len(a.chebyshev) == 2 and all(len(c["coefficients"]) == 8 for c in a.chebyshev)
    s = json.loads(a.json())
    for key in ("depth", "relu_depth", "epsilon", "max_sign_error", "max_relu_error", "nonscalar_mults"):
        assert s[key] == getattr(a, key)
    assert abs(a(0.5) - 1) <= 2.0 ** (1 - 9)  # p(x) ≈ sign(x) away from 0
    # Degrees alone: the largest α they reach; one more is refused with the Rust message.
    d = pann.approx(degrees=[15, 15])
    assert d.degrees == [15, 15] and d.alpha >= 9
    with pytest.raises(pann.PannError, match="cannot reach"):
        pann.approx(d.alpha + 1, degrees=[15, 15])
    again = pann.approx(9, degrees=[15, 15])
    assert again.degrees == a.degrees and again.max_relu_error <= 2.0 ** -9
    assert "alpha=9" in repr(a)


def test_errors_carry_the_rust_message():
    with pytest.raises(pann.PannError, match="outside the supported range 4..=20"):
        pann.approx(3)
    with pytest.raises(ValueError):  # PannError is a ValueError
        pann.relu(np.zeros(3), 21, 1.0)
    with pytest.raises(pann.PannError, match="must be a positive finite number"):
        pann.relu(np.zeros(3), 9, float("nan"))
    with pytest.raises(pann.PannError, match="1 of 3 inputs are NaN"):
        pann.relu(np.array([0.0, np.nan, 1.0]), 9, 1.0)
    with pytest.raises(pann.PannError, match="even"):
        pann.approx(9, degrees=[15, 14])
    with pytest.raises(pann.PannError, match=r"shape \(..., H, W\)"):
        pann.max_pool(np.zeros(8), 9, 1.0)
    with pytest.raises(pann.PannError, match="does not fit"):
        pann.max_pool(np.zeros((2, 1, 4)), 9, 1.0)
    with pytest.raises(pann.PannError, match="out has shape"):
        pann.relu(np.zeros(4), 9, 1.0, out=np.zeros(5))
    # With stats, NaNs are counted (as overflows too), not raised: a range search needs to see them.
    _, st = pann.relu(np.array([0.0, np.nan, 3.0]), 9, 1.0, return_stats=True)
    assert st["nans"] == 1 and st["overflows"] == 2 and st["max_abs"] == 3.0


def test_shapes_layouts_and_in_place():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (4, 5, 6)).astype(np.float32)
    y = pann.relu(x, 9, 3.0)
    assert y.shape == x.shape and y.dtype == np.float32
    # A strided view gives what its contiguous copy gives.
    v = x[:, ::2, 1:]
    assert not v.flags.c_contiguous
    np.testing.assert_array_equal(pann.relu(v, 9, 3.0), pann.relu(np.ascontiguousarray(v), 9, 3.0))
    # In place: the same array comes back, holding the result.
    z = x.copy()
    r = pann.relu(z, 9, 3.0, out=z)
    assert r is z
    np.testing.assert_array_equal(z, y)
    # Lists and integers become float64.
    assert pann.relu([1, -1], 9, 1.0).dtype == np.float64
    _, st = pann.relu(np.array([-5.0, 1.0, 4.0]), 9, 3.0, return_stats=True)
    assert st == {"elements": 3, "overflows": 2, "max_abs": 5.0, "nans": 0}


def test_sign_and_relu_grad():
    a = pann.approx(12)
    summary = json.loads(a.json())
    t = np.linspace(-2, 2, 10_001)
    np.testing.assert_allclose(pann.sign(t, 12, 2.0), sign_numpy(summary, t / 2.0), atol=1e-12)
    # The derivative (1 + p(t))/2 + t·p'(t)/2, t = x/B, by NumPy's own polynomial derivative and the chain rule.
    x = np.linspace(-3.9, 3.9, 1001)
    t = x / 4.0
    y, slope = t, np.ones_like(t)
    for comp in summary["components"]:
        c = np.array(comp["coefficients"])
        slope = slope * np.polynomial.polynomial.polyval(y, np.polynomial.polynomial.polyder(c))
        y = np.polynomial.polynomial.polyval(y, c)
    want = (1 + y) / 2 + t * slope / 2
    # The composite's ripples make p' large (|t·p'| reaches about 1): compare relative to that scale.
    np.testing.assert_allclose(pann.relu_grad(x, 12, 4.0), want, atol=1e-6 * np.abs(want).max())


def pool_numpy(summary, alpha, x, bound, k):
    """The polynomial max-pool tree in NumPy: row-major window order, odd elements carried up."""
    n, h, w = x.shape[0], x.shape[1] // k, x.shape[2] // k
    win = x[:, :h * k, :w * k].reshape(n, h, k, w, k).transpose(0, 1, 3, 2, 4).reshape(n, h, w, k * k)
    vals = [win[..., e] for e in range(k * k)]
    level = 0
    while len(vals) > 1:
        d = 2 * bound * (1 + 2.0 ** (1 - alpha)) ** level
        nxt = [((a + b) + (a - b) * sign_numpy(summary, (a - b) / d)) / 2 for a, b in zip(vals[0::2], vals[1::2])]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals, level = nxt, level + 1
    return vals[0]


@pytest.mark.parametrize("k", [2, 3])
def test_max_pool_matches_numpy_tree(k):
    alpha, bound = 10, 4.0
    summary = json.loads(pann.approx(alpha).json())
    x = np.random.default_rng(k).uniform(-bound, bound, (7, 13, 11))
    got, st = pann.max_pool(x, alpha, bound, k, return_stats=True)
    want = pool_numpy(summary, alpha, x, bound, k)
    assert got.shape == want.shape == (7, 13 // k, 11 // k)
    np.testing.assert_allclose(got, want, atol=1e-10)
    assert st["overflows"] == 0 and st["max_abs"] <= bound
    true_max = x[:, :13 // k * k, :11 // k * k].reshape(7, 13 // k, k, 11 // k, k).max(axis=(2, 4))
    levels = int(np.ceil(np.log2(k * k)))
    err_bound = sum(2 * bound * (1 + 2.0 ** (1 - alpha)) ** l for l in range(levels)) * 2.0 ** -alpha
    assert np.abs(got - true_max).max() <= err_bound
    got32 = pann.max_pool(x.astype(np.float32), alpha, bound, k)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, atol=1e-5)


def test_kernel_releases_the_gil():
    """While pann.relu runs, another Python thread keeps running: holding the GIL, the call would let it take at
    most a step or two (the interpreter hands the GIL over only between bytecodes, and the call is one)."""
    x = np.random.default_rng(1).uniform(-1, 1, 30_000_000).astype(np.float32)
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        time.sleep(0.01)
        before = count[0]
        t0 = time.perf_counter()
        pann.relu(x, 14, 1.0)
        seconds = time.perf_counter() - t0
        during = count[0] - before
    finally:
        stop.set()
        th.join()
    assert during > 1000, (during, seconds)
