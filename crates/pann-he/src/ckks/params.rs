//! CKKS parameters: a plain literal ([`ParametersLiteral`]) checked and turned into [`Parameters`] (primes
//! generated, security checked against the Homomorphic Encryption Standard, key-switching digits fixed).
//!
//! Security: for a uniform ternary secret and error σ = 3.2, the Homomorphic Encryption Standard (Albrecht et
//! al. 2018, table for 128-bit classical security) allows `log2(QP)` of at most 27, 54, 109, 218, 438, 881 bits
//! for `N = 2^10 … 2^15`; for `2^16` pann uses 1772, the value Lattigo derives with the same lattice estimator.
//! Parameter sets above that are refused unless the literal says [`Security::Insecure`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ring::primes::ntt_primes_near;
use crate::rlwe;

/// Largest `log2(QP)` for 128-bit classical security, indexed by `log2 N` (0 where the table has no entry).
pub fn max_log_qp_128(log_n: u32) -> Option<u32> {
    match log_n {
        10 => Some(27),
        11 => Some(54),
        12 => Some(109),
        13 => Some(218),
        14 => Some(438),
        15 => Some(881),
        16 => Some(1772),
        _ => None,
    }
}

/// Whether a parameter set must meet 128-bit security.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Security {
    /// Refuse anything above the HE Standard's 128-bit bound.
    Bits128,
    /// Accept any size: for tests and toy examples only.
    Insecure,
}

/// The defining quantities of a parameter set, before primes are generated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParametersLiteral {
    /// `log2 N`; the slot count is `N/2`.
    pub log_n: u32,
    /// Bit sizes of the ciphertext primes `q_0, q_1, …, q_L`: `q_0` holds the final result, the others are
    /// divided out by rescaling one per multiplicative level, so they should equal `log_scale`.
    pub log_q: Vec<u32>,
    /// Bit sizes of the special primes of hybrid key switching; their count `K` is also the digit size, so
    /// there are `⌈(L+1)/K⌉` digits.
    pub log_p: Vec<u32>,
    /// `log2` of the default scale `Δ`.
    pub log_scale: u32,
    /// Security requirement.
    pub security: Security,
}

/// A checked parameter set: the literal, and the RLWE parameters (ring, primes, digits) it dereferences to.
#[derive(Clone, Debug)]
pub struct Parameters {
    literal: ParametersLiteral,
    rlwe: rlwe::Parameters,
}

impl std::ops::Deref for Parameters {
    type Target = rlwe::Parameters;
    fn deref(&self) -> &rlwe::Parameters {
        &self.rlwe
    }
}

impl AsRef<rlwe::Parameters> for Parameters {
    fn as_ref(&self) -> &rlwe::Parameters {
        &self.rlwe
    }
}

impl AsRef<rlwe::Parameters> for Arc<Parameters> {
    fn as_ref(&self) -> &rlwe::Parameters {
        &self.rlwe
    }
}

impl Parameters {
    /// Checks a literal and generates its primes (nearest to `2^bits`, `≡ 1 mod 2N`).
    pub fn new(literal: ParametersLiteral) -> Result<Self> {
        let lit = &literal;
        let bad = |m: String| Err(Error::InvalidParameters(m));
        if !(4..=16).contains(&lit.log_n) {
            return bad(format!("log N = {} outside 4..=16", lit.log_n));
        }
        if lit.log_q.is_empty() || lit.log_p.is_empty() {
            return bad("need at least one ciphertext prime and one special prime".into());
        }
        for &b in lit.log_q.iter().chain(&lit.log_p) {
            if !(lit.log_n + 3..=60).contains(&b) {
                return bad(format!("prime size {b} bits outside {}..=60", lit.log_n + 3));
            }
        }
        if lit.log_scale < 10 || lit.log_scale > 60 {
            return bad(format!("log scale {} outside 10..=60", lit.log_scale));
        }
        let log_qp: u32 = lit.log_q.iter().chain(&lit.log_p).sum();
        if lit.security == Security::Bits128 {
            match max_log_qp_128(lit.log_n) {
                Some(max) if log_qp <= max => {}
                Some(max) => {
                    return Err(Error::Insecure {
                        log_n: lit.log_n,
                        log_qp,
                        max,
                    })
                }
                None => {
                    return bad(format!(
                        "no 128-bit security bound is tabulated for N = 2^{}; use 2^10..2^16 or Security::Insecure",
                        lit.log_n
                    ))
                }
            }
        }
        // Primes of equal size come from one alternating sequence, so they are distinct and balanced around 2^b.
        let mut taken: Vec<u64> = Vec::new();
        let mut pick = |sizes: &[u32]| -> Result<Vec<u64>> {
            let mut out = vec![0u64; sizes.len()];
            let mut bits: Vec<u32> = sizes.to_vec();
            bits.sort_unstable();
            bits.dedup();
            for b in bits {
                let idx: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] == b).collect();
                let primes = ntt_primes_near(b, lit.log_n, idx.len(), &taken).ok_or_else(|| {
                    Error::InvalidParameters(format!("not enough {b}-bit primes ≡ 1 mod 2^{}", lit.log_n + 1))
                })?;
                for (i, p) in idx.into_iter().zip(primes) {
                    out[i] = p;
                    taken.push(p);
                }
            }
            Ok(out)
        };
        let q = pick(&lit.log_q)?;
        let p = pick(&lit.log_p)?;
        let rlwe = rlwe::Parameters::new(lit.log_n, q, p)?;
        Ok(Self { literal, rlwe })
    }

    /// The literal these parameters were made from.
    pub fn literal(&self) -> &ParametersLiteral {
        &self.literal
    }

    /// The RLWE parameters (what keys and key switching need).
    pub fn rlwe(&self) -> &rlwe::Parameters {
        &self.rlwe
    }

    /// Number of complex slots, `N/2`.
    pub fn slots(&self) -> usize {
        self.n() / 2
    }

    /// The default scale `Δ = 2^log_scale`.
    pub fn default_scale(&self) -> f64 {
        2f64.powi(self.literal.log_scale as i32)
    }
}

