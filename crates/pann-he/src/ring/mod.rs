//! The polynomial ring `R = Z[X]/(X^N + 1)` in residue-number-system (RNS) form: word-sized prime arithmetic,
//! NTT-friendly primes, the negacyclic NTT, RNS polynomials and the basis conversions that rescaling and key
//! switching are made of. Nothing here knows about encryption.

pub mod basis;
pub mod context;
pub mod modulus;
pub mod ntt;
pub mod poly;
pub mod primes;
pub mod sampler;

pub use context::RingContext;
pub use modulus::Modulus;
pub use poly::{Basis, RnsPoly};
