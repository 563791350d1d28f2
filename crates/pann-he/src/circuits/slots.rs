//! Slot back ends: the operations a network program on slot vectors needs ([`Slots`]), run on plaintext `f64`
//! vectors ([`PlainSlots`]) or on CKKS ciphertexts ([`EncryptedSlots`]) by the very same program, so the
//! plaintext run is an exact mirror of the encrypted one up to CKKS noise. [`Mask`] is the plaintext operand of
//! both: a slot vector kept in `f64` and encoded lazily, once per (level, scale), for the encrypted back end.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use pann_approx::certify::eval_composite_power;
use pann_approx::CompositeSign;

use super::poly_eval::eval_relu_doubled;
use crate::ckks::{Ciphertext, Evaluator, Plaintext};
use crate::error::{Error, Result};

/// A plaintext slot vector, encoded lazily per (level, scale) for the encrypted backend.
pub struct Mask {
    /// Dense slot values (empty for a sparse mask).
    values: Vec<f64>,
    /// A sparse mask: the slot count and the nonzero `(slot, value)` pairs.
    sparse: Option<(usize, Vec<(u32, f64)>)>,
    encoded: Mutex<HashMap<(usize, u64), Arc<Plaintext>>>,
    /// Whether encodings are kept (a network with thousands of masks at `N = 2^16` cannot keep them all).
    cache: bool,
}

impl Mask {
    /// A mask of these slot values (the slot count of the ring).
    pub(crate) fn new(values: Vec<f64>) -> Self {
        Self {
            values,
            sparse: None,
            encoded: Mutex::new(HashMap::new()),
            cache: true,
        }
    }

    /// A mask encoded anew at every use instead of once per (level, scale): for networks whose masks' encodings
    /// would not fit in memory (ResNet-20 at `N = 2^16`: about 8,500 masks of several megabytes each).
    /// Kept sparse (ResNet-20's maps at `2^15` slots are mostly zeros: dense, their masks would take gigabytes).
    pub(crate) fn transient(values: Vec<f64>) -> Self {
        let entries = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, &v)| (i as u32, v))
            .collect();
        Self {
            values: Vec::new(),
            sparse: Some((values.len(), entries)),
            encoded: Mutex::new(HashMap::new()),
            cache: false,
        }
    }

    /// The slot values.
    pub(crate) fn values(&self) -> std::borrow::Cow<'_, [f64]> {
        match &self.sparse {
            None => std::borrow::Cow::Borrowed(&self.values),
            Some((len, entries)) => {
                let mut v = vec![0.0; *len];
                for &(i, x) in entries {
                    v[i as usize] = x;
                }
                std::borrow::Cow::Owned(v)
            }
        }
    }

    /// Whether every slot is zero (such a mask is skipped: its product adds nothing).
    pub(crate) fn is_zero(&self) -> bool {
        match &self.sparse {
            None => self.values.iter().all(|&v| v == 0.0),
            Some((_, entries)) => entries.is_empty(),
        }
    }

    fn encoded(&self, eval: &Evaluator, level: usize, scale: f64) -> Result<Arc<Plaintext>> {
        let key = (level, scale.to_bits());
        if let Some(p) = self.encoded.lock().expect("mask cache").get(&key) {
            return Ok(p.clone());
        }
        let p = Arc::new(eval.encode(&self.values(), level, scale)?);
        if self.cache {
            self.encoded.lock().expect("mask cache").insert(key, p.clone());
        }
        Ok(p)
    }
}

