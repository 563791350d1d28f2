//! Bootstrapping on insecure small rings (DISCLAIMER: not secure, tests only): the transforms, EvalMod's
//! Chebyshev evaluation, the whole bootstrap, its refusals, and repeated bootstrap-then-ReLU rounds.

mod common;

use std::sync::Arc;

use common::{ctx, max_err, values};
use pann_approx::CompositeSign;
use pann_he::bootstrap::bench::precision_bits;
use pann_he::bootstrap::lintrans::{apply_plain, Diagonals, LinearTransform};
use pann_he::bootstrap::{keys, params, Bootstrapper};
use pann_he::circuits::poly_eval::{chebyshev_interpolant, chebyshev_value, eval_chebyshev, eval_relu, ChebyshevPlan};
use pann_he::ckks::{Complex, Decryptor, Encoder, Encryptor, Parameters};
use pann_he::rlwe::{KeyGenerator, SecretKey};
use pann_he::Error;

struct Boot {
    params: Arc<Parameters>,
    encoder: Arc<Encoder>,
    sk: SecretKey,
    boot: Bootstrapper,
    enc: Encryptor,
    dec: Decryptor,
}

fn boot_setup(log_n: u32, circuit_levels: usize) -> Boot {
    boot_setup_with(params::test_insecure(log_n, circuit_levels), circuit_levels)
}

fn boot_setup_with(preset: params::BootstrapPreset, circuit_levels: usize) -> Boot {
    let params = Arc::new(Parameters::new(preset.literal.clone()).unwrap());
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 7);
    let sk = kg.secret_key();
    let k = keys::generate(&mut kg, &sk, &params, &preset.boot).unwrap();
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), k).unwrap();
    assert_eq!(boot.output_level(), circuit_levels);
    let enc = Encryptor::with_seed(params.clone(), encoder.clone(), 8);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk.clone());
    Boot {
        params,
        encoder,
        sk,
        boot,
        enc,
        dec,
    }
}

fn complex_values(n: usize, seed: u64) -> Vec<Complex> {
    let re = values(n, seed, -1.0, 1.0);
    let im = values(n, seed + 1, -1.0, 1.0);
    re.into_iter().zip(im).map(|(re, im)| Complex { re, im }).collect()
}

impl Boot {
    fn encrypt(&mut self, v: &[Complex], level: usize, scale: f64) -> pann_he::ckks::Ciphertext {
        let poly = self.encoder.encode(self.params.ring(), v, level, scale).unwrap();
        let pt = pann_he::ckks::Plaintext::from_poly(poly, scale);
        self.enc.encrypt_sk(&pt, &self.sk)
    }
}

#[test]
fn chebyshev_plans_consume_their_stated_depth_and_match_plaintext() {
    let c = ctx(11, 8, &[]);
    let x = values(c.params.slots(), 5, -1.0, 1.0);
    let top = c.params.max_level();
    let mut enc = c.enc;
    let ct = enc.encrypt_pk(&enc.encode(&x, top, c.params.default_scale()).unwrap(), &c.pk);
    for (degree, omega) in [
        (1, 1.0),
        (3, 2.0),
        (7, 3.0),
        (12, 5.0),
        (15, 6.0),
        (31, 12.0),
        (63, 25.0),
    ] {
        let coeffs = chebyshev_interpolant(|u| (omega * u).cos(), degree);
        let plan = ChebyshevPlan::new(degree);
        let out = eval_chebyshev(&c.eval, &ct, &coeffs, c.params.default_scale()).unwrap();
        assert_eq!(
            top - out.level(),
            plan.depth(),
            "degree {degree}: levels against the cost model"
        );
        assert_eq!(out.scale(), c.params.default_scale());
        let got = c.dec.decrypt_values(&out, x.len()).unwrap();
        let want: Vec<f64> = x.iter().map(|&u| chebyshev_value(&coeffs, u)).collect();
        let bits = -max_err(&got, &want).log2();
        assert!(
            bits > 20.0,
            "degree {degree}: {bits:.1} bits against the plaintext series"
        );
    }
    // The cost model is the optimal depth ⌈log2(deg + 1)⌉ at every degree, with about as many products as
    // Paterson–Stockmeyer's 2√deg + log deg.
    for degree in 1..=130usize {
        let plan = ChebyshevPlan::new(degree);
        let optimal = (usize::BITS - degree.leading_zeros()) as usize;
        assert_eq!(plan.depth(), optimal, "degree {degree}");
        let ps = 2.0 * (degree as f64).sqrt() + (degree as f64).log2() + 3.0;
        assert!(
            (plan.products() as f64) <= ps,
            "degree {degree}: {} products",
            plan.products()
        );
    }
    let mut low = ct.clone();
    c.eval.drop_to_level(&mut low, 3).unwrap();
    let coeffs = chebyshev_interpolant(|u| u.cos(), 31);
    assert!(matches!(
        eval_chebyshev(&c.eval, &low, &coeffs, c.params.default_scale()),
        Err(Error::LevelExhausted { .. })
    ));
}

