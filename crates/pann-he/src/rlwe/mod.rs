//! Ring-LWE: keys, encryption and decryption of RNS polynomials, and hybrid key switching. Nothing here knows
//! about slots or scales; [`crate::ckks`] adds those.

pub mod keys;
pub mod keyswitch;
pub mod params;

pub use keys::{GaloisKeys, KeyGenerator, PublicKey, RelinKey, SecretKey, SwitchingKey};
pub use params::Parameters;
