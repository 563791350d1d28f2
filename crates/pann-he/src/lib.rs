//! # pann-he
//!
//! RNS-CKKS homomorphic encryption in plain Rust (no C library, stable toolchain), and the circuits that run a
//! polynomial approximation of a neural network (PANN) on encrypted data.
//!
//! Layers, imported one way only: [`ring`] (primes, NTT, RNS polynomials, samplers) → [`rlwe`] (parameters,
//! keys, key switching) → [`ckks`] (parameters, encoder, encryption, evaluator) → [`circuits`] (polynomial
//! evaluation at the depth of pann-approx's cost model, convolutions by rotations, the encrypted CNN) and
//! [`bootstrap`].
//!
//! ```
//! use std::sync::Arc;
//! use pann_he::ckks::{presets, Encoder, Encryptor, Decryptor, Evaluator, Parameters};
//! use pann_he::rlwe::KeyGenerator;
//! // DISCLAIMER: a toy parameter set (N = 2^10), not secure; for the example only.
//! let params = Arc::new(Parameters::new(presets::test_insecure(10, 3)).unwrap());
//! let encoder = Arc::new(Encoder::new(params.n()));
//! let mut keygen = KeyGenerator::with_seed(params.clone(), 1);
//! let sk = keygen.secret_key();
//! let pk = keygen.public_key(&sk);
//! let rlk = keygen.relin_key(&sk);
//! let gks = keygen.galois_keys(&sk, &[1]);
//! let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), 2);
//! let eval = Evaluator::new(params.clone(), encoder.clone(), Some(rlk), gks);
//! let dec = Decryptor::new(params.clone(), encoder.clone(), sk);
//! let pt = enc.encode(&[0.5, -0.25, 2.0], params.max_level(), params.default_scale()).unwrap();
//! let ct = enc.encrypt_pk(&pt, &pk);
//! let sq = eval.mul_rescale(&ct, &ct).unwrap();
//! let rot = eval.rotate(&sq, 1).unwrap();
//! let out = dec.decrypt_values(&rot, 2).unwrap();
//! assert!((out[0] - 0.0625).abs() < 1e-6 && (out[1] - 4.0).abs() < 1e-6);
//! ```
//!
//! # Bootstrapping
//! [`bootstrap`] raises a level-0 ciphertext back to a high level (ModRaise, CoeffsToSlots, EvalMod,
//! SlotsToCoeffs; full slots). It is made of the layers above: hoisted rotations and the diagonal linear
//! transforms of [`bootstrap::lintrans`], the Chebyshev-basis evaluation of [`circuits::poly_eval`], compressed
//! rotation keys from [`rlwe`]. Ciphertexts carry their level and exact scale, so a bootstrapped ciphertext
//! composes with every other operation; `bootstrap::bench` measures it (precision, time, key bytes, peak memory).
#![warn(missing_docs)]

pub mod bootstrap;
pub mod circuits;
pub mod ckks;
pub mod error;
pub mod ring;
pub mod rlwe;
pub mod serialize;

pub use error::{Error, Result};