#[test]
fn linear_transform_with_hoisted_rotations_matches_plaintext() {
    let offsets: Vec<i64> = (-6..=6).collect();
    let c = ctx(10, 2, &[]);
    let n = c.params.slots();
    let mut diags = Diagonals::new();
    for (t, &k) in offsets.iter().enumerate() {
        diags.insert(k, complex_values(n, 100 + t as u64));
    }
    let top = c.params.max_level();
    let lt = LinearTransform::new(&c.params, &c.encoder, &diags, top, c.params.q()[top] as f64).unwrap();
    let rot = lt.rotations();
    assert!(
        rot.len() < offsets.len(),
        "BSGS needs fewer rotations ({rot:?}) than diagonals"
    );
    let c = ctx(10, 2, &rot);
    let x = complex_values(n, 1);
    let poly = c
        .encoder
        .encode(c.params.ring(), &x, top, c.params.default_scale())
        .unwrap();
    let mut enc = c.enc;
    let ct = enc.encrypt_sk(
        &pann_he::ckks::Plaintext::from_poly(poly, c.params.default_scale()),
        &c.sk,
    );
    let mut y = lt.apply(&c.eval, &ct).unwrap();
    c.eval.rescale_assign(&mut y).unwrap();
    let got = c.dec.decrypt_complex(&y).unwrap();
    let want = apply_plain(&diags, &x);
    let (min, _) = precision_bits(&got, &want);
    assert!(min > 20.0, "{min:.1} bits");
    // Hoisted rotations agree with one-by-one rotations.
    let hoisted = c.eval.rotate_hoisted(&ct, &rot).unwrap();
    for (k, h) in rot.iter().zip(&hoisted) {
        let one = c.eval.rotate(&ct, *k).unwrap();
        let (a, b) = (c.dec.decrypt_complex(h).unwrap(), c.dec.decrypt_complex(&one).unwrap());
        assert!(precision_bits(&a, &b).0 > 25.0, "rotation {k}");
        assert!((a[0].re - x[(*k).rem_euclid(n as i64) as usize].re).abs() < 1e-6);
    }
    // A missing baby-step key is named.
    let c2 = ctx(10, 2, &rot[1..]);
    match lt.apply(&c2.eval, &ct) {
        Err(Error::MissingKey(m)) => assert!(m.contains(&format!("rotation by {} slots", rot[0])), "{m}"),
        other => panic!("expected a missing key, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn coeffs_to_slots_then_slots_to_coeffs_is_the_identity() {
    let mut b = boot_setup(10, 1);
    let n = b.params.slots();
    let x = complex_values(n, 3);
    // A ciphertext as ModRaise hands it over: top level, scale 2K·q_0.
    let raised = 2.0 * b.boot.parameters().k * b.params.q()[0] as f64;
    let top = b.params.max_level();
    let ct = b.encrypt(&x, top, raised);
    let e = b.boot.evaluator();
    let z = b.boot.coeffs_to_slots(&ct).unwrap();
    assert_eq!(z.level(), top - b.boot.parameters().cts_levels);
    let mut z = e.mul_const_to_scale(&z, 1.0, b.boot.stc_input_scale()).unwrap();
    e.drop_to_level(&mut z, b.boot.stc_input_level()).unwrap();
    let y = b.boot.slots_to_coeffs(&z).unwrap();
    assert_eq!(
        (y.level(), y.scale()),
        (b.boot.output_level(), b.params.default_scale())
    );
    // The values are F·F^-1·x = x (the scales are bookkeeping).
    let got = b.dec.decrypt_complex(&y).unwrap();
    let (min, mean) = precision_bits(&got, &x);
    // SlotsToCoeffs runs at scale 2^50 and its rotations add about 2^20 of noise in slot units: ~2^-30.
    assert!(
        min > 28.0 && mean > 31.0,
        "identity to {min:.1} (min) / {mean:.1} (mean) bits"
    );
}

#[test]
fn bootstrapping_restores_levels_and_keeps_precision() {
    let mut b = boot_setup(10, 2);
    let n = b.params.slots();
    let x = complex_values(n, 4);
    let delta = b.params.default_scale();
    let ct = b.encrypt(&x, 0, delta);
    let out = b.boot.bootstrap(&ct).unwrap();
    assert_eq!((out.level(), out.scale()), (2, delta));
    let got = b.dec.decrypt_complex(&out).unwrap();
    let (min, mean) = precision_bits(&got, &x);
    assert!(min > 16.0 && mean > 20.0, "{min:.1} bits min, {mean:.1} bits mean");
    // The result computes on: a product after bootstrapping.
    let sq = b.boot.evaluator().mul_rescale(&out, &out).unwrap();
    let got = b.dec.decrypt_complex(&sq).unwrap();
    let want: Vec<Complex> = x
        .iter()
        .map(|v| Complex {
            re: v.re * v.re - v.im * v.im,
            im: 2.0 * v.re * v.im,
        })
        .collect();
    assert!(precision_bits(&got, &want).0 > 14.0);
}

#[test]
fn encapsulated_bootstrapping_needs_fewer_levels_and_keeps_precision() {
    // Sparse-secret encapsulation (h = 32): K = 17 instead of 6σ of the dense I, hence fewer EvalMod levels.
    let (log_n, h) = (10, 32);
    let dense = params::test_insecure(log_n, 2);
    let preset = params::test_insecure_encapsulated(log_n, 2, h);
    assert_eq!(preset.boot.k, 17.0);
    assert!(preset.boot.eval_mod_levels() < dense.boot.eval_mod_levels());
    let params = Arc::new(Parameters::new(preset.literal.clone()).unwrap());
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 41);
    let sk = kg.secret_key();
    let k = keys::generate(&mut kg, &sk, &params, &preset.boot).unwrap();
    let e = k.encapsulation.as_ref().expect("encapsulation keys");
    assert_eq!(e.weight(), h);
    // Every key under the sparse secret lives modulo q_0·p_0 only (two primes), never the full Q·P.
    assert!(e.sparse_log_qp() < 125.0, "{}", e.sparse_log_qp());
    // Without the encapsulation keys the plan is refused by name.
    let bare = keys::BootstrapKeys {
        relin: k.relin.clone(),
        galois: k.galois.clone(),
        encapsulation: None,
    };
    match Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), bare) {
        Err(Error::MissingKey(m)) => assert!(m.contains("encapsulation"), "{m}"),
        other => panic!("expected a missing-key error, got {:?}", other.err()),
    }
    // The encapsulation keys go through a file (the same checks as every key file) and bootstrap as before.
    use pann_he::bootstrap::encapsulation::Encapsulation;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encapsulation.bin");
    pann_he::serialize::save(e, &params, &path).unwrap();
    let loaded: Encapsulation = pann_he::serialize::load(&params, &path).unwrap();
    assert_eq!((loaded.weight(), loaded.bytes()), (e.weight(), e.bytes()));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 9]).unwrap();
    match pann_he::serialize::load::<Encapsulation>(&params, &path) {
        Err(Error::BadFile { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    let k = keys::BootstrapKeys {
        encapsulation: Some(loaded),
        ..k
    };
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), k).unwrap();
    assert_eq!(boot.output_level(), 2);
    let x = complex_values(params.slots(), 42);
    let delta = params.default_scale();
    let poly = encoder.encode(params.ring(), &x, 0, delta).unwrap();
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 43);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk.clone());
    let mut ct = enc.encrypt_sk(&pann_he::ckks::Plaintext::from_poly(poly, delta), &sk);
    // Twice in a row: the second bootstrap starts from the first one's output, and each is measured against
    // what its input decrypts to.
    let mut input = x.clone();
    for round in 0..2 {
        let mut low = boot.bootstrap(&ct).unwrap();
        assert_eq!((low.level(), low.scale()), (2, delta));
        let got = dec.decrypt_complex(&low).unwrap();
        let (min, mean) = precision_bits(&got, &input);
        eprintln!("round {round}: {min:.1} bits min, {mean:.1} bits mean");
        input = got;
        assert!(
            min > 18.0 && mean > 22.0,
            "round {round}: {min:.1} bits min, {mean:.1} bits mean"
        );
        boot.evaluator().drop_to_level(&mut low, 0).unwrap();
        ct = low;
    }
}

