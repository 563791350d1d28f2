//! Plaintext-diagonal linear transforms by baby-step/giant-step with hoisted baby steps (Halevi–Shoup 2018;
//! Bossuat et al. 2021 §3; Lattigo's `lintrans`).
//!
//! A slot-linear map `y = M·x` is written through its cyclic diagonals `d_k[r] = M[r][r+k mod n]`:
//! `y = Σ_k d_k ⊙ rot_k(x)`. Splitting every offset as `k = g + b` with `b = k mod n1` (baby) and `g = k − b`
//! (giant, a multiple of `n1`),
//!
//! `y = Σ_g rot_g( Σ_b rot_(−g)(d_(g+b)) ⊙ rot_b(x) )`,
//!
//! so the baby rotations `rot_b(x)` are computed once from one decomposition of `x` (hoisted) and only one
//! rotation per giant step follows. The rotated diagonals `rot_(−g)(d_(g+b))` are encoded once per plan, at the
//! level the transform runs at.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::ckks::{Ciphertext, Complex, Encoder, Evaluator, Parameters, Plaintext};
use crate::error::{Error, Result};
use crate::ring::ntt::with_avx2;
use crate::ring::{Basis, RingContext, RnsPoly};
use crate::rlwe::keyswitch::{decompose, key_switch_decomposed_raw};
use crate::rlwe::SwitchingKey;

/// Diagonals of a slot-linear map: offset (signed, in `(−n/2, n/2]`) → the `n` values of that diagonal.
pub type Diagonals = BTreeMap<i64, Vec<Complex>>;

/// A linear transform with its diagonals encoded for one level and scale.
#[derive(Debug)]
pub struct LinearTransform {
    level: usize,
    pt_scale: f64,
    n1: i64,
    /// Giant step → (baby step, encoded `rot_(−g)(d_(g+b))`).
    groups: BTreeMap<i64, Vec<(i64, Plaintext)>>,
}

/// What a giant step is charged against a baby step in [`best_baby_step`]. With double hoisting a giant step
/// costs several baby steps, but every extra baby step is one more rotation key: measured on the `N = 2^16`
/// preset's shape at `N = 2^14`, weight 4 needs 20% more key memory (1.66 against 1.38 GB) for no measurable
/// gain in time (4.1–4.4 s against 3.9–4.4 s).
pub const GIANT_WEIGHT: usize = 2;

/// The baby-step size `n1` (a power of two) minimising `babies + GIANT_WEIGHT·giants` for the offsets.
pub fn best_baby_step(offsets: &[i64], slots: usize) -> i64 {
    let mut best = (usize::MAX, 1i64);
    let mut n1 = 1i64;
    while n1 <= slots as i64 {
        let babies: std::collections::BTreeSet<i64> = offsets.iter().map(|k| k.rem_euclid(n1)).collect();
        let giants: std::collections::BTreeSet<i64> = offsets.iter().map(|k| k - k.rem_euclid(n1)).collect();
        let cost = babies.len() + GIANT_WEIGHT * giants.len();
        if cost < best.0 {
            best = (cost, n1);
        }
        n1 *= 2;
    }
    best.1
}

/// The rotations a transform with diagonals at `offsets` needs keys for (without encoding anything): its
/// nonzero baby and giant steps.
pub fn rotations_for(offsets: &[i64], slots: usize) -> Vec<i64> {
    let n1 = best_baby_step(offsets, slots);
    let mut r: Vec<i64> = offsets
        .iter()
        .flat_map(|&k| [k.rem_euclid(n1), k - k.rem_euclid(n1)])
        .filter(|&k| k != 0)
        .collect();
    r.sort_unstable();
    r.dedup();
    r
}

impl LinearTransform {
    /// Encodes the diagonals (each rotated by its giant step) at `level`, with plaintext scale `pt_scale`.
    pub fn new(params: &Parameters, encoder: &Encoder, diags: &Diagonals, level: usize, pt_scale: f64) -> Result<Self> {
        let slots = params.slots();
        let offsets: Vec<i64> = diags.keys().copied().collect();
        let n1 = best_baby_step(&offsets, slots);
        let mut groups: BTreeMap<i64, Vec<(i64, Plaintext)>> = BTreeMap::new();
        for (&k, d) in diags {
            // A map on n' < N/2 slots acts on messages replicated with period n': its diagonals are replicated
            // the same way, and a rotation by k is one by k mod n' on every copy.
            if d.is_empty() || !slots.is_multiple_of(d.len()) {
                return Err(Error::Incompatible(format!(
                    "diagonal {k} has {} values for {slots} slots",
                    d.len()
                )));
            }
            let d: Vec<Complex> = (0..slots).map(|r| d[r % d.len()]).collect();
            let b = k.rem_euclid(n1);
            let g = k - b;
            // rot_(−g)(d)[r] = d[r − g].
            let rotated: Vec<Complex> = (0..slots)
                .map(|r| d[(r as i64 - g).rem_euclid(slots as i64) as usize])
                .collect();
            // Over Q_level·P: the products are taken before the reduction by P (double hoisting).
            let poly = encoder.encode_extended(params.ring(), &rotated, level, pt_scale)?;
            groups
                .entry(g)
                .or_default()
                .push((b, Plaintext { poly, scale: pt_scale }));
        }
        Ok(Self {
            level,
            pt_scale,
            n1,
            groups,
        })
    }

