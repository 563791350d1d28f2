//! Two more back ends for programs that bootstrap:
//!
//! - [`MirrorSlots`]: plaintext `f64` slots that also carry the CKKS level of every vector, with the encrypted
//!   back end's rules — a rescale needs level ≥ 1, a ReLU of depth `r` needs level ≥ `r`, a residual addition
//!   lands on the lower level, a bootstrap needs a level ≤ the bootstrapper's output level and returns that
//!   level. A bootstrap plan that runs here runs encrypted (same program, same levels); it also counts the
//!   rotations and bootstraps one image costs, the ReLU inputs outside `[−1, 1]` and the bootstrap inputs
//!   outside `[−1, 1]` (EvalMod's range; a wide bootstrap's inputs halved first).
//! - [`BootstrappingSlots`]: CKKS ciphertexts with a [`Bootstrapper`], whose evaluator (holding the circuit's
//!   rotation keys beside the bootstrapping keys) runs everything else.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use pann_approx::certify::eval_composite_power;
use pann_approx::CompositeSign;

use std::ops::Range;

use super::slots::{parts_depth, EncryptedSlots, Mask, Slots};
use crate::bootstrap::Bootstrapper;
use crate::ckks::Ciphertext;
use crate::error::{Error, Result};

/// A plaintext slot vector at a level.
#[derive(Clone, Debug, PartialEq)]
pub struct Leveled {
    /// The slot values.
    pub values: Vec<f64>,
    /// The CKKS level the encrypted vector would be at.
    pub level: usize,
}

/// Plaintext slots with levels (see the module documentation).
pub struct MirrorSlots {
    /// The level of a bootstrapped vector.
    pub boot_level: usize,
    rotations: RefCell<BTreeSet<i64>>,
    performed: RefCell<Vec<i64>>,
    bootstraps: Cell<usize>,
    overflows: Cell<usize>,
    boot_overflows: Cell<usize>,
    boot_max: Cell<f64>,
    min_level: Cell<usize>,
}

impl MirrorSlots {
    /// A mirror whose bootstraps return level `boot_level`.
    pub fn new(boot_level: usize) -> Self {
        Self {
            boot_level,
            rotations: RefCell::new(BTreeSet::new()),
            performed: RefCell::new(Vec::new()),
            bootstraps: Cell::new(0),
            overflows: Cell::new(0),
            boot_overflows: Cell::new(0),
            boot_max: Cell::new(0.0),
            min_level: Cell::new(usize::MAX),
        }
    }

    /// The distinct rotations used so far (the rotation keys).
    pub fn rotations(&self) -> Vec<i64> {
        self.rotations.borrow().iter().copied().collect()
    }

    /// Rotations performed so far.
    pub fn rotation_count(&self) -> usize {
        self.performed.borrow().len()
    }

    /// Every rotation performed so far, in order.
    pub fn performed(&self) -> Vec<i64> {
        self.performed.borrow().clone()
    }

    /// Bootstraps performed so far.
    pub fn bootstraps(&self) -> usize {
        self.bootstraps.get()
    }

    /// ReLU inputs seen outside `[−1, 1]`.
    pub fn overflows(&self) -> usize {
        self.overflows.get()
    }

    /// Bootstrap inputs seen outside `[−1, 1]`.
    pub fn boot_overflows(&self) -> usize {
        self.boot_overflows.get()
    }

    /// The largest `|value|` a bootstrap saw.
    pub fn boot_max(&self) -> f64 {
        self.boot_max.get()
    }

    /// The lowest level any vector reached.
    pub fn min_level(&self) -> usize {
        self.min_level.get()
    }

    fn at(&self, values: Vec<f64>, level: usize) -> Leveled {
        self.min_level.set(self.min_level.get().min(level));
        Leveled { values, level }
    }
}