#[test]
fn wrong_inputs_and_missing_keys_are_refused() {
    let mut b = boot_setup(10, 1);
    let n = b.params.slots();
    let x = complex_values(n, 5);
    let delta = b.params.default_scale();
    let wrong_scale = b.encrypt(&x, 0, delta * 1.5);
    assert!(matches!(
        b.boot.bootstrap(&wrong_scale),
        Err(Error::ScaleMismatch { .. })
    ));
    let top = b.params.max_level();
    let too_high = b.encrypt(&x, top, delta);
    match b.boot.bootstrap(&too_high) {
        Err(Error::Incompatible(m)) => assert!(m.contains(&format!("level {top}")), "{m}"),
        other => panic!("expected a level refusal, got {:?}", other.map(|_| ())),
    }
    // Keys without one rotation, or without the conjugation key: refused when the plan is built, by name.
    let preset = params::test_insecure(10, 1);
    let elements = keys::galois_elements(&b.params, &preset.boot);
    let rotations = keys::rotations(&b.params, &preset.boot);
    let mut kg = KeyGenerator::with_seed(b.params.clone(), 9);
    let relin = kg.relin_key(&b.sk);
    let ring = b.params.ring();
    let dropped = rotations[rotations.len() / 2];
    let g = ring.galois_element(dropped);
    let without: Vec<u64> = elements.iter().copied().filter(|&e| e != g).collect();
    let k = keys::BootstrapKeys {
        relin: relin.clone(),
        galois: kg.galois_keys_for_elements(&b.sk, &without),
        encapsulation: None,
    };
    match Bootstrapper::new(b.params.clone(), b.encoder.clone(), preset.boot.clone(), k) {
        Err(Error::MissingKey(m)) => assert!(m.contains(&format!("rotation by {dropped} slots")), "{m}"),
        other => panic!("expected a missing rotation key, got {:?}", other.map(|_| ())),
    }
    let conj = 2 * b.params.n() as u64 - 1;
    let without: Vec<u64> = elements.iter().copied().filter(|&e| e != conj).collect();
    let k = keys::BootstrapKeys {
        relin,
        galois: kg.galois_keys_for_elements(&b.sk, &without),
        encapsulation: None,
    };
    match Bootstrapper::new(b.params.clone(), b.encoder.clone(), preset.boot.clone(), k) {
        Err(Error::MissingKey(m)) => assert!(m.contains("conjugation"), "{m}"),
        other => panic!("expected a missing conjugation key, got {:?}", other.map(|_| ())),
    }
    // Parameters with too few levels for the plan.
    let mut short = preset.clone();
    short.literal.log_q.truncate(5);
    let p = Arc::new(Parameters::new(short.literal).unwrap());
    let mut kg = KeyGenerator::with_seed(p.clone(), 1);
    let sk = kg.secret_key();
    let k = keys::generate(&mut kg, &sk, &p, &short.boot).unwrap();
    assert!(matches!(
        Bootstrapper::new(p.clone(), Arc::new(Encoder::new(p.n())), short.boot, k),
        Err(Error::InvalidParameters(_))
    ));
}

