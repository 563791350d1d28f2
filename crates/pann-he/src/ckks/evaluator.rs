//! Homomorphic operations on [`Ciphertext`]s.
//!
//! Level and scale rules, enforced on every call:
//! - operands at different levels meet at the lower one (dropping primes is exact);
//! - additions need equal scales (relative difference below [`SCALE_TOLERANCE`]); otherwise
//!   [`Error::ScaleMismatch`] — never a silent mis-scaling;
//! - a product's scale is the product of the scales, and may not exceed the modulus at its level
//!   ([`Error::ScaleOverflow`]); [`Evaluator::rescale`] divides by the last prime and records the exact new
//!   scale `Δ/q_ℓ`; at level 0 it is refused ([`Error::LevelExhausted`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::ciphertext::{Ciphertext, Plaintext};
use super::encoder::Encoder;
use super::params::Parameters;
use crate::error::{Error, Result};
use crate::ring::{Basis, RnsPoly};
use crate::rlwe::keyswitch::{decompose, key_switch, key_switch_decomposed};
use crate::rlwe::{GaloisKeys, RelinKey};

/// Largest relative difference of two scales that still count as equal.
pub const SCALE_TOLERANCE: f64 = 1e-9;

/// The evaluation side: parameters and public evaluation keys, no secret.
pub struct Evaluator {
    params: Arc<Parameters>,
    encoder: Arc<Encoder>,
    relin: Option<RelinKey>,
    galois: GaloisKeys,
    perms: Mutex<HashMap<u64, Arc<Vec<u32>>>>,
}

impl Evaluator {
    /// An evaluator with the given keys (either may be absent; operations that need one then fail clearly).
    pub fn new(params: Arc<Parameters>, encoder: Arc<Encoder>, relin: Option<RelinKey>, galois: GaloisKeys) -> Self {
        Self {
            params,
            encoder,
            relin,
            galois,
            perms: Mutex::new(HashMap::new()),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// The encoder.
    pub fn encoder(&self) -> &Arc<Encoder> {
        &self.encoder
    }

    /// Encodes real values at `level` and `scale` (plaintext operands: masks, biases).
    pub fn encode(&self, values: &[f64], level: usize, scale: f64) -> Result<Plaintext> {
        super::crypt::encode_real(&self.params, &self.encoder, values, level, scale)
    }

    /// The rotation keys.
    pub fn galois_keys(&self) -> &GaloisKeys {
        &self.galois
    }

    fn check_scales(op: &'static str, a: f64, b: f64) -> Result<()> {
        if ((a - b) / a).abs() > SCALE_TOLERANCE {
            return Err(Error::ScaleMismatch {
                op,
                a: a.log2(),
                b: b.log2(),
            });
        }
        Ok(())
    }

    fn check_product_scale(&self, op: &'static str, scale: f64, level: usize) -> Result<()> {
        let log_q = self.params.log_q_at(level);
        if scale.log2() > log_q - 2.0 {
            return Err(Error::ScaleOverflow {
                op,
                log_scale: scale.log2(),
                log_q,
                level,
            });
        }
        Ok(())
    }

    /// Drops primes until `ct` is at `level` (exact; the scale is unchanged).
    pub fn drop_to_level(&self, ct: &mut Ciphertext, level: usize) -> Result<()> {
        if level > ct.level() {
            return Err(Error::LevelExhausted {
                op: "drop_to_level",
                needed: level,
                level: ct.level(),
            });
        }
        for c in ct.c.iter_mut() {
            c.truncate(level + 1);
        }
        Ok(())
    }

    fn aligned(&self, a: &Ciphertext, b: &Ciphertext) -> Result<(Ciphertext, Ciphertext)> {
        let level = a.level().min(b.level());
        Ok((self.at_level(a, level)?, self.at_level(b, level)?))
    }

    /// A copy of `ct` dropped to `level`: only the rows kept are copied (cloning the whole ciphertext and then
    /// truncating it copies, and faults in, every row of the higher level for nothing).
    pub fn at_level(&self, ct: &Ciphertext, level: usize) -> Result<Ciphertext> {
        if level > ct.level() {
            return Err(Error::LevelExhausted {
                op: "at_level",
                needed: level,
                level: ct.level(),
            });
        }
        Ok(Ciphertext {
            c: [ct.c[0].prefix(level + 1), ct.c[1].prefix(level + 1)],
            scale: ct.scale,
        })
    }

    /// `a + b`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let mut out = a.clone();
        self.add_assign(&mut out, b)?;
        Ok(out)
    }

    /// `a += b`.
    pub fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<()> {
        Self::check_scales("add", a.scale, b.scale)?;
        let ring = self.params.ring();
        if b.level() < a.level() {
            self.drop_to_level(a, b.level())?;
        }
        for (x, y) in a.c.iter_mut().zip(&b.c) {
            ring.add_assign(x, y);
        }
        Ok(())
    }

    /// `a − b`.
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        Self::check_scales("sub", a.scale, b.scale)?;
        let ring = self.params.ring();
        let (mut a, b) = self.aligned(a, b)?;
        for (x, y) in a.c.iter_mut().zip(&b.c) {
            ring.sub_assign(x, y);
        }
        Ok(a)
    }

