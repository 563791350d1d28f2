//! Controlled perturbations of ReLU outputs, to measure which kinds of error a network tolerates.
//!
//! A polynomial ReLU `x·(1 + p(x))/2` differs from ReLU by `x·(p(x) − sign x)/2`: an error proportional to `|x|`
//! (for `|x| ≥ ε`) whose sign follows the equioscillation of `p`, on negative inputs as well as positive ones.
//! Zhang et al. (arXiv:2402.11224) report that the error on *negative* inputs ("negative-input leakage") is the
//! one that hurts. [`Perturbation`] injects each ingredient separately — where (negative, positive, all inputs),
//! which sign (random ±1 or always +1) and which size (`δ·|x|` or `δ`) — into an otherwise exact ReLU.
//!
//! The random signs come from a hash of the seed, the element's position in memory and its value, so a run is
//! reproducible and the signs are independent across elements, images and sites.

/// Which inputs are perturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// `x < 0` only.
    Negative,
    /// `x > 0` only.
    Positive,
    /// Every input.
    All,
}

/// The sign of the perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignMode {
    /// Independent ±1 with equal probability (zero mean).
    Random,
    /// Always +1 (a bias).
    Constant,
}

/// The size of the perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Magnitude {
    /// `δ·|x|`, the shape of a polynomial's error.
    Proportional,
    /// `δ`.
    Constant,
}

/// `ReLU(x) + s·m(x)` on the selected inputs, `ReLU(x)` elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Perturbation {
    /// Where.
    pub region: Region,
    /// Which sign.
    pub sign: SignMode,
    /// Which size.
    pub magnitude: Magnitude,
    /// `δ`.
    pub delta: f64,
    /// Seed of the random signs.
    pub seed: u64,
}

#[inline]
fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Perturbation {
    /// The perturbed ReLU of `x`, the `i`-th element of its buffer.
    #[inline]
    pub fn apply(&self, x: f32, i: usize) -> f32 {
        let relu = x.max(0.0);
        let selected = match self.region {
            Region::Negative => x < 0.0,
            Region::Positive => x > 0.0,
            Region::All => true,
        };
        if !selected {
            return relu;
        }
        let m = match self.magnitude {
            Magnitude::Proportional => self.delta * x.abs() as f64,
            Magnitude::Constant => self.delta,
        };
        let s = match self.sign {
            SignMode::Constant => 1.0,
            SignMode::Random => {
                let h = mix(self.seed ^ mix(i as u64) ^ mix(x.to_bits() as u64 ^ 0x9e37_79b9_7f4a_7c15));
                if h & 1 == 0 {
                    1.0
                } else {
                    -1.0
                }
            }
        };
        relu + (s * m) as f32
    }

    /// Applies to a buffer in place; returns the largest `|x|` seen.
    pub fn apply_slice(&self, x: &mut [f32]) -> f64 {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 14;
        x.par_chunks_mut(CHUNK)
            .enumerate()
            .map(|(c, v)| {
                let mut m = 0.0f32;
                for (j, e) in v.iter_mut().enumerate() {
                    m = m.max(e.abs());
                    *e = self.apply(*e, c * CHUNK + j);
                }
                m as f64
            })
            .reduce(|| 0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(region: Region, sign: SignMode, magnitude: Magnitude) -> Perturbation {
        Perturbation {
            region,
            sign,
            magnitude,
            delta: 0.1,
            seed: 7,
        }
    }

    #[test]
    fn perturbs_only_the_selected_region_with_the_selected_size() {
        let neg = p(Region::Negative, SignMode::Constant, Magnitude::Proportional);
        assert_eq!(neg.apply(2.0, 0), 2.0);
        assert!((neg.apply(-2.0, 0) - 0.2).abs() < 1e-6);
        let pos = p(Region::Positive, SignMode::Constant, Magnitude::Constant);
        assert_eq!(pos.apply(-3.0, 0), 0.0);
        assert!((pos.apply(3.0, 0) - 3.1).abs() < 1e-6);
        let all = p(Region::All, SignMode::Constant, Magnitude::Constant);
        assert!((all.apply(-3.0, 0) - 0.1).abs() < 1e-6);
    }

    #[test]
    fn random_signs_are_balanced_and_reproducible() {
        let r = p(Region::All, SignMode::Random, Magnitude::Constant);
        let mut v: Vec<f32> = (0..100_000).map(|i| 1.0 + (i % 97) as f32).collect();
        let base = v.clone();
        r.apply_slice(&mut v);
        let ups = v.iter().zip(&base).filter(|(a, b)| a > b).count();
        assert!((ups as f64 / 1e5 - 0.5).abs() < 0.01, "{ups}");
        let mut w = base.clone();
        r.apply_slice(&mut w);
        assert_eq!(v, w);
    }
}