#[test]
fn ten_rounds_of_bootstrap_then_relu_follow_the_plaintext() {
    let alpha = 4;
    let sign = CompositeSign::for_alpha(alpha).unwrap();
    let depth = sign.relu_depth() as usize;
    // The default path: ModRaise under the ephemeral sparse secret.
    let mut b = boot_setup_with(params::test_insecure_encapsulated(10, depth, 32), depth);
    let n = b.params.slots();
    let x = values(n, 6, -1.0, 1.0);
    let slots: Vec<Complex> = x.iter().map(|&re| Complex { re, im: 0.0 }).collect();
    let mut ct = b.encrypt(&slots, 0, b.params.default_scale());
    let lists = sign.coefficient_lists();
    let mut plain = x.clone();
    for round in 0..10 {
        let e = b.boot.evaluator();
        let up = b.boot.bootstrap(&ct).unwrap();
        assert_eq!(up.level(), depth, "round {round}");
        // x ← ReLU(x) − 1/2 with the PANN ReLU (y + y·p(y))/2, halved for free (scale 2Δ, which bootstrapping
        // takes): stays in [−1/2, 1/2], so every round feeds the sign approximation new inputs.
        let r = eval_relu(e, &up, &sign).unwrap();
        assert_eq!(r.scale(), 2.0 * b.params.default_scale());
        ct = e.add_const(&r, -0.5).unwrap();
        assert_eq!(ct.level(), 0);
        for v in plain.iter_mut() {
            *v = *v * (1.0 + pann_approx::certify::eval_composite_power(&lists, *v)) / 2.0 - 0.5;
        }
    }
    let got = b.dec.decrypt_values(&ct, n).unwrap();
    let err = max_err(&got, &plain);
    // Within the ReLU's own precision 2^-α by far: the ten bootstraps' errors (each below 2^-16) do not grow,
    // because x ↦ ReLU(x) − 1/2 does not amplify them.
    assert!(
        err < 2f64.powi(-(alpha as i32)),
        "10 rounds: {err:e} against the plaintext rounds"
    );
    assert!(err < 2f64.powi(-16), "10 rounds: {err:e} against the plaintext rounds");
}