impl Slots for MirrorSlots {
    type V = Leveled;
    fn rotate(&self, v: &Leveled, k: i64) -> Result<Leveled> {
        let s = v.values.len() as i64;
        let k = k.rem_euclid(s);
        if k != 0 {
            self.rotations.borrow_mut().insert(k);
            self.performed.borrow_mut().push(k);
        }
        let n = v.values.len();
        let k = k as usize;
        Ok(self.at((0..n).map(|x| v.values[(x + k) % n]).collect(), v.level))
    }
    fn mul_mask(&self, v: &Leveled, m: &Mask) -> Result<Leveled> {
        let out = v.values.iter().zip(m.values().iter()).map(|(a, b)| a * b).collect();
        Ok(self.at(out, v.level))
    }
    fn add(&self, a: &Leveled, b: &Leveled) -> Result<Leveled> {
        if a.level != b.level {
            return Err(Error::Incompatible(format!(
                "an addition of vectors at levels {} and {} (only residual additions align)",
                a.level, b.level
            )));
        }
        self.add_aligned(a, b)
    }
    fn add_aligned(&self, a: &Leveled, b: &Leveled) -> Result<Leveled> {
        let out = a.values.iter().zip(&b.values).map(|(x, y)| x + y).collect();
        Ok(self.at(out, a.level.min(b.level)))
    }
    fn rescale(&self, v: Leveled) -> Result<Leveled> {
        if v.level == 0 {
            return Err(Error::LevelExhausted {
                op: "rescale",
                needed: 1,
                level: 0,
            });
        }
        Ok(self.at(v.values, v.level - 1))
    }
    fn add_mask(&self, v: &Leveled, m: &Mask) -> Result<Leveled> {
        let out = v.values.iter().zip(m.values().iter()).map(|(a, b)| a + b).collect();
        Ok(self.at(out, v.level))
    }
    fn relu_doubled(&self, v: &Leveled, sign: &CompositeSign) -> Result<Leveled> {
        let depth = sign.relu_depth() as usize;
        if v.level < depth {
            return Err(Error::LevelExhausted {
                op: "polynomial ReLU",
                needed: depth,
                level: v.level,
            });
        }
        let lists = sign.coefficient_lists();
        let over = v.values.iter().filter(|y| y.abs() > 1.0).count();
        self.overflows.set(self.overflows.get() + over);
        let out = v
            .values
            .iter()
            .map(|&y| y + y * eval_composite_power(&lists, y))
            .collect();
        Ok(self.at(out, v.level - depth))
    }
    fn bootstrap(&self, v: &Leveled) -> Result<Leveled> {
        if v.level > self.boot_level {
            return Err(Error::Incompatible(format!(
                "bootstrapping a vector at level {} would lower it to {}",
                v.level, self.boot_level
            )));
        }
        let over = v.values.iter().filter(|y| y.abs() > 1.0).count();
        self.boot_overflows.set(self.boot_overflows.get() + over);
        let max = v.values.iter().fold(self.boot_max.get(), |m, y| m.max(y.abs()));
        self.boot_max.set(max);
        self.bootstraps.set(self.bootstraps.get() + 1);
        Ok(self.at(v.values.clone(), self.boot_level))
    }
    fn bootstrap_wide(&self, v: &Leveled) -> Result<Leveled> {
        // Checked as the halved values the bootstrapper sees.
        let half = Leveled {
            values: v.values.iter().map(|x| x / 2.0).collect(),
            level: v.level,
        };
        let out = self.bootstrap(&half)?;
        Ok(self.at(v.values.clone(), out.level))
    }
    fn sign_part(
        &self,
        u: &Leveled,
        sign: &CompositeSign,
        parts: Range<usize>,
        y: Option<&Leveled>,
    ) -> Result<Leveled> {
        let depth = parts_depth(sign, parts.clone());
        if u.level < depth {
            return Err(Error::LevelExhausted {
                op: "polynomial ReLU (split)",
                needed: depth,
                level: u.level,
            });
        }
        if parts.start == 0 {
            let over = u.values.iter().filter(|v| v.abs() > 1.0).count();
            self.overflows.set(self.overflows.get() + over);
        }
        let lists = sign.coefficient_lists();
        let out = u
            .values
            .iter()
            .map(|&x| eval_composite_power(&lists[parts.clone()], x))
            .collect();
        let level = y.map_or(u.level - depth, |y| (u.level - depth).min(y.level));
        Ok(self.at(out, level))
    }
    fn relu_combine(&self, y: &Leveled, p: &Leveled) -> Result<Leveled> {
        let level = y.level.min(p.level);
        if level == 0 {
            return Err(Error::LevelExhausted {
                op: "polynomial ReLU (split)",
                needed: 1,
                level,
            });
        }
        let out = y.values.iter().zip(&p.values).map(|(y, p)| y + y * p).collect();
        Ok(self.at(out, level - 1))
    }
}

/// CKKS ciphertexts with bootstrapping: every operation on the bootstrapper's evaluator (which must hold the
/// circuit's rotation keys too), [`Slots::bootstrap`] by [`Bootstrapper::bootstrap`].
pub struct BootstrappingSlots<'a> {
    /// The bootstrapper.
    pub boot: &'a Bootstrapper,
}

impl BootstrappingSlots<'_> {
    fn inner(&self) -> EncryptedSlots<'_> {
        EncryptedSlots {
            eval: self.boot.evaluator(),
        }
    }
}

impl Slots for BootstrappingSlots<'_> {
    type V = Ciphertext;
    fn rotate(&self, v: &Ciphertext, k: i64) -> Result<Ciphertext> {
        self.inner().rotate(v, k)
    }
    fn mul_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        self.inner().mul_mask(v, m)
    }
    fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.inner().add(a, b)
    }
    fn rescale(&self, v: Ciphertext) -> Result<Ciphertext> {
        self.inner().rescale(v)
    }
    fn add_mask(&self, v: &Ciphertext, m: &Mask) -> Result<Ciphertext> {
        self.inner().add_mask(v, m)
    }
    fn relu_doubled(&self, v: &Ciphertext, sign: &CompositeSign) -> Result<Ciphertext> {
        self.inner().relu_doubled(v, sign)
    }
    fn add_aligned(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.inner().add_aligned(a, b)
    }
    fn bootstrap(&self, v: &Ciphertext) -> Result<Ciphertext> {
        self.boot.bootstrap(v)
    }
    fn bootstrap_wide(&self, v: &Ciphertext) -> Result<Ciphertext> {
        let mut half = v.clone();
        half.halve();
        let out = self.boot.bootstrap(&half)?;
        Ok(self.boot.evaluator().mul_integer(&out, 2))
    }
    fn sign_part(
        &self,
        u: &Ciphertext,
        sign: &CompositeSign,
        parts: Range<usize>,
        y: Option<&Ciphertext>,
    ) -> Result<Ciphertext> {
        self.inner().sign_part(u, sign, parts, y)
    }
    fn relu_combine(&self, y: &Ciphertext, p: &Ciphertext) -> Result<Ciphertext> {
        self.inner().relu_combine(y, p)
    }
}