    /// The level the input must be at.
    pub fn level(&self) -> usize {
        self.level
    }

    /// The plaintext scale: the output's scale is the input's times this (before the caller's rescale).
    pub fn pt_scale(&self) -> f64 {
        self.pt_scale
    }

    /// The baby-step size `n1`.
    pub fn baby_step(&self) -> i64 {
        self.n1
    }

    /// Number of encoded diagonals.
    pub fn diagonal_count(&self) -> usize {
        self.groups.values().map(Vec::len).sum()
    }

    /// Bytes held by the encoded diagonals.
    pub fn bytes(&self) -> usize {
        self.groups
            .values()
            .flatten()
            .map(|(_, p)| p.poly.as_slice().len() * 8)
            .sum()
    }

    /// The rotations (in slots) the transform needs keys for.
    pub fn rotations(&self) -> Vec<i64> {
        let mut r: Vec<i64> = self
            .groups
            .iter()
            .flat_map(|(&g, v)| std::iter::once(g).chain(v.iter().map(|&(b, _)| b)))
            .filter(|&k| k != 0)
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    }

    /// `Σ_k d_k ⊙ rot_k(x)`, not rescaled: the scale is `Δ_x · pt_scale`. `x` must be at [`Self::level`].
    ///
    /// Double hoisting (Bossuat et al. 2021 §3.2): the baby-step rotations share one decomposition of `c_1` and
    /// stay over `Q_ℓ·P`, unreduced (`P·φ_b(c_0)` plus the raw key-switching sum); each giant group's inner
    /// product is taken there, reduced once, rotated by its giant step (again unreduced), and all groups are
    /// summed before the one final division by `P`. A baby step then costs an inner product with its key; a
    /// giant step a decomposition and two reductions. Every key is checked before any work.
    pub fn apply(&self, eval: &Evaluator, x: &Ciphertext) -> Result<Ciphertext> {
        if x.level() != self.level {
            return Err(Error::Incompatible(format!(
                "linear transform encoded for level {}, the ciphertext is at level {}",
                self.level,
                x.level()
            )));
        }
        let params = eval.params();
        let ring = params.ring();
        let key_of = |k: i64| -> Result<Option<(&SwitchingKey, Vec<u32>)>> {
            let g = ring.galois_element(k);
            if g == 1 {
                return Ok(None);
            }
            let key = eval
                .galois_keys()
                .get(g)
                .ok_or_else(|| Error::MissingKey(format!("no rotation key for a rotation by {k} slots")))?;
            Ok(Some((key, ring.automorphism_permutation(g))))
        };
        let mut babies: Vec<i64> = self.groups.values().flatten().map(|&(b, _)| b).collect();
        babies.sort_unstable();
        babies.dedup();
        let baby_keys = babies.iter().map(|&b| key_of(b)).collect::<Result<Vec<_>>>()?;
        let giant_keys = self.groups.keys().map(|&g| key_of(g)).collect::<Result<Vec<_>>>()?;

        let c0p = times_p(ring, &x.c[0]);
        let dec = baby_keys
            .iter()
            .any(Option::is_some)
            .then(|| decompose(params, &x.c[1]));
        let rotated: Vec<[RnsPoly; 2]> = baby_keys
            .iter()
            .map(|k| match k {
                None => [c0p.clone(), times_p(ring, &x.c[1])],
                Some((key, perm)) => {
                    let dec = dec.as_ref().expect("decomposed for a rotation");
                    let [mut r0, r1] = key_switch_decomposed_raw(params, dec, Some(perm), key);
                    ring.add_assign(&mut r0, &ring.automorphism_ntt(&c0p, perm));
                    [r0, r1]
                }
            })
            .collect();
        let baby = |b: i64| &rotated[babies.binary_search(&b).expect("baby step rotated")];
        let mut acc: Option<[RnsPoly; 2]> = None;
        for ((_, terms), giant) in self.groups.iter().zip(&giant_keys) {
            let inner = dot_extended(ring, terms.iter().map(|(b, p)| (baby(*b), p)));
            let part = match giant {
                None => inner,
                Some((key, perm)) => {
                    let (d0, d1) = rayon::join(|| ring.mod_down(&inner[0]), || ring.mod_down(&inner[1]));
                    let dec = decompose(params, &d1);
                    let [mut r0, r1] = key_switch_decomposed_raw(params, &dec, Some(perm), key);
                    ring.add_assign(&mut r0, &times_p(ring, &ring.automorphism_ntt(&d0, perm)));
                    [r0, r1]
                }
            };
            match acc.as_mut() {
                None => acc = Some(part),
                Some([a0, a1]) => {
                    ring.add_assign(a0, &part[0]);
                    ring.add_assign(a1, &part[1]);
                }
            }
        }
        let [a0, a1] = acc.ok_or_else(|| Error::Incompatible("linear transform without diagonals".into()))?;
        let (c0, c1) = rayon::join(|| ring.mod_down(&a0), || ring.mod_down(&a1));
        Ok(Ciphertext {
            c: [c0, c1],
            scale: x.scale() * self.pt_scale,
        })
    }
}

