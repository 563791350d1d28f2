//! CKKS against plaintext arithmetic on random data, level/scale refusals, rotations, files.

mod common;

use common::{ctx, max_err, values};
use pann_he::ckks::{presets, Parameters};
use pann_he::rlwe::{GaloisKeys, KeyGenerator, PublicKey, RelinKey};
use pann_he::serialize::{load, save};
use pann_he::{ckks::Ciphertext, Error};

const LOG_N: u32 = 11;

#[test]
fn encrypt_decrypt_round_trip_at_every_level() {
    let mut c = ctx(LOG_N, 4, &[]);
    let x = values(c.params.slots(), 1, -8.0, 8.0);
    for level in 0..=c.params.max_level() {
        let pt = c.enc.encode(&x, level, c.params.default_scale()).unwrap();
        for ct in [c.enc.encrypt_pk(&pt, &c.pk), c.enc.encrypt_sk(&pt, &c.sk)] {
            let got = c.dec.decrypt_values(&ct, x.len()).unwrap();
            let err = max_err(&got, &x);
            assert!(err < 1e-7, "level {level}: {err:e}");
        }
    }
}

#[test]
fn homomorphic_operations_match_plaintext_arithmetic() {
    let mut c = ctx(LOG_N, 4, &[]);
    let n = c.params.slots();
    let (x, y) = (values(n, 2, -2.0, 2.0), values(n, 3, -2.0, 2.0));
    let top = c.params.max_level();
    let d = c.params.default_scale();
    let cx = c.enc.encrypt_pk(&c.enc.encode(&x, top, d).unwrap(), &c.pk);
    let cy = c.enc.encrypt_pk(&c.enc.encode(&y, top, d).unwrap(), &c.pk);
    let check = |ct: &Ciphertext, want: &[f64], tol: f64, what: &str| {
        let got = c.dec.decrypt_values(ct, n).unwrap();
        let err = max_err(&got, want);
        assert!(err < tol, "{what}: {err:e}");
    };
    let e = &c.eval;
    check(
        &e.add(&cx, &cy).unwrap(),
        &x.iter().zip(&y).map(|(a, b)| a + b).collect::<Vec<_>>(),
        1e-7,
        "add",
    );
    check(
        &e.sub(&cx, &cy).unwrap(),
        &x.iter().zip(&y).map(|(a, b)| a - b).collect::<Vec<_>>(),
        1e-7,
        "sub",
    );
    check(&e.neg(&cx), &x.iter().map(|a| -a).collect::<Vec<_>>(), 1e-7, "neg");
    let prod: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let m = e.mul_rescale(&cx, &cy).unwrap();
    assert_eq!(m.level(), top - 1);
    check(&m, &prod, 1e-6, "mul + relin + rescale");
    // A product at a lower level meets a fresh one: levels align, scales are checked.
    let sq = e.mul_rescale(&m, &m).unwrap();
    check(
        &sq,
        &prod.iter().map(|p| p * p).collect::<Vec<_>>(),
        1e-5,
        "second product",
    );
    let pt = c.enc.encode(&y, top, c.params.q()[top] as f64).unwrap();
    let mp = e.rescale(&e.mul_plain(&cx, &pt).unwrap()).unwrap();
    check(&mp, &prod, 1e-6, "plaintext product");
    check(
        &e.add_const(&cx, 1.25).unwrap(),
        &x.iter().map(|a| a + 1.25).collect::<Vec<_>>(),
        1e-7,
        "add const",
    );
    let k = e.mul_const_to_scale(&cx, -0.3, d).unwrap();
    assert_eq!(k.scale(), d);
    check(
        &k,
        &x.iter().map(|a| -0.3 * a).collect::<Vec<_>>(),
        1e-7,
        "const to scale",
    );
    check(
        &e.mul_integer(&cx, 3),
        &x.iter().map(|a| 3.0 * a).collect::<Vec<_>>(),
        1e-7,
        "integer",
    );
}

#[test]
fn rotation_by_every_power_of_two_both_ways() {
    let slots = 1i64 << (LOG_N - 1);
    let steps: Vec<i64> = (0..LOG_N - 1).flat_map(|j| [1i64 << j, -(1i64 << j)]).collect();
    let mut c = ctx(LOG_N, 2, &steps);
    let x = values(slots as usize, 4, -1.0, 1.0);
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&x, 2, c.params.default_scale()).unwrap(), &c.pk);
    for &k in &steps {
        let got = c.dec.decrypt_values(&c.eval.rotate(&ct, k).unwrap(), x.len()).unwrap();
        let want: Vec<f64> = (0..slots).map(|i| x[(i + k).rem_euclid(slots) as usize]).collect();
        assert!(max_err(&got, &want) < 1e-7, "rotation by {k}");
    }
    match c.eval.rotate(&ct, 3) {
        Err(Error::MissingKey(m)) => assert!(m.contains('3')),
        other => panic!("expected a missing-key error, got {other:?}"),
    }
}

