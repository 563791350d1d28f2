#!/usr/bin/env python3
"""OpenFHE's CKKS EvalBootstrap measured the way `pann_he::bootstrap::bench` measures ours.

Full slots at N = 2^16, uniform ternary secret, level budget [3, 3], FLEXIBLEAUTO scaling, 2 OpenMP threads;
uniform random values in [-1, 1]. Prints one JSON object with the fields of pann's report (`OpenFheBootstrap` in
crates/pann-cli/src/commands/reference.rs); the set-up, log Q, log P, the digit count and timings go to stderr.

Set-ups:
- default: OpenFHE's own bootstrapping examples: HEStd_NotSet, depth 10 + GetBootstrapDepth([3, 3]) = 30,
  59-bit scaling primes, 60-bit first prime, OpenFHE's default 3 key-switching digits. NOT 128-bit secure at
  N = 2^16: log Q = 1830 and log QP = 2490 (P: 11 primes of 60 bits), over the HE Standard's 1772.
- `--secure`: HEStd_128_classic at the same ring, which OpenFHE itself checks against log QP (it refuses the
  context over the bound). The same 59/60-bit moduli with 6 digits fit only depth 23 (3 levels asked for,
  4 left): log QP = 1717. More levels need smaller scaling primes and more digits (e.g. `--scale-bits 55
  --digits 7 --levels-after 6`: log QP = 1730, 7 left) and cost precision and key memory. 10 levels left within
  the bound do not fit this machine: OpenFHE's bootstrapping requires first - scaling bits <= its correction
  factor (8 at N = 2^16), so with the 60-bit first prime the scaling primes have at least 52 bits, and 52-bit
  primes at depth 30 pass the check only with 16 digits (P = 2 primes): about 28 GB of keys. A smaller first
  prime (51 bits, 50-bit scaling, 11 digits: ~20 GB of keys) bootstrapped to 9.7 bits mean at N = 2^14.

Data types: complex slots (real and imaginary parts both uniform in [-1, 1], both measured) use OpenFHE's COMPLEX
CKKS data type; `--real` measures real slots (imaginary parts zero, its default REAL type; precision over the
real parts only).

log QP: the wheel has no getter for P, so Q's primes and the digit count are read from the serialised crypto
context and P's primes from a ciphertext extended to the key-switching basis QP (`KeySwitchExt`). Key bytes: the
evaluation keys are serialised to a file under --keys-dir after the timing and after the peak RSS (VmHWM) has
been read, measured, then deleted. (An earlier version serialised them into Python bytes with
Serialize*KeyString, which returns them as one Python bytes object built from a C++ string: at least two more
copies of the 6.6 GB of keys on top of the 13.4 GiB the bootstrapping holds, OOM-killed at 24.3 GB.)

Run: reference/openfhe_setup.sh, then
    scripts/exclusive env OMP_NUM_THREADS=2 .venv-openfhe/bin/python reference/openfhe_bootstrap.py \
        [--log-n 16] [--threads 2] [--real] [--secure]
"""

import argparse
import json
import math
import os
import random
import re
import sys
import time


def peak_rss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


MODULUS_RE = re.compile(r'"cm":\s*\{[^{}\[\]]*?"v":\s*(\d+)')


def context_moduli(fhe, cc):
    """Q's primes, the number of key-switching digits and the size of P's primes, from the serialised context."""
    d = json.loads(fhe.Serialize(cc, fhe.JSON))
    params = d["value0"]["ptr_wrapper"]["data"]["cc"]["ptr_wrapper"]["data"]["value0"]
    elp = params["value0"]["value0"]["elp"]["ptr_wrapper"]["data"]
    q = [int(e["ptr_wrapper"]["data"]["value0"]["cm"]["v"]) for e in elp["p"]]
    return q, params.get("dnum"), params.get("ab")


