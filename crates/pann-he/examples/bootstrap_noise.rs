//! Where a bootstrap's error comes from, stage by stage (a diagnostic for tuning presets):
//! `cargo run --release -p pann-he --example bootstrap_noise -- LOG_N` on the N = 2^16 preset's shape at
//! `N = 2^LOG_N` (insecure below 16).
//!
//! The same message is carried to the end four ways, each measured against the input (bits min/mean): (a) the
//! decrypted raised ciphertext through exact plaintext transforms and an exact sine (only the sine's curvature
//! errs); (b) the decrypted CoeffsToSlots output through the exact sine and SlotsToCoeffs (adds CoeffsToSlots'
//! noise); (c) the decrypted EvalMod outputs through the exact SlotsToCoeffs (adds EvalMod's noise); (d) the
//! whole encrypted bootstrap (adds SlotsToCoeffs' noise).

use std::f64::consts::PI;
use std::sync::Arc;

use pann_he::bootstrap::bench::precision_bits;
use pann_he::bootstrap::coeffs_to_slots::coeffs_to_slots_layers;
use pann_he::bootstrap::lintrans::apply_plain;
use pann_he::bootstrap::slots_to_coeffs::slots_to_coeffs_layers;
use pann_he::bootstrap::{keys, params, Bootstrapper};
use pann_he::ckks::{Complex, Decryptor, Encoder, Encryptor, Parameters, Plaintext};
use pann_he::rlwe::KeyGenerator;

fn main() {
    let log_n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(13);
    let preset = params::n16_shape(log_n);
    let b = preset.boot.clone();
    let params = Arc::new(Parameters::new(preset.literal.clone()).expect("preset"));
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 1);
    let sk = kg.secret_key();
    let bk = keys::generate(&mut kg, &sk, &params, &b).unwrap();
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), b.clone(), bk).expect("plan");
    let n = params.slots();
    let mut s = 7u64;
    let mut uni = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let values: Vec<Complex> = (0..n).map(|_| Complex { re: uni(), im: uni() }).collect();
    let delta = params.default_scale();
    let pt = Plaintext::from_poly(encoder.encode(params.ring(), &values, 0, delta).expect("encode"), delta);
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 3);
    let ct = enc.encrypt_sk(&pt, &sk);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk);
    let q0 = params.q()[0] as f64;
    let boost = (q0 / (2f64.powi(b.log_message_ratio as i32) * delta)).log2().floor();
    let delta_eff = delta * 2f64.powf(boost);
    let factor = q0 / (2.0 * PI * delta_eff);
    let cts = coeffs_to_slots_layers(n, b.cts_levels);
    let stc = slots_to_coeffs_layers(n, b.stc_levels);
    let sine = |x: f64| factor * (2.0 * PI * b.k * x).sin();
    let finish = |w: Vec<Complex>| stc.iter().fold(w, |v, d| apply_plain(d, &v));
    let through_sine = |z: &[Complex]| -> Vec<Complex> {
        z.iter()
            .map(|c| Complex {
                re: sine(2.0 * c.re),
                im: sine(2.0 * c.im),
            })
            .collect()
    };
    let report = |what: &str, got: &[Complex]| {
        let (min, mean) = precision_bits(got, &values);
        println!("{what}: {min:.2} bits min / {mean:.2} mean");
    };
    let raised = boot.raise(&ct).expect("raise");
    let zr = dec.decrypt_complex(&raised).expect("decrypt");
    let z_exact = cts.iter().fold(zr, |v, d| apply_plain(d, &v));
    report("(a) curvature only", &finish(through_sine(&z_exact)));
    let z = boot.coeffs_to_slots(&raised).expect("CtS");
    let z_dec = dec.decrypt_complex(&z).expect("decrypt");
    report("(b) + CoeffsToSlots", &finish(through_sine(&z_dec)));
    let e = boot.evaluator();
    let zc = e.conjugate(&z).expect("conj");
    let mut re = e.add(&z, &zc).expect("add");
    let mut im = e.neg(&e.mul_by_i(&e.sub(&z, &zc).expect("sub")));
    re.set_scale(boot.eval_scale()).expect("scale");
    im.set_scale(boot.eval_scale()).expect("scale");
    // z + z̄ holds 2·Re z at z's scale: read at the same scale it is the x EvalMod expects.
    let (yr, yi) = (
        boot.eval_mod(&re).expect("EvalMod"),
        boot.eval_mod(&im).expect("EvalMod"),
    );
    let (yr, yi) = (
        dec.decrypt_complex(&yr).expect("dec"),
        dec.decrypt_complex(&yi).expect("dec"),
    );
    let w: Vec<Complex> = yr
        .iter()
        .zip(&yi)
        .map(|(a, c)| Complex {
            re: factor * a.re,
            im: factor * c.re,
        })
        .collect();
    report("(c) + EvalMod (split after the last CtS rescale)", &finish(w));
    let out = boot.bootstrap(&ct).expect("bootstrap");
    report("(d) whole bootstrap", &dec.decrypt_complex(&out).expect("decrypt"));
}
