"""pann.he: a round trip, the operations, files and their checks, the encrypted ReLU against the plaintext one,
and a bootstrap. Toy rings (DISCLAIMER: insecure parameters, tests only)."""
import pickle

import numpy as np
import pytest

import pann
import pann.he as he


@pytest.fixture(scope="module")
def setup():
    ctx = he.Context("test_insecure", log_n=12, levels=9, seed=1)
    keys = ctx.keygen(rotations=[1, -2], seed=2)
    return ctx, keys, ctx.evaluator(keys)


def test_round_trip_and_operations(setup):
    ctx, keys, ev = setup
    assert not ctx.secure and ctx.slots == 2048 and ctx.max_level == 9
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, 100), rng.uniform(-1, 1, 100)
    ca, cb = ctx.encrypt(a, keys.public_key), ctx.encrypt(b, keys.public_key)
    dec = lambda c, n=100: ctx.decrypt(c, keys.secret_key, count=n)  # noqa: E731
    assert ca.level == 9 and ca.scale == ctx.default_scale
    assert np.abs(dec(ca) - a).max() < 1e-6
    assert np.abs(dec(ev.add(ca, cb)) - (a + b)).max() < 1e-6
    assert np.abs(dec(ev.sub(ca, cb)) - (a - b)).max() < 1e-6
    prod = ev.multiply(ca, cb)
    assert prod.level == 8 and np.abs(dec(prod) - a * b).max() < 1e-6
    raw = ev.multiply(ca, cb, rescale=False)
    assert raw.level == 9 and ev.rescale(raw).level == 8
    rot = ev.rotate(ca, 1)
    assert np.abs(dec(rot, 99) - a[1:]).max() < 1e-6
    full = np.zeros(ctx.slots)
    full[:100] = a
    assert np.abs(ctx.decrypt(ev.rotate(ca, -2), keys.secret_key)[2:102] - a).max() < 1e-6
    assert np.abs(dec(ev.mul_const(ca, 0.5)) - a / 2).max() < 1e-6
    assert np.abs(dec(ev.add_const(ca, 3.0)) - (a + 3)).max() < 1e-6
    # Errors carry the Rust message.
    with pytest.raises(pann.PannError, match="missing key"):
        ev.rotate(ca, 3)
    with pytest.raises(pann.PannError, match="scale mismatch"):
        ev.add(ca, raw)
    with pytest.raises(pann.PannError, match="cannot encode"):
        ctx.encrypt(np.array([1.0, np.nan]), keys.public_key)
    with pytest.raises(pann.PannError, match="1-D"):
        ctx.encrypt(np.zeros((2, 2)), keys.public_key)
    low = ev.drop_to_level(ca, 0)
    with pytest.raises(pann.PannError, match="scale budget exceeded in mul"):
        ev.multiply(low, low)
    with pytest.raises(pann.PannError, match="level budget exhausted: rescale"):
        ev.rescale(low)


def test_files_and_secret_key_hygiene(setup, tmp_path):
    ctx, keys, ev = setup
    v = np.linspace(-1, 1, 50)
    ct = ctx.encrypt(v, keys.public_key)
    path = tmp_path / "ct.bin"
    ctx.save(ct, path)
    back = ctx.load_ciphertext(path)
    assert back.level == ct.level and back.scale == ct.scale
    assert np.array_equal(ctx.decrypt(back, keys.secret_key, 50), ctx.decrypt(ct, keys.secret_key, 50))
    data = path.read_bytes()
    (tmp_path / "short.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(pann.PannError, match="truncated"):
        ctx.load_ciphertext(tmp_path / "short.bin")
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 1
    (tmp_path / "bad.bin").write_bytes(bytes(bad))
    with pytest.raises(pann.PannError, match="checksum"):
        ctx.load_ciphertext(tmp_path / "bad.bin")
    other = he.Context("test_insecure", log_n=11, levels=2)
    with pytest.raises(pann.PannError, match="other parameters"):
        other.load_ciphertext(path)
    ctx.save(keys.public_key, tmp_path / "pk.bin")
    with pytest.raises(pann.PannError, match="kind"):
        ctx.load_ciphertext(tmp_path / "pk.bin")
    # Keys round-trip through files and still work.
    ctx.save(keys.relin_key, tmp_path / "rlk.bin")
    ctx.save(keys.galois_keys, tmp_path / "gk.bin")
    pk = ctx.load_public_key(tmp_path / "pk.bin")
    ev2 = ctx.evaluator(relin_key=ctx.load_relin_key(tmp_path / "rlk.bin"),
                        galois_keys=ctx.load_galois_keys(tmp_path / "gk.bin"))
    c2 = ctx.encrypt(v, pk)
    assert np.abs(ctx.decrypt(ev2.rotate(ev2.multiply(c2, c2), 1), keys.secret_key, 49) - v[1:] ** 2).max() < 1e-6
    # The secret key never prints, pickles or saves.
    for text in (repr(keys.secret_key), str(keys.secret_key), repr(keys)):
        assert "redacted" in text
    with pytest.raises(TypeError):
        pickle.dumps(keys.secret_key)
    with pytest.raises(TypeError):
        pickle.dumps(keys)
    with pytest.raises(TypeError, match="no file format"):
        ctx.save(keys.secret_key, tmp_path / "sk.bin")


@pytest.mark.parametrize("alpha,bound", [(7, 4.0), (9, 1.0)])
def test_encrypted_relu_matches_plaintext(setup, alpha, bound):
    ctx, keys, ev = setup
    x = np.random.default_rng(alpha).uniform(-bound, bound, 512)
    ct = ctx.encrypt(x, keys.public_key)
    levels = ev.relu_levels(alpha, bound)
    assert levels == pann.approx(alpha).relu_depth + (bound != 1.0)
    if levels > ct.level:
        pytest.fail(f"the test ring has {ct.level} levels, α = {alpha} needs {levels}")
    out = ev.relu(ct, alpha, bound)
    assert out.level == ct.level - levels and out.scale == ct.scale
    got = ctx.decrypt(out, keys.secret_key, 512)
    plain = pann.relu(x, alpha, bound)
    assert np.abs(got - plain).max() < 1e-4 * bound
    assert np.abs(got - np.maximum(x, 0)).max() <= bound * 2.0 ** -alpha + 1e-4
    short = ev.drop_to_level(ct, levels - 1)
    with pytest.raises(pann.PannError, match="level budget exhausted"):
        ev.relu(short, alpha, bound)


def test_bootstrap_on_a_toy_ring():
    ctx = he.Context("test_insecure_bootstrap", log_n=10, levels=2, seed=3)
    assert ctx.bootstrappable and ctx.bootstrap_output_level == 2
    keys = ctx.keygen(seed=4)
    ev = ctx.evaluator(keys)
    v = np.random.default_rng(1).uniform(-1, 1, ctx.slots)
    ct = ctx.encrypt(v, keys.public_key, level=0)
    out = ev.bootstrap(ct)
    assert out.level == 2 and out.scale == ctx.default_scale
    assert np.abs(ctx.decrypt(out, keys.secret_key) - v).max() < 1e-4
    # The refreshed ciphertext computes on.
    sq = ev.multiply(out, out)
    assert np.abs(ctx.decrypt(sq, keys.secret_key) - v * v).max() < 1e-4
    plain_ctx = he.Context("test_insecure", log_n=10, levels=2)
    pk = plain_ctx.keygen()
    with pytest.raises(pann.PannError, match="no bootstrapping"):
        plain_ctx.evaluator(pk).bootstrap(plain_ctx.encrypt([0.5], pk.public_key))
