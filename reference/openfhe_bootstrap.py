#!/usr/bin/env python3
"""OpenFHE's CKKS EvalBootstrap measured the way `pann_he::bootstrap::bench` measures ours.

Full slots at N = 2^16, uniform ternary secret, level budget [3, 3], 10 levels left after bootstrapping,
FLEXIBLEAUTO scaling with 59-bit scaling primes and a 60-bit first prime; uniform random complex values in
[-1, 1], real and imaginary parts both measured. Prints one JSON object with the fields of pann's report.

Complex slots use OpenFHE's COMPLEX CKKS data type (its default REAL type bootstraps real slots only; `--real`
measures that instead, imaginary parts zero). The wheel exposes Q but not P, so log_qp is null and log Q is
printed to stderr; OpenFHE picks its special primes itself and does not hold log QP to the 1772-bit bound here.

Run: reference/openfhe_setup.sh, then
    OMP_NUM_THREADS=2 .venv-openfhe/bin/python reference/openfhe_bootstrap.py [--log-n 16] [--threads 2] [--real]
"""

import argparse
import json
import math
import os
import random
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-n", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--levels-after", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--real", dest="complex", action="store_false", help="imaginary parts zero (REAL data type)")
    args = ap.parse_args()
    # OpenMP reads this when the library loads.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import openfhe as fhe

    secret = fhe.SecretKeyDist.UNIFORM_TERNARY
    level_budget = [3, 3]
    p = fhe.CCParamsCKKSRNS()
    p.SetSecretKeyDist(secret)
    # The ring is fixed by hand (as in OpenFHE's own bootstrapping examples); 128-bit security at N = 2^16 holds
    # while log QP <= 1772, which the printed log_qp lets one check.
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)
    p.SetRingDim(1 << args.log_n)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetScalingModSize(59)
    p.SetFirstModSize(60)
    # Complex slots need OpenFHE's complex CKKS mode (its default bootstrapping assumes real slots and returns
    # garbage for complex ones).
    if args.complex:
        p.SetCKKSDataType(fhe.CKKSDataType.COMPLEX)
    boot_depth = getattr(fhe, "FHECKKSRNS", fhe.CryptoContext).GetBootstrapDepth(level_budget, secret)
    depth = args.levels_after + boot_depth
    p.SetMultiplicativeDepth(depth)
    cc = fhe.GenCryptoContext(p)
    for feature in ("PKE", "KEYSWITCH", "LEVELEDSHE", "ADVANCEDSHE", "FHE"):
        cc.Enable(getattr(fhe.PKESchemeFeature, feature))
    slots = cc.GetRingDimension() // 2
    cc.EvalBootstrapSetup(level_budget)
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalBootstrapKeyGen(keys.secretKey, slots)

    keys_bytes = 0
    for name in ("SerializeEvalMultKeyString", "SerializeEvalAutomorphismKeyString"):
        try:
            keys_bytes += len(getattr(fhe, name)(fhe.BINARY, ""))
        except Exception as e:  # a wheel without these bindings
            print(f"warning: key size not measured ({name}): {e}", file=sys.stderr)

    rng = random.Random(args.seed)
    values = [complex(rng.uniform(-1, 1), rng.uniform(-1, 1) if args.complex else 0.0) for _ in range(slots)]
    pt = cc.MakeCKKSPackedPlaintext(values, 1, depth - 1)
    pt.SetLength(slots)
    ct = cc.Encrypt(keys.publicKey, pt)
    # The first call may finish lazy precomputations; the second is timed (ours builds its plan beforehand too).
    start = time.perf_counter()
    out = cc.EvalBootstrap(ct)
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = cc.EvalBootstrap(ct)
    seconds = time.perf_counter() - start
    print(f"first EvalBootstrap {first:.2f} s, second {seconds:.2f} s", file=sys.stderr)
    dec = cc.Decrypt(out, keys.secretKey)
    dec.SetLength(slots)
    got = dec.GetCKKSPackedValue()
    errs = []
    for a, b in zip(got, values):
        a = complex(a)
        errs.append(abs(a.real - b.real))
        errs.append(abs(a.imag - b.imag))
    max_err = max(errs)
    mean_err = sum(errs) / len(errs)
    # The wheel exposes Q (as a float, possibly infinite), not P: log_qp is reported only when the element
    # parameters of Q·P are reachable; log Q goes to stderr either way.
    # The wheel exposes the primes of Q, not those of P: log_qp stays null, log Q and the digit count go to
    # stderr (log QP = log Q + log P; P holds about log Q / dnum bits in OpenFHE's hybrid key switching).
    log_qp = None
    try:
        log_q = math.log2(int(cc.GetElementParams().GetModulus()))
        print(f"log2 Q = {log_q:.1f}, depth {depth}", file=sys.stderr)
    except Exception as e:
        print(f"log2 Q not available: {e}", file=sys.stderr)
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
        "peak_rss_bytes": peak_rss_bytes(),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