/// The operations the network program needs, on plaintext vectors or on ciphertexts.
pub trait Slots {
    /// A slot vector.
    type V: Clone;
    /// Left rotation by `k` slots: `out[x] = v[x + k]`.
    fn rotate(&self, v: &Self::V, k: i64) -> Result<Self::V>;
    /// `v ⊙ m`, not yet rescaled.
    fn mul_mask(&self, v: &Self::V, m: &Mask) -> Result<Self::V>;
    /// `a + b`.
    fn add(&self, a: &Self::V, b: &Self::V) -> Result<Self::V>;
    /// Ends a linear layer: rescale after the mask products.
    fn rescale(&self, v: Self::V) -> Result<Self::V>;
    /// `v + m`.
    fn add_mask(&self, v: &Self::V, m: &Mask) -> Result<Self::V>;
    /// `y + y·p(y)`.
    fn relu_doubled(&self, v: &Self::V, sign: &CompositeSign) -> Result<Self::V>;
    /// `a + b` at the lower of their levels (the higher one is dropped first): a residual addition.
    fn add_aligned(&self, a: &Self::V, b: &Self::V) -> Result<Self::V> {
        self.add(a, b)
    }
    /// Bootstrapping: the same values at the level a bootstrap leaves. Back ends without a bootstrapper refuse.
    fn bootstrap(&self, _v: &Self::V) -> Result<Self::V> {
        Err(Error::Incompatible("this back end has no bootstrapper".into()))
    }
    /// A bootstrap of values up to 2 in magnitude (a composite sign's intermediate values, beyond EvalMod's
    /// `[−1, 1]`): halved for free (the recorded scale doubles), bootstrapped, and doubled exactly (an integer
    /// product, no level). One bit of the bootstrap's precision for twice its range.
    fn bootstrap_wide(&self, v: &Self::V) -> Result<Self::V> {
        self.bootstrap(v)
    }
    /// Components `parts` of the composite sign applied to `u`, for a ReLU split by bootstraps. With `y` (the
    /// ReLU's input) given, these are the last components: the result is made ready for
    /// [`Self::relu_combine`] with `y`, at a level not above `y`'s.
    fn sign_part(
        &self,
        _u: &Self::V,
        _sign: &CompositeSign,
        _parts: std::ops::Range<usize>,
        _y: Option<&Self::V>,
    ) -> Result<Self::V> {
        Err(Error::Incompatible("this back end cannot split a ReLU".into()))
    }
    /// `y + y·p` for the composite sign `p` of `y` from [`Self::sign_part`]: the end of a split ReLU.
    fn relu_combine(&self, _y: &Self::V, _p: &Self::V) -> Result<Self::V> {
        Err(Error::Incompatible("this back end cannot split a ReLU".into()))
    }
}

/// The depth of components `parts` of `sign` (pann-approx's cost of each odd polynomial).
pub fn parts_depth(sign: &CompositeSign, parts: std::ops::Range<usize>) -> usize {
    sign.degrees[parts]
        .iter()
        .map(|&d| pann_approx::cost::depth(d) as usize)
        .sum()
}

/// Plaintext `f64` slots; records every rotation used and counts ReLU inputs outside `[−1, 1]`.
#[derive(Default)]
pub struct PlainSlots {
    rotations: RefCell<BTreeSet<i64>>,
    overflows: Cell<usize>,
}

impl PlainSlots {
    /// The rotations the program used so far (for key generation).
    pub fn rotations(&self) -> Vec<i64> {
        self.rotations.borrow().iter().copied().collect()
    }

    /// ReLU inputs seen outside `[−1, 1]`.
    pub fn overflows(&self) -> usize {
        self.overflows.get()
    }
}

impl Slots for PlainSlots {
    type V = Vec<f64>;
    fn rotate(&self, v: &Vec<f64>, k: i64) -> Result<Vec<f64>> {
        let s = v.len() as i64;
        let k = k.rem_euclid(s);
        if k != 0 {
            self.rotations.borrow_mut().insert(k);
        }
        let k = k as usize;
        Ok((0..v.len()).map(|x| v[(x + k) % v.len()]).collect())
    }
    fn mul_mask(&self, v: &Vec<f64>, m: &Mask) -> Result<Vec<f64>> {
        Ok(v.iter().zip(m.values().iter()).map(|(a, b)| a * b).collect())
    }
    fn add(&self, a: &Vec<f64>, b: &Vec<f64>) -> Result<Vec<f64>> {
        Ok(a.iter().zip(b).map(|(x, y)| x + y).collect())
    }
    fn rescale(&self, v: Vec<f64>) -> Result<Vec<f64>> {
        Ok(v)
    }
    fn add_mask(&self, v: &Vec<f64>, m: &Mask) -> Result<Vec<f64>> {
        self.add(v, &m.values().to_vec())
    }
    fn relu_doubled(&self, v: &Vec<f64>, sign: &CompositeSign) -> Result<Vec<f64>> {
        let lists = sign.coefficient_lists();
        let over = v.iter().filter(|y| y.abs() > 1.0).count();
        self.overflows.set(self.overflows.get() + over);
        Ok(v.iter().map(|&y| y + y * eval_composite_power(&lists, y)).collect())
    }
    fn bootstrap(&self, v: &Vec<f64>) -> Result<Vec<f64>> {
        // No levels here (the level-tracking mirror is `circuits::mirror::MirrorSlots`): the values themselves.
        Ok(v.clone())
    }
    fn sign_part(
        &self,
        u: &Vec<f64>,
        sign: &CompositeSign,
        parts: Range<usize>,
        _y: Option<&Vec<f64>>,
    ) -> Result<Vec<f64>> {
        if parts.start == 0 {
            self.overflows
                .set(self.overflows.get() + u.iter().filter(|y| y.abs() > 1.0).count());
        }
        let lists = sign.coefficient_lists();
        Ok(u.iter()
            .map(|&x| eval_composite_power(&lists[parts.clone()], x))
            .collect())
    }
    fn relu_combine(&self, y: &Vec<f64>, p: &Vec<f64>) -> Result<Vec<f64>> {
        Ok(y.iter().zip(p).map(|(y, p)| y + y * p).collect())
    }
}