/// Named parameter sets. Each meets 128-bit security by the HE Standard's table unless named `TEST_INSECURE_*`.
pub mod presets {
    use super::{ParametersLiteral, Security};

    /// `N = 2^14`, `Q = 60 + 7·40` bits, one 60-bit special prime: `log QP = 400` (≤ 438). 7 levels at scale
    /// 2^40. The shape of SEAL's customary 2^14 set, for like-for-like timing.
    pub fn pn14_qp400() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 14,
            log_q: std::iter::once(60).chain(std::iter::repeat_n(40, 7)).collect(),
            log_p: vec![60],
            log_scale: 40,
            security: Security::Bits128,
        }
    }

    /// `N = 2^15`, `Q = 60 + 17·40` bits, three 47-bit special primes: `log QP = 881` (≤ 881). 17 levels at
    /// scale 2^40, six key-switching digits: enough for two polynomial-ReLU layers of depth 7 with two
    /// convolutions and a linear head.
    pub fn pn15_qp881() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 15,
            log_q: std::iter::once(60).chain(std::iter::repeat_n(40, 17)).collect(),
            log_p: vec![47, 47, 47],
            log_scale: 40,
            security: Security::Bits128,
        }
    }

    /// `N = 2^16`, `Q = 60 + 30·40` bits, four 60-bit special primes: `log QP = 1500` (≤ 1772).
    pub fn pn16_qp1500() -> ParametersLiteral {
        ParametersLiteral {
            log_n: 16,
            log_q: std::iter::once(60).chain(std::iter::repeat_n(40, 30)).collect(),
            log_p: vec![60; 4],
            log_scale: 40,
            security: Security::Bits128,
        }
    }

    /// The smallest secure set with `N ≥ 2^min_log_n` and `levels` levels of `log_scale` bits over a 60-bit
    /// `q_0`: three special primes (four from `N = 2^16`) as large as the HE Standard's bound leaves room for,
    /// at most 60 bits, and at least `log_scale + 5` bits so that key switching adds little noise. `None` if
    /// even `N = 2^16` cannot hold that many levels.
    pub fn for_levels(min_log_n: u32, levels: usize, log_scale: u32) -> Option<ParametersLiteral> {
        (min_log_n.max(10)..=16).find_map(|log_n| {
            let max = super::max_log_qp_128(log_n)?;
            let k = if log_n >= 16 { 4 } else { 3 };
            let q_bits = 60 + log_scale * levels as u32;
            let room = max.checked_sub(q_bits)? / k;
            let p_bits = room.min(60);
            (p_bits >= log_scale + 5).then(|| ParametersLiteral {
                log_n,
                log_q: std::iter::once(60)
                    .chain(std::iter::repeat_n(log_scale, levels))
                    .collect(),
                log_p: vec![p_bits; k as usize],
                log_scale,
                security: Security::Bits128,
            })
        })
    }

    /// Insecure toy set for tests: `N = 2^log_n`, `levels` levels of 40 bits over a 55-bit `q_0`, two 55-bit
    /// special primes. DISCLAIMER: not secure; never use it for data.
    pub fn test_insecure(log_n: u32, levels: usize) -> ParametersLiteral {
        ParametersLiteral {
            log_n,
            log_q: std::iter::once(55).chain(std::iter::repeat_n(40, levels)).collect(),
            log_p: vec![55, 55],
            log_scale: 40,
            security: Security::Insecure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_secure_and_have_the_stated_levels() {
        for (lit, levels, bits) in [
            (presets::pn14_qp400(), 7, 400),
            (presets::pn15_qp881(), 17, 881),
            (presets::pn16_qp1500(), 30, 1500),
        ] {
            let p = Parameters::new(lit).unwrap();
            assert_eq!(p.max_level(), levels);
            assert!((p.log_qp() - bits as f64).abs() < 1.0, "{}", p.log_qp());
            assert!(p.log_qp() <= max_log_qp_128(p.log_n()).unwrap() as f64 + 0.01);
        }
    }

    #[test]
    fn insecure_sets_are_refused_unless_marked() {
        let mut lit = presets::pn14_qp400();
        lit.log_q.push(40);
        match Parameters::new(lit.clone()) {
            Err(Error::Insecure {
                log_qp: 440, max: 438, ..
            }) => {}
            other => panic!("expected Insecure, got {other:?}"),
        }
        lit.security = Security::Insecure;
        assert!(Parameters::new(lit).is_ok());
    }

    #[test]
    fn sets_for_a_depth_are_the_smallest_secure_ring() {
        let p = presets::for_levels(15, 17, 40).unwrap();
        assert_eq!((p.log_n, p.log_q.len(), p.log_p.clone()), (15, 18, vec![47, 47, 47]));
        assert!(Parameters::new(p).is_ok());
        let p = presets::for_levels(15, 21, 40).unwrap();
        assert_eq!(p.log_n, 16);
        assert!(Parameters::new(p).is_ok());
        assert!(presets::for_levels(15, 60, 40).is_none());
    }

    #[test]
    fn digits_cover_the_level() {
        let p = Parameters::new(presets::pn15_qp881()).unwrap();
        assert_eq!(p.digit_count(), 6);
        assert_eq!(p.digits_at(4), vec![(0, 3), (3, 5)]);
        let bad = ParametersLiteral {
            log_q: vec![],
            ..presets::test_insecure(10, 2)
        };
        assert!(Parameters::new(bad).is_err());
    }
}