/// `P·c` over `Q_ℓ·P` for `c` over `Q_ℓ` (NTT form): zero modulo the special primes, `c·(P mod q_i)` modulo
/// the others — the form key switching's unreduced output has, so that the two add up before one division by
/// `P`.
fn times_p(ring: &RingContext, c: &RnsPoly) -> RnsPoly {
    let level = c.basis().q - 1;
    let n = ring.n();
    let mut out = ring.zero(Basis::extended(level), true);
    out.data[..(level + 1) * n]
        .par_chunks_exact_mut(n)
        .enumerate()
        .for_each(|(i, row)| {
            let m = ring.q(i);
            let p_mod = ring.special_product_mod_q(i);
            let ps = m.shoup(p_mod);
            for (o, &v) in row.iter_mut().zip(c.row(i)) {
                *o = m.mul_shoup(v, p_mod, ps);
            }
        });
    out
}

/// `Σ_k pt_k ⊙ u_k` over `Q_ℓ·P`, both halves, each coefficient accumulated in 128 bits and reduced once.
fn dot_extended<'a>(
    ring: &RingContext,
    terms: impl Iterator<Item = (&'a [RnsPoly; 2], &'a Plaintext)>,
) -> [RnsPoly; 2] {
    let terms: Vec<_> = terms.collect();
    let basis = terms[0].0[0].basis();
    let n = ring.n();
    let mut out = [ring.zero(basis, true), ring.zero(basis, true)];
    for (half, o) in out.iter_mut().enumerate() {
        o.data.par_chunks_exact_mut(n).enumerate().for_each(|(r, row)| {
            let m = ring.modulus_of(basis, r);
            let cs: Vec<&[u64]> = terms.iter().map(|(c, _)| c[half].row(r)).collect();
            let ps: Vec<&[u64]> = terms.iter().map(|(_, p)| p.poly.row(r)).collect();
            with_avx2(
                #[inline(always)]
                || {
                    for (x, o) in row.iter_mut().enumerate() {
                        // 255 products of two residues below 2^62 fit in 128 bits.
                        let mut sum = 0u64;
                        for (cc, pc) in cs.chunks(255).zip(ps.chunks(255)) {
                            let mut acc = 0u128;
                            for (c, p) in cc.iter().zip(pc) {
                                acc += c[x] as u128 * p[x] as u128;
                            }
                            sum = m.add(sum, m.reduce_wide(acc));
                        }
                        *o = sum;
                    }
                },
            );
        });
    }
    out
}

/// The product `A·B` of two diagonal-sparse maps on `n` slots: `(A·B)_(a+b)[r] += A_a[r] · B_b[r+a]`.
pub fn compose(a: &Diagonals, b: &Diagonals, n: usize) -> Diagonals {
    let mut out: Diagonals = BTreeMap::new();
    let norm = |k: i64| {
        let k = k.rem_euclid(n as i64);
        if k > n as i64 / 2 {
            k - n as i64
        } else {
            k
        }
    };
    for (&ka, da) in a {
        for (&kb, db) in b {
            let k = norm(ka + kb);
            let d = out.entry(k).or_insert_with(|| vec![Complex::default(); n]);
            for (r, x) in d.iter_mut().enumerate() {
                let u = da[r];
                let v = db[(r as i64 + ka).rem_euclid(n as i64) as usize];
                x.re += u.re * v.re - u.im * v.im;
                x.im += u.re * v.im + u.im * v.re;
            }
        }
    }
    out
}

/// Applies a diagonal map to plain slot values (the reference the tests compare against).
pub fn apply_plain(d: &Diagonals, x: &[Complex]) -> Vec<Complex> {
    let n = x.len();
    let mut y = vec![Complex::default(); n];
    for (&k, dk) in d {
        for (r, out) in y.iter_mut().enumerate() {
            let u = dk[r];
            let v = x[(r as i64 + k).rem_euclid(n as i64) as usize];
            out.re += u.re * v.re - u.im * v.im;
            out.im += u.re * v.im + u.im * v.re;
        }
    }
    y
}