#[test]
fn level_and_scale_budgets_give_clear_errors() {
    let mut c = ctx(LOG_N, 1, &[]);
    let d = c.params.default_scale();
    let x = values(16, 5, -1.0, 1.0);
    let ct = c.enc.encrypt_pk(&c.enc.encode(&x, 1, d).unwrap(), &c.pk);
    let low = c.eval.mul_rescale(&ct, &ct).unwrap();
    assert_eq!(low.level(), 0);
    assert!(matches!(
        c.eval.rescale(&low),
        Err(Error::LevelExhausted { level: 0, .. })
    ));
    // At level 0 (55 bits) a product of two 2^40 scales cannot fit.
    assert!(matches!(c.eval.mul(&low, &low), Err(Error::ScaleOverflow { .. })));
    // Adding ciphertexts at different scales is refused, not silently mis-scaled.
    let other = c.enc.encrypt_pk(&c.enc.encode(&x, 1, d * 3.0).unwrap(), &c.pk);
    assert!(matches!(c.eval.add(&ct, &other), Err(Error::ScaleMismatch { .. })));
    // The recorded scale can be snapped to an exact target (f64 rounding), never moved by a real amount.
    let mut snapped = ct.clone();
    snapped.set_scale(d * (1.0 + 1e-12)).unwrap();
    assert!(matches!(snapped.set_scale(d * 1.001), Err(Error::ScaleMismatch { .. })));
    assert!(matches!(snapped.set_scale(f64::NAN), Err(Error::ScaleMismatch { .. })));
    let mut half = ct.clone();
    half.halve();
    let got = c.dec.decrypt_values(&half, 4).unwrap();
    assert!(
        got.iter().zip(&x).all(|(g, v)| (g - v / 2.0).abs() < 1e-6),
        "halve divides the value by 2"
    );
    // Values that no longer fit the modulus decrypt to a reported failure, not to garbage: random slots of
    // ±2^24 at scale 2^40 spread over coefficients of about 2^59, beyond q_0/2 = 2^54 but not Q_1/2, and the
    // wrapped coefficients fill (−q_0/2, q_0/2]. (A single wrapped coefficient could land anywhere, small too:
    // no decryptor can tell that from a message, which is why the circuits check ranges in plaintext first.)
    let big_values = values(c.params.slots(), 9, -(2f64.powi(24)), 2f64.powi(24));
    let big = c.enc.encrypt_pk(&c.enc.encode(&big_values, 1, d).unwrap(), &c.pk);
    let mut dropped = big.clone();
    c.eval.drop_to_level(&mut dropped, 0).unwrap();
    match c.dec.decrypt_values(&dropped, 1) {
        Err(Error::DecryptionFailure { level: 0, .. }) => {}
        other => panic!("expected a decryption failure, got {other:?}"),
    }
    assert!(c.dec.decrypt_values(&big, 1).is_ok());
}

