//! Shared set-up for the pann-he tests: insecure toy parameters (DISCLAIMER: not secure, tests only) and keys,
//! generated once per parameter shape and reused across tests.

#![allow(dead_code)]

use std::sync::Arc;

use pann_he::ckks::{presets, Decryptor, Encoder, Encryptor, Evaluator, Parameters};
use pann_he::rlwe::{KeyGenerator, PublicKey, SecretKey};

pub struct Ctx {
    pub params: Arc<Parameters>,
    pub encoder: Arc<Encoder>,
    pub sk: SecretKey,
    pub pk: PublicKey,
    pub eval: Evaluator,
    pub enc: Encryptor,
    pub dec: Decryptor,
}

/// Keys for `N = 2^log_n` with `levels` levels, rotation keys for `rotations`.
pub fn ctx(log_n: u32, levels: usize, rotations: &[i64]) -> Ctx {
    let params = Arc::new(Parameters::new(presets::test_insecure(log_n, levels)).unwrap());
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), 11);
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk);
    let rlk = kg.relin_key(&sk);
    let gks = kg.galois_keys(&sk, rotations);
    let eval = Evaluator::new(params.clone(), encoder.clone(), Some(rlk), gks);
    let enc = Encryptor::with_seed(params.clone(), encoder.clone(), 12);
    let dec = Decryptor::new(params.clone(), encoder.clone(), sk.clone());
    Ctx {
        params,
        encoder,
        sk,
        pk,
        eval,
        enc,
        dec,
    }
}

/// Deterministic pseudo-random values in `[lo, hi)`.
pub fn values(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

pub fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}