def special_moduli(fhe, cc, ct, q):
    """P's primes: the moduli of `ct` extended to the basis QP that are not primes of Q."""
    s = fhe.Serialize(cc.KeySwitchExt(ct, True), fhe.JSON)
    moduli = {int(m) for m in MODULUS_RE.findall(s)}
    return sorted(moduli - set(q))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-n", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--levels-after", type=int, default=None, help="levels asked for after bootstrapping (default 10, or 3 with --secure)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--real", dest="complex", action="store_false", help="imaginary parts zero (REAL data type)")
    ap.add_argument(
        "--secure",
        action="store_true",
        help="HEStd_128_classic at the given ring (OpenFHE refuses a context over the HE Standard bound); "
        "defaults 59/60-bit moduli, 6 digits, 3 levels asked for after bootstrapping",
    )
    ap.add_argument("--scale-bits", type=int, default=59, help="scaling prime bits")
    ap.add_argument("--first-bits", type=int, default=60, help="first prime bits")
    ap.add_argument("--digits", type=int, default=None, help="key-switching digits (default OpenFHE's 3, or 6 with --secure)")
    ap.add_argument("--keys-dir", default="/tmp", help="where the keys are serialised to be measured (then deleted)")
    args = ap.parse_args()
    levels_after = args.levels_after if args.levels_after is not None else (3 if args.secure else 10)
    scale_bits = args.scale_bits
    digits = args.digits if args.digits is not None else (6 if args.secure else 0)
    # OpenMP reads this when the library loads.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import openfhe as fhe

    secret = fhe.SecretKeyDist.UNIFORM_TERNARY
    level_budget = [3, 3]
    p = fhe.CCParamsCKKSRNS()
    p.SetSecretKeyDist(secret)
    # The ring is fixed by hand (as in OpenFHE's own bootstrapping examples). With --secure OpenFHE checks that
    # log QP is within the HE Standard's 128-bit bound for that ring and refuses the context otherwise.
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic if args.secure else fhe.SecurityLevel.HEStd_NotSet)
    p.SetRingDim(1 << args.log_n)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetScalingModSize(scale_bits)
    p.SetFirstModSize(args.first_bits)
    if digits:
        p.SetNumLargeDigits(digits)
    # Complex slots need OpenFHE's complex CKKS mode (its default bootstrapping assumes real slots and returns
    # garbage for complex ones).
    if args.complex:
        p.SetCKKSDataType(fhe.CKKSDataType.COMPLEX)
    boot_depth = getattr(fhe, "FHECKKSRNS", fhe.CryptoContext).GetBootstrapDepth(level_budget, secret)
    depth = levels_after + boot_depth
    p.SetMultiplicativeDepth(depth)
    start = time.perf_counter()
    cc = fhe.GenCryptoContext(p)
    for feature in ("PKE", "KEYSWITCH", "LEVELEDSHE", "ADVANCEDSHE", "FHE"):
        cc.Enable(getattr(fhe.PKESchemeFeature, feature))
    slots = cc.GetRingDimension() // 2
    cc.EvalBootstrapSetup(level_budget)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalBootstrapKeyGen(keys.secretKey, slots)
    log(
        f"set-up: {'HEStd_128_classic' if args.secure else 'HEStd_NotSet'}, "
        f"{'COMPLEX' if args.complex else 'REAL'}, depth {depth} (bootstrapping {boot_depth}), "
        f"scaling {scale_bits} / first {args.first_bits} bits; context, setup and keys {time.perf_counter() - start:.1f} s, "
        f"peak RSS so far {peak_rss_bytes() / 2**30:.2f} GiB"
    )

    rng = random.Random(args.seed)
    values = [complex(rng.uniform(-1, 1), rng.uniform(-1, 1) if args.complex else 0.0) for _ in range(slots)]
    pt = cc.MakeCKKSPackedPlaintext(values, 1, depth - 1)
    pt.SetLength(slots)
    ct = cc.Encrypt(keys.publicKey, pt)
    # The first call may finish lazy precomputations; the second is timed (ours builds its plan beforehand too).
    start = time.perf_counter()
    out = cc.EvalBootstrap(ct)
    first = time.perf_counter() - start
    del out
    start, cpu = time.perf_counter(), time.process_time()
    out = cc.EvalBootstrap(ct)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    peak = peak_rss_bytes()
    log(f"first EvalBootstrap {first:.2f} s, second {seconds:.2f} s ({cpu / seconds:.2f} cores busy), "
        f"peak RSS {peak / 2**30:.2f} GiB")
    dec = cc.Decrypt(out, keys.secretKey)
    dec.SetLength(slots)
    got = dec.GetCKKSPackedValue()
    errs = []
    for a, b in zip(got, values):
        a = complex(a)
        errs.append(abs(a.real - b.real))
        if args.complex:
            errs.append(abs(a.imag - b.imag))
    max_err = max(errs)
    mean_err = sum(errs) / len(errs)

    # log QP, after the peak has been read.
    log_qp = None
    try:
        q, dnum, aux_bits = context_moduli(fhe, cc)
        log_q = math.log2(math.prod(q))
        log(f"Q: {len(q)} primes, log2 Q = {log_q:.2f}; key-switching digits {dnum}, special primes of {aux_bits} bits")
        ext_ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext([0.0], 1, depth))
        pp = special_moduli(fhe, cc, ext_ct, q)
        if pp:
            log_p = math.log2(math.prod(pp))
            log_qp = log_q + log_p
            bound = {15: 881, 16: 1772}.get(args.log_n)  # the bound pann holds its presets to (max_log_qp_128)
            log(f"P: {len(pp)} primes, log2 P = {log_p:.2f}; log2 QP = {log_qp:.2f}"
                + (f" (HE Standard 128-bit bound for N = 2^{args.log_n}, ternary secret: {bound}: "
                   f"{'within' if log_qp <= bound else 'OVER'})" if bound else ""))
        else:
            log("P's primes not found in the extended ciphertext: log_qp null")
    except Exception as e:
        log(f"log QP not determined: {e}")

    # Key bytes: serialised to a file (streamed, no in-memory copy), measured, deleted.
    keys_bytes = 0
    path = os.path.join(args.keys_dir, f"openfhe-bootstrap-keys-{os.getpid()}.bin")
    try:
        for name in ("SerializeEvalMultKey", "SerializeEvalAutomorphismKey"):
            if not getattr(cc, name)(path, fhe.BINARY, ""):
                raise RuntimeError(f"{name} failed")
            keys_bytes += os.path.getsize(path)
            os.remove(path)
        log(f"evaluation keys: {keys_bytes / 1e9:.2f} GB serialised")
    except Exception as e:
        log(f"warning: key size not measured: {e}")
    finally:
        if os.path.exists(path):
            os.remove(path)

    report = {
        "log_n": args.log_n,
        "log_qp": log_qp,
        "slots": slots,
        "levels_before": depth - ct.GetLevel(),
        "levels_after": depth - out.GetLevel(),
        "precision_bits_min": -math.log2(max_err),
        "precision_bits_mean": -math.log2(mean_err),
        "seconds": seconds,
        "threads": args.threads,
        "keys_bytes": keys_bytes,
        "peak_rss_bytes": peak,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
