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

use crate::ckks::{Ciphertext, Complex, Encoder, Evaluator, Parameters, Plaintext};
use crate::error::{Error, Result};

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

/// The baby-step size `n1` (a power of two) minimising `babies + 2·giants` for the offsets: giant rotations
/// cost a full key switch each, baby rotations only the hoisted half.
pub fn best_baby_step(offsets: &[i64], slots: usize) -> i64 {
    let mut best = (usize::MAX, 1i64);
    let mut n1 = 1i64;
    while n1 <= slots as i64 {
        let babies: std::collections::BTreeSet<i64> = offsets.iter().map(|k| k.rem_euclid(n1)).collect();
        let giants: std::collections::BTreeSet<i64> = offsets.iter().map(|k| k - k.rem_euclid(n1)).collect();
        let cost = babies.len() + 2 * giants.len();
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
            let poly = encoder.encode(params.ring(), &rotated, level, pt_scale)?;
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
    pub fn apply(&self, eval: &Evaluator, x: &Ciphertext) -> Result<Ciphertext> {
        if x.level() != self.level {
            return Err(Error::Incompatible(format!(
                "linear transform encoded for level {}, the ciphertext is at level {}",
                self.level,
                x.level()
            )));
        }
        let mut babies: Vec<i64> = self.groups.values().flatten().map(|&(b, _)| b).collect();
        babies.sort_unstable();
        babies.dedup();
        let rotated = eval.rotate_hoisted(x, &babies)?;
        let baby = |b: i64| &rotated[babies.binary_search(&b).expect("baby step rotated")];
        let mut out: Option<Ciphertext> = None;
        for (&g, terms) in &self.groups {
            let cts: Vec<&Ciphertext> = terms.iter().map(|(b, _)| baby(*b)).collect();
            let pts: Vec<&Plaintext> = terms.iter().map(|(_, p)| p).collect();
            let inner = eval.dot_plain(&cts, &pts)?;
            let inner = if g == 0 { inner } else { eval.rotate(&inner, g)? };
            match out.as_mut() {
                None => out = Some(inner),
                Some(o) => eval.add_assign(o, &inner)?,
            }
        }
        out.ok_or_else(|| Error::Incompatible("linear transform without diagonals".into()))
    }
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
