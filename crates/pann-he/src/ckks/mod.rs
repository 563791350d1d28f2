//! The CKKS scheme over [`crate::rlwe`]: parameters, slots encoding, ciphertexts that carry their level and
//! exact scale, encryption/decryption with a wrap-around check, and the homomorphic operations.

pub mod ciphertext;
pub mod crypt;
pub mod encoder;
pub mod evaluator;
pub mod params;

pub use ciphertext::{Ciphertext, Plaintext};
pub use crypt::{Decryptor, Encryptor};
pub use encoder::{Complex, Encoder};
pub use evaluator::Evaluator;
pub use params::{presets, Parameters, ParametersLiteral, Security};
