//! Randomness for keys and encryptions: a ChaCha20 stream seeded from the operating system (or from a given
//! seed, for reproducible tests), uniform residues, ternary secrets and a discrete Gaussian error.
//!
//! The error distribution is the rounded normal `⌊N(0, σ²)⌉` with `σ = 3.2`, rejected beyond `6σ` — the
//! distribution the Homomorphic Encryption Standard's tables assume and the one SEAL and Lattigo use.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::{ChaCha20Rng, ChaCha8Rng};
use rayon::prelude::*;

use super::context::RingContext;
use super::poly::{Basis, RnsPoly};

/// Standard deviation of the error.
pub const SIGMA: f64 = 3.2;
/// Errors are rejected beyond `BOUND_SIGMAS · σ`.
pub const BOUND_SIGMAS: f64 = 6.0;

/// The random source of one party.
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl Sampler {
    /// Seeded from the operating system.
    pub fn from_entropy() -> Self {
        Self {
            rng: ChaCha20Rng::from_os_rng(),
        }
    }

    /// Seeded deterministically (tests and reproducible benchmarks only).
    pub fn from_seed(seed: u64) -> Self {
        Self {
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    /// Seeded from 32 bytes (a stream derived from another sampler's [`Self::seed`]).
    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// A fresh 32-byte seed for a derived stream.
    pub fn seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        self.rng.fill_bytes(&mut s);
        s
    }

    /// A uniformly random polynomial in `basis`, NTT form (a uniform polynomial is uniform in either form).
    pub fn uniform(&mut self, ctx: &RingContext, basis: Basis) -> RnsPoly {
        let mut p = ctx.zero(basis, true);
        let seeds: Vec<[u8; 32]> = (0..p.rows()).map(|_| self.seed()).collect();
        let n = ctx.n();
        p.data.par_chunks_exact_mut(n).enumerate().for_each(|(j, row)| {
            let q = ctx.modulus_of(basis, j).value();
            let mut rng = ChaCha20Rng::from_seed(seeds[j]);
            // Rejection sampling below the largest multiple of q that fits: exactly uniform.
            let zone = u64::MAX - (u64::MAX % q) - 1;
            for x in row.iter_mut() {
                *x = loop {
                    let r = rng.next_u64();
                    if r <= zone {
                        break r % q;
                    }
                };
            }
        });
        p
    }

    /// Row `prime` of the uniform mask `a_j` of digit `j` of a compressed switching key, regenerated from the
    /// key's public seed: a ChaCha8 stream per (digit, prime), each `u64` cut to the bit length of `q` and
    /// rejected unless below `q` — exactly uniform, and the same at key generation and at every use, so the key
    /// need not store its `a` halves (half its memory). The stream depends on the prime's index in the full
    /// prime list, not on the level, so a row is the same whichever level the key is used at.
    pub fn mask_row(seed: &[u8; 32], digit: usize, prime: usize, q: u64, out: &mut [u64]) {
        let mut rng = ChaCha8Rng::from_seed(*seed);
        rng.set_stream(((digit as u64) << 32) | prime as u64);
        let mask = u64::MAX >> q.leading_zeros();
        for x in out.iter_mut() {
            *x = loop {
                let r = rng.next_u64() & mask;
                if r < q {
                    break r;
                }
            };
        }
    }

    /// A sparse ternary polynomial: exactly `h` coefficients of ±1 (positions uniform without repetition, signs
    /// uniform), the rest 0 — the ephemeral secret of sparse-secret encapsulation ([`crate::bootstrap`]).
    pub fn sparse_ternary(&mut self, n: usize, h: usize) -> Vec<i64> {
        assert!(h <= n, "Hamming weight {h} exceeds the degree {n}");
        let mut out = vec![0i64; n];
        let mut placed = 0;
        while placed < h {
            let i = self.rng.random_range(0..n);
            if out[i] == 0 {
                out[i] = if self.rng.random::<bool>() { 1 } else { -1 };
                placed += 1;
            }
        }
        out
    }

    /// Ternary coefficients, each of −1, 0, 1 with probability 1/3.
    pub fn ternary(&mut self, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.rng.random_range(0..3i64) - 1).collect()
    }

    /// Discrete Gaussian coefficients `⌊N(0, σ²)⌉`, `|e| ≤ 6σ`.
    pub fn gaussian(&mut self, n: usize) -> Vec<i64> {
        let bound = (BOUND_SIGMAS * SIGMA).floor();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            // Box–Muller: two independent normals from two uniforms in (0, 1].
            let u1 = 1.0 - self.rng.random::<f64>();
            let u2 = self.rng.random::<f64>();
            let r = SIGMA * (-2.0 * u1.ln()).sqrt();
            let t = std::f64::consts::TAU * u2;
            for z in [r * t.cos(), r * t.sin()] {
                let e = z.round();
                if e.abs() <= bound && out.len() < n {
                    out.push(e as i64);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_has_the_right_spread_and_bound() {
        let mut s = Sampler::from_seed(7);
        let e = s.gaussian(200_000);
        let var = e.iter().map(|&x| (x * x) as f64).sum::<f64>() / e.len() as f64;
        // Rounding adds 1/12 to the variance.
        assert!((var - (SIGMA * SIGMA + 1.0 / 12.0)).abs() < 0.15, "variance {var}");
        assert!(e.iter().all(|&x| x.abs() <= 19));
        let mean = e.iter().sum::<i64>() as f64 / e.len() as f64;
        assert!(mean.abs() < 0.05);
    }

    #[test]
    fn ternary_is_balanced() {
        let mut s = Sampler::from_seed(8);
        let t = s.ternary(30_000);
        for v in -1..=1 {
            let c = t.iter().filter(|&&x| x == v).count();
            assert!((9_000..11_000).contains(&c), "{v}: {c}");
        }
    }
}
