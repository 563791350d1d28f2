"""pann.he: pann-he's RNS-CKKS from Python.

    ctx = pann.he.Context("test_insecure", log_n=12, levels=10)   # DISCLAIMER: toy ring, not secure
    keys = ctx.keygen(rotations=[1])
    ev = ctx.evaluator(keys)
    ct = ctx.encrypt(np.array([0.5, -0.25]), keys.public_key)
    out = ctx.decrypt(ev.relu(ct, 7, 1.0), keys.secret_key, count=2)

Presets: pn14_qp400, pn15_qp881, pn16_qp1500, for_levels, n16_bootstrap (128-bit); test_insecure,
test_insecure_bootstrap (toy rings). Ciphertexts and evaluation keys are saved with ``ctx.save(obj, path)`` and
read back with ``ctx.load_ciphertext(path)`` etc., with the Rust side's checks; secret keys are never saved or
printed.
"""
from ._pann import he as _he

Context = _he.Context
KeySet = _he.KeySet
SecretKey = _he.SecretKey
PublicKey = _he.PublicKey
RelinKey = _he.RelinKey
GaloisKeys = _he.GaloisKeys
Ciphertext = _he.Ciphertext
Evaluator = _he.Evaluator

__all__ = ["Context", "KeySet", "SecretKey", "PublicKey", "RelinKey", "GaloisKeys", "Ciphertext", "Evaluator"]