#[test]
fn compressed_keys_round_trip_through_files_and_bootstrap_alike() {
    use pann_he::serialize::{load, save};
    let preset = params::test_insecure(10, 1);
    let params = Arc::new(Parameters::new(preset.literal.clone()).unwrap());
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 21);
    let sk = kg.secret_key();
    let stored = keys::generate_with(&mut kg, &sk, &params, &preset.boot, &[], false).unwrap();
    let compressed = keys::generate_with(&mut kg, &sk, &params, &preset.boot, &[], true).unwrap();
    assert_eq!(stored.galois.len(), compressed.galois.len());
    assert_eq!(
        stored.galois.bytes(),
        2 * compressed.galois.bytes(),
        "compression halves the rotation keys"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("galois.bin");
    save(&compressed.galois, &params, &path).unwrap();
    let loaded: pann_he::rlwe::GaloisKeys = load(&params, &path).unwrap();
    assert_eq!(loaded.bytes(), compressed.galois.bytes());
    // A truncated file is refused with the file's name.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    match load::<pann_he::rlwe::GaloisKeys>(&params, &path) {
        Err(Error::BadFile { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 22);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk.clone());
    let x = complex_values(params.slots(), 23);
    let poly = encoder.encode(params.ring(), &x, 0, params.default_scale()).unwrap();
    let ct = enc.encrypt_sk(&pann_he::ckks::Plaintext::from_poly(poly, params.default_scale()), &sk);
    for galois in [stored.galois, loaded] {
        let k = keys::BootstrapKeys {
            relin: compressed.relin.clone(),
            galois,
            encapsulation: None,
        };
        let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), k).unwrap();
        let got = dec.decrypt_complex(&boot.bootstrap(&ct).unwrap()).unwrap();
        let (min, mean) = precision_bits(&got, &x);
        assert!(min > 16.0 && mean > 20.0, "{min:.1} bits min, {mean:.1} bits mean");
    }
}

#[test]
#[ignore = "slow: N = 2^13 full-slot bootstrapping with key generation takes about 20 s; run with --ignored"]
fn bootstrapping_at_n_2_13_meets_the_precision_targets() {
    let report = pann_he::bootstrap::bench(13, None, 3).unwrap();
    assert_eq!((report.levels_before, report.levels_after, report.slots), (0, 10, 4096));
    assert!(
        report.precision_bits_min >= 16.0 && report.precision_bits_mean >= 20.0,
        "{report:?}"
    );
}

#[test]
fn sparse_packing_bootstraps_replicated_messages_with_smaller_transforms() {
    let (log_n, log_slots) = (11, 6);
    let full = params::test_insecure(log_n, 2);
    let preset = params::sparse(full.clone(), log_slots);
    assert_eq!(preset.boot.slots(), 64);
    let params = Arc::new(Parameters::new(preset.literal.clone()).unwrap());
    let full_params = Parameters::new(full.literal.clone()).unwrap();
    // Fewer rotations than the full-slot plan, the trace's included.
    let sparse_rot = keys::rotations(&params, &preset.boot);
    assert!(sparse_rot.len() < keys::rotations(&full_params, &full.boot).len());
    for r in keys::trace_rotations(params.slots(), 64) {
        assert!(sparse_rot.contains(&r), "trace rotation {r}");
    }
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 31);
    let sk = kg.secret_key();
    let k = keys::generate(&mut kg, &sk, &params, &preset.boot).unwrap();
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), k).unwrap();
    assert_eq!(boot.output_level(), 2);
    let v = complex_values(64, 32);
    let replicated: Vec<Complex> = (0..params.slots()).map(|j| v[j % 64]).collect();
    let poly = encoder
        .encode(params.ring(), &replicated, 0, params.default_scale())
        .unwrap();
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 33);
    let ct = enc.encrypt_sk(&pann_he::ckks::Plaintext::from_poly(poly, params.default_scale()), &sk);
    let out = boot.bootstrap(&ct).unwrap();
    assert_eq!(out.level(), 2);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk);
    let got = dec.decrypt_complex(&out).unwrap();
    let (min, mean) = precision_bits(&got, &replicated);
    assert!(min > 16.0 && mean > 20.0, "{min:.1} bits min, {mean:.1} bits mean");
}