#[test]
fn files_round_trip_and_reject_truncation_corruption_and_foreign_parameters() {
    let mut c = ctx(10, 2, &[1, 5]);
    let dir = tempfile::tempdir().unwrap();
    let x = values(8, 6, -1.0, 1.0);
    let ct = c
        .enc
        .encrypt_pk(&c.enc.encode(&x, 2, c.params.default_scale()).unwrap(), &c.pk);
    let path = dir.path().join("x.ct");
    save(&ct, &c.params, &path).unwrap();
    let back: Ciphertext = load(&c.params, &path).unwrap();
    assert_eq!(
        c.dec.decrypt_values(&back, 8).unwrap(),
        c.dec.decrypt_values(&ct, 8).unwrap()
    );
    let mut kg = KeyGenerator::with_seed(c.params.clone(), 99);
    let gks = kg.galois_keys(&c.sk, &[1, 5]);
    let gpath = dir.path().join("rot.keys");
    save(&gks, &c.params, &gpath).unwrap();
    let gback: GaloisKeys = load(&c.params, &gpath).unwrap();
    assert_eq!(gback.elements().collect::<Vec<_>>(), gks.elements().collect::<Vec<_>>());
    let rlk = kg.relin_key(&c.sk);
    save(&rlk, &c.params, &dir.path().join("relin.key")).unwrap();
    let _: RelinKey = load(&c.params, &dir.path().join("relin.key")).unwrap();
    save(&c.pk, &c.params, &dir.path().join("pk")).unwrap();
    let _: PublicKey = load(&c.params, &dir.path().join("pk")).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let bad = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        match load::<Ciphertext>(&c.params, &p) {
            Err(Error::BadFile { path, problem }) => {
                assert_eq!(path, p);
                problem
            }
            other => panic!("{name}: expected a file error, got {other:?}"),
        }
    };
    assert!(bad("short", &bytes[..bytes.len() / 2]).contains("truncated"));
    assert!(bad("tiny", &bytes[..5]).contains("truncated"));
    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    assert!(bad("flipped", &flipped).contains("checksum"));
    let mut magic = bytes.clone();
    magic[0] = b'X';
    assert!(bad("magic", &magic).contains("magic"));
    assert!(bad("kind", &std::fs::read(dir.path().join("pk")).unwrap()).contains("ciphertext"));
    // The same file under other parameters.
    let other = Parameters::new(presets::test_insecure(10, 3)).unwrap();
    match load::<Ciphertext>(&other, &path) {
        Err(Error::BadFile { problem, .. }) => assert!(problem.contains("other parameters")),
        other => panic!("expected a parameter mismatch, got {other:?}"),
    }
    // Key files are checked the same way: truncated, corrupted, foreign or mistaken evaluation keys are refused.
    fn key_problem<T: pann_he::serialize::Persist>(
        dir: &std::path::Path,
        name: &str,
        data: &[u8],
        params: &Parameters,
    ) -> String {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        match load::<T>(params, &p) {
            Err(Error::BadFile { path, problem }) if path == p => problem,
            Err(e) => panic!("{name}: expected a file error naming the file, got {e:?}"),
            Ok(_) => panic!("{name}: a bad key file was accepted"),
        }
    }
    let d = dir.path();
    let gbytes = std::fs::read(&gpath).unwrap();
    let rbytes = std::fs::read(d.join("relin.key")).unwrap();
    assert!(key_problem::<GaloisKeys>(d, "g-short", &gbytes[..gbytes.len() - 1], &c.params).contains("truncated"));
    assert!(key_problem::<RelinKey>(d, "r-short", &rbytes[..rbytes.len() / 3], &c.params).contains("truncated"));
    let mut gflip = gbytes.clone();
    gflip[gbytes.len() / 2] ^= 0x10;
    assert!(key_problem::<GaloisKeys>(d, "g-flip", &gflip, &c.params).contains("checksum"));
    assert!(key_problem::<GaloisKeys>(d, "g-foreign", &gbytes, &other).contains("other parameters"));
    assert!(key_problem::<RelinKey>(d, "r-foreign", &rbytes, &other).contains("other parameters"));
    assert!(key_problem::<RelinKey>(d, "g-as-r", &gbytes, &c.params).contains("kind"));
    assert!(key_problem::<PublicKey>(d, "r-as-pk", &rbytes, &c.params).contains("kind"));
    // No secret material in debug output.
    let shown = format!("{:?}", c.sk);
    assert!(shown.contains("redacted") && shown.len() < 64);
}

/// Recycled residue buffers (the ring's pool of freed polynomials) and the squaring path of `mul` change no
/// bit of any result: the same products, rotations and rescales, computed once on fresh memory and again after
/// the pool has been filled with dirty buffers of every size, are identical, and a square equals the product of
/// two separate copies of its operand. `N = 2^13` with 8 levels: polynomials of at least 2^16 words, the size
/// the pool keeps.
#[test]
fn buffer_reuse_and_squaring_change_no_bit() {
    let mut c = ctx(13, 8, &[1, -3]);
    let n = c.params.slots();
    let (x, y) = (values(n, 21, -1.0, 1.0), values(n, 22, -1.0, 1.0));
    let top = c.params.max_level();
    let d = c.params.default_scale();
    let cx = c.enc.encrypt_sk(&c.enc.encode(&x, top, d).unwrap(), &c.sk);
    let cy = c.enc.encrypt_sk(&c.enc.encode(&y, top, d).unwrap(), &c.sk);
    let e = &c.eval;
    let run = || {
        let p = e.mul_rescale(&cx, &cy).unwrap();
        let s = e.mul_rescale(&p, &p).unwrap();
        let r = e.rotate_hoisted(&s, &[1, -3]).unwrap();
        let low = e.at_level(&cy, s.level()).unwrap();
        let t = e.mul(&e.add(&r[0], &r[1]).unwrap(), &low).unwrap();
        [p, s, r[0].clone(), r[1].clone(), t]
    };
    let first = run();
    // Dirty the pool: garbage-filled polynomials of many sizes, dropped.
    for level in 2..=top {
        let mut junk = e.at_level(&cx, level).unwrap();
        let _ = e.mul(&junk, &junk).unwrap();
        junk = e.neg(&junk);
        drop(junk);
    }
    let second = run();
    for (k, (a, b)) in first.iter().zip(&second).enumerate() {
        assert_eq!(a.polys(), b.polys(), "result {k}");
        assert_eq!(a.scale(), b.scale(), "result {k}, scale");
    }
    // A square (one operand) against the general product of two equal ciphertexts.
    let sq = e.mul(&cx, &cx).unwrap();
    let copy = cx.clone();
    let general = e.mul(&cx, &copy).unwrap();
    assert_eq!(sq.polys(), general.polys());
}