/// CKKS ciphertexts; masks are encoded at the scale `q_ℓ` of the level they meet, so a linear layer returns
/// to the scale it started from.
pub struct EncryptedSlots<'a> {
    /// The evaluator (with the relinearisation and rotation keys).
    pub eval: &'a Evaluator,
}

impl Slots for EncryptedSlots<'_> {
    type V = Ciphertext;
    fn rotate(&self, v: &Ciphertext, k: i64) -> Result<Ciphertext> {
        self.eval.rotate(v, k)
    }
    fn mul_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        let q = self.eval.params().q()[v.level()] as f64;
        let pt = m.encoded(self.eval, v.level(), q)?;
        self.eval.mul_plain(v, &pt)
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.eval.add(a, b)
    }
    fn rescale(&self, v: Ciphertext) -> Result<Ciphertext> {
        self.eval.rescale(&v)
    }
    fn add_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        let pt = m.encoded(self.eval, v.level(), v.scale())?;
        self.eval.add_plain(v, &pt)
    }
    fn relu_doubled(&self, v: &Ciphertext, sign: &CompositeSign) -> Result<Ciphertext> {
        eval_relu_doubled(self.eval, v, sign)
    }
    fn add_aligned(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        let level = a.level().min(b.level());
        let (mut a, mut b) = (a.clone(), b.clone());
        self.eval.drop_to_level(&mut a, level)?;
        self.eval.drop_to_level(&mut b, level)?;
        self.eval.add(&a, &b)
    }
    fn sign_part(
        &self,
        u: &Ciphertext,
        sign: &CompositeSign,
        parts: Range<usize>,
        y: Option<&Ciphertext>,
    ) -> Result<Ciphertext> {
        let lists = sign.coefficient_lists();
        let depth = parts_depth(sign, parts.clone());
        let mut u = u.clone();
        // The last part lands at a level `p_l` not above y's and at the scale q_(p_l), so that y·p rescaled by that
        // prime has exactly y's scale (as in `eval_relu_doubled`).
        let target = match y {
            Some(y) => {
                if u.level() < depth {
                    return Err(crate::Error::LevelExhausted {
                        op: "polynomial ReLU (split)",
                        needed: depth,
                        level: u.level(),
                    });
                }
                let p_level = (u.level() - depth).min(y.level());
                self.eval.drop_to_level(&mut u, p_level + depth)?;
                Some(self.eval.params().q()[p_level] as f64)
            }
            None => None,
        };
        let default = self.eval.params().default_scale();
        let last = parts.end;
        for k in parts {
            let scale = if k + 1 == last {
                target.unwrap_or(default)
            } else {
                default
            };
            u = super::poly_eval::eval_odd_poly(self.eval, &u, &lists[k], scale)?;
        }
        Ok(u)
    }
    fn relu_combine(&self, y: &Ciphertext, p: &Ciphertext) -> Result<Ciphertext> {
        let mut y_low = y.clone();
        self.eval.drop_to_level(&mut y_low, p.level())?;
        let mut prod = self.eval.mul(&y_low, p)?;
        prod.set_scale(y.scale() * p.scale())?;
        self.eval.rescale_assign(&mut prod)?;
        prod.set_scale(y.scale())?;
        let mut y_lower = y_low;
        self.eval.drop_to_level(&mut y_lower, prod.level())?;
        self.eval.add(&prod, &y_lower)
    }
}