    /// `−a`.
    pub fn neg(&self, a: &Ciphertext) -> Ciphertext {
        let mut out = a.clone();
        for c in out.c.iter_mut() {
            self.params.ring().neg_assign(c);
        }
        out
    }

    /// `a + c` for a real constant `c` in every slot.
    pub fn add_const(&self, a: &Ciphertext, c: f64) -> Result<Ciphertext> {
        if !c.is_finite() {
            return Err(Error::Encode(format!("constant {c} is not finite")));
        }
        let ring = self.params.ring();
        let mut out = a.clone();
        // The constant polynomial c·Δ is the same value in every NTT slot.
        let v = (c * a.scale).round() as i128;
        let residues = ring.residues_i128(out.c[0].basis(), v);
        ring.add_residues_assign(&mut out.c[0], &residues);
        Ok(out)
    }

    /// `a + pt` (same scale; the plaintext may sit at a higher level).
    pub fn add_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        Self::check_scales("add_plain", a.scale, pt.scale)?;
        if pt.level() < a.level() {
            return Err(Error::Incompatible(format!(
                "plaintext at level {} below the ciphertext's {}",
                pt.level(),
                a.level()
            )));
        }
        let mut out = a.clone();
        self.params.ring().add_assign(&mut out.c[0], &pt.poly);
        Ok(out)
    }

    /// `a ⊙ pt`, slot-wise, without rescaling: the scale becomes `Δ_a·Δ_pt`.
    pub fn mul_plain(&self, a: &Ciphertext, pt: &Plaintext) -> Result<Ciphertext> {
        let mut out = a.clone();
        self.mul_plain_assign(&mut out, pt)?;
        Ok(out)
    }

    /// `a ⊙= pt`.
    pub fn mul_plain_assign(&self, a: &mut Ciphertext, pt: &Plaintext) -> Result<()> {
        if pt.level() < a.level() {
            return Err(Error::Incompatible(format!(
                "plaintext at level {} below the ciphertext's {}",
                pt.level(),
                a.level()
            )));
        }
        let scale = a.scale * pt.scale;
        self.check_product_scale("mul_plain", scale, a.level())?;
        for c in a.c.iter_mut() {
            self.params.ring().mul_assign(c, &pt.poly);
        }
        a.scale = scale;
        Ok(())
    }

    /// `a · k` for an integer `k`: exact, the scale unchanged.
    pub fn mul_integer(&self, a: &Ciphertext, k: i128) -> Ciphertext {
        let ring = self.params.ring();
        let mut out = a.clone();
        let residues = ring.residues_i128(out.c[0].basis(), k);
        for c in out.c.iter_mut() {
            ring.mul_residues_assign(c, &residues);
        }
        out
    }

    /// `a · c` for a real constant encoded as `round(c·const_scale)`: the scale becomes `Δ_a·const_scale`.
    pub fn mul_const(&self, a: &Ciphertext, c: f64, const_scale: f64) -> Result<Ciphertext> {
        let v = c * const_scale;
        if !v.is_finite() || v.abs() >= 2f64.powi(120) {
            return Err(Error::Encode(format!(
                "constant {c} × scale {const_scale} cannot be encoded"
            )));
        }
        let scale = a.scale * const_scale;
        self.check_product_scale("mul_const", scale, a.level())?;
        let mut out = self.mul_integer(a, v.round() as i128);
        out.scale = scale;
        Ok(out)
    }

    /// `a · c` followed by a rescale, landing exactly on `target` scale one level lower. The constant is
    /// encoded at `target·q_ℓ/Δ_a`, so the only error is its rounding (relative `2^-log2(c·target·q_ℓ/Δ_a)`).
    pub fn mul_const_to_scale(&self, a: &Ciphertext, c: f64, target: f64) -> Result<Ciphertext> {
        let level = a.level();
        if level == 0 {
            return Err(Error::LevelExhausted {
                op: "mul_const_to_scale",
                needed: 1,
                level,
            });
        }
        let q = self.params.q()[level] as f64;
        let mut out = self.mul_const(a, c, target * q / a.scale)?;
        self.rescale_assign(&mut out)?;
        out.scale = target;
        Ok(out)
    }

    /// `a · b`, relinearised, not rescaled: the scale becomes `Δ_a·Δ_b`.
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let rlk = self
            .relin
            .as_ref()
            .ok_or_else(|| Error::MissingKey("ciphertext multiplication needs the relinearisation key".into()))?;
        let level = a.level().min(b.level());
        let scale = a.scale * b.scale;
        self.check_product_scale("mul", scale, level)?;
        let ring = self.params.ring();
        // The operands' rows beyond `level` are ignored by the ring products (which run over the first
        // operand's rows): no aligned copies. A square (`a` and `b` the same ciphertext) needs one cross product.
        let square = std::ptr::eq(a, b);
        let mut d0 = a.c[0].prefix(level + 1);
        ring.mul_assign(&mut d0, &b.c[0]);
        let mut d1 = a.c[0].prefix(level + 1);
        ring.mul_assign(&mut d1, &b.c[1]);
        if square {
            let two = ring.residues_i128(d1.basis(), 2);
            ring.mul_residues_assign(&mut d1, &two);
        } else {
            ring.mul_add_assign(&mut d1, &a.c[1], &b.c[0]);
        }
        let mut d2 = a.c[1].prefix(level + 1);
        ring.mul_assign(&mut d2, &b.c[1]);
        let [e0, e1] = key_switch(&self.params, &d2, &rlk.0);
        ring.add_assign(&mut d0, &e0);
        ring.add_assign(&mut d1, &e1);
        Ok(Ciphertext { c: [d0, d1], scale })
    }

    /// `a · b` then rescale.
    pub fn mul_rescale(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let mut out = self.mul(a, b)?;
        self.rescale_assign(&mut out)?;
        Ok(out)
    }

    /// Divides by the last prime `q_ℓ`: one level down, scale `Δ/q_ℓ`.
    pub fn rescale_assign(&self, a: &mut Ciphertext) -> Result<()> {
        let level = a.level();
        if level == 0 {
            return Err(Error::LevelExhausted {
                op: "rescale",
                needed: 1,
                level,
            });
        }
        let q = self.params.q()[level] as f64;
        for c in a.c.iter_mut() {
            self.params.ring().rescale(c);
        }
        a.scale /= q;
        Ok(())
    }

    /// `rescale` returning a new ciphertext.
    pub fn rescale(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let mut out = a.clone();
        self.rescale_assign(&mut out)?;
        Ok(out)
    }

    fn permutation(&self, g: u64) -> Arc<Vec<u32>> {
        let mut cache = self.perms.lock().expect("permutation cache poisoned");
        cache
            .entry(g)
            .or_insert_with(|| Arc::new(self.params.ring().automorphism_permutation(g)))
            .clone()
    }

    /// Rotates the slots left by `k` (right if negative). Needs the rotation key of `k`.
    pub fn rotate(&self, a: &Ciphertext, k: i64) -> Result<Ciphertext> {
        let ring = self.params.ring();
        let g = ring.galois_element(k);
        if g == 1 {
            return Ok(a.clone());
        }
        let key = self
            .galois
            .get(g)
            .ok_or_else(|| Error::MissingKey(format!("no rotation key for a rotation by {k} slots")))?;
        let perm = self.permutation(g);
        let mut c0 = ring.automorphism_ntt(&a.c[0], &perm);
        let c1 = ring.automorphism_ntt(&a.c[1], &perm);
        let [e0, e1] = key_switch(&self.params, &c1, key);
        ring.add_assign(&mut c0, &e0);
        Ok(Ciphertext {
            c: [c0, e1],
            scale: a.scale,
        })
    }

    fn galois_key(&self, g: u64, what: impl FnOnce() -> String) -> Result<&crate::rlwe::SwitchingKey> {
        self.galois
            .get(g)
            .ok_or_else(|| Error::MissingKey(format!("no key for {} (Galois element {g})", what())))
    }

    /// Rotations of one ciphertext by each of `steps` (left; negative: right), sharing one decomposition of
    /// `c_1` (hoisting): each extra rotation costs an inner product with its key and a reduction by `P`, not the
    /// `dnum·(ℓ+1+K)` NTTs of a fresh decomposition. Every key is checked before any work.
    pub fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        let ring = self.params.ring();
        let mut keys = Vec::with_capacity(steps.len());
        for &k in steps {
            let g = ring.galois_element(k);
            keys.push(if g == 1 {
                None
            } else {
                Some((g, self.galois_key(g, || format!("a rotation by {k} slots"))?))
            });
        }
        if keys.iter().all(Option::is_none) {
            return Ok(vec![a.clone(); steps.len()]);
        }
        let dec = decompose(&self.params, &a.c[1]);
        keys.into_iter()
            .map(|key| {
                let Some((g, key)) = key else {
                    return Ok(a.clone());
                };
                let perm = self.permutation(g);
                let mut c0 = ring.automorphism_ntt(&a.c[0], &perm);
                let [e0, e1] = key_switch_decomposed(&self.params, &dec, Some(&perm), key);
                ring.add_assign(&mut c0, &e0);
                Ok(Ciphertext {
                    c: [c0, e1],
                    scale: a.scale,
                })
            })
            .collect()
    }

    /// Complex conjugation of every slot (the automorphism `X → X^(2N−1)`). Needs the conjugation key.
    pub fn conjugate(&self, a: &Ciphertext) -> Result<Ciphertext> {
        let ring = self.params.ring();
        let g = 2 * ring.n() as u64 - 1;
        let key = self.galois_key(g, || "complex conjugation".into())?;
        let perm = self.permutation(g);
        let mut c0 = ring.automorphism_ntt(&a.c[0], &perm);
        let c1 = ring.automorphism_ntt(&a.c[1], &perm);
        let [e0, e1] = key_switch(&self.params, &c1, key);
        ring.add_assign(&mut c0, &e0);
        Ok(Ciphertext {
            c: [c0, e1],
            scale: a.scale,
        })
    }

    /// `i·a` in every slot, exactly and without a level: multiplication by the monomial `X^(N/2)`, which takes
    /// the value `ζ^(5^j·N/2) = i` at every slot root.
    pub fn mul_by_i(&self, a: &Ciphertext) -> Ciphertext {
        let ring = self.params.ring();
        let mut mono = vec![0i64; ring.n()];
        mono[ring.n() / 2] = 1;
        let mut x = ring.from_signed(&mono, Basis::level(a.level()));
        ring.ntt(&mut x);
        let mut out = a.clone();
        for c in out.c.iter_mut() {
            ring.mul_assign(c, &x);
        }
        out
    }

    /// `acc += a ⊙ pt`, where `acc` already has the product's scale `Δ_a·Δ_pt` and `a`'s level (the fused step
    /// of a diagonal linear transform: no intermediate ciphertext).
    pub fn mul_plain_add_assign(&self, acc: &mut Ciphertext, a: &Ciphertext, pt: &Plaintext) -> Result<()> {
        Self::check_scales("mul_plain_add", acc.scale, a.scale * pt.scale)?;
        if pt.level() < a.level() || acc.level() != a.level() {
            return Err(Error::Incompatible(format!(
                "fused product at levels {} (accumulator), {} (ciphertext), {} (plaintext)",
                acc.level(),
                a.level(),
                pt.level()
            )));
        }
        let ring = self.params.ring();
        for (x, c) in acc.c.iter_mut().zip(&a.c) {
            ring.mul_add_assign(x, c, &pt.poly);
        }
        Ok(())
    }

    /// `Σ_i a_i ⊙ pt_i` in one pass: every coefficient accumulates its products in 128 bits and is reduced once
    /// (the inner sums of a diagonal linear transform: one reduction instead of one per term). The `a_i` share
    /// a level, the plaintexts sit at that level or above, and every product has the same scale.
    pub fn dot_plain(&self, a: &[&Ciphertext], pts: &[&Plaintext]) -> Result<Ciphertext> {
        let (Some(first), Some(pt0)) = (a.first(), pts.first()) else {
            return Err(Error::Incompatible("an empty plaintext inner product".into()));
        };
        if a.len() != pts.len() || a.len() > 255 {
            return Err(Error::Incompatible(format!(
                "{} ciphertexts against {} plaintexts (at most 255 terms)",
                a.len(),
                pts.len()
            )));
        }
        let level = first.level();
        let scale = first.scale * pt0.scale;
        for (c, p) in a.iter().zip(pts) {
            Self::check_scales("dot_plain", scale, c.scale * p.scale)?;
            if c.level() != level || p.level() < level {
                return Err(Error::Incompatible(format!(
                    "inner product term at levels {} (ciphertext), {} (plaintext), expected {level}",
                    c.level(),
                    p.level()
                )));
            }
        }
        self.check_product_scale("dot_plain", scale, level)?;
        let ring = self.params.ring();
        let n = ring.n();
        let basis = Basis::level(level);
        let mut out = self.zero(level, scale);
        for (half, o) in out.c.iter_mut().enumerate() {
            use rayon::prelude::*;
            o.data.par_chunks_exact_mut(n).enumerate().for_each(|(r, row)| {
                let m = ring.modulus_of(basis, r);
                let cs: Vec<&[u64]> = a.iter().map(|c| c.c[half].row(r)).collect();
                let ps: Vec<&[u64]> = pts.iter().map(|p| p.poly.row(r)).collect();
                crate::ring::ntt::with_avx2(
                    #[inline(always)]
                    || {
                        for (x, o) in row.iter_mut().enumerate() {
                            let mut acc = 0u128;
                            for (c, p) in cs.iter().zip(&ps) {
                                acc += c[x] as u128 * p[x] as u128;
                            }
                            *o = m.reduce_wide(acc);
                        }
                    },
                );
            });
        }
        Ok(out)
    }

    /// A zero ciphertext at `level` and `scale` (an accumulator).
    pub fn zero(&self, level: usize, scale: f64) -> Ciphertext {
        let ring = self.params.ring();
        let z: RnsPoly = ring.zero(Basis::level(level), true);
        Ciphertext {
            c: [z.clone(), z],
            scale,
        }
    }
}
