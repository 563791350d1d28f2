//! Rotations composed from a fixed key set.
//!
//! A rotation key at `N = 2^16` with the whole bootstrapping modulus is hundreds of megabytes, so a network
//! cannot have one key per rotation it uses (ResNet-20's layers use 160 distinct rotations). Instead the keys
//! are a small set `K` — the bootstrapper's own rotations (generated anyway) plus a few of the network's most
//! used ones — and every other rotation `k` is the shortest sum of keys `k ≡ k_1 + … + k_m (mod S)`, found by
//! a breadth-first search over the `S` residues with `K` as the steps. A rotation then costs `m` key switches.
//! [`KeyedSlots`] runs any program with its rotations so composed.

use std::collections::HashMap;

use pann_approx::CompositeSign;

use super::slots::{Mask, Slots};
use crate::error::{Error, Result};

/// The key set and the shortest composition of every rotation from it.
#[derive(Clone, Debug)]
pub struct RotationKeys {
    slots: usize,
    keys: Vec<i64>,
    /// For every residue: the key of the last step of a shortest composition (`None` at 0 or unreachable).
    last: Vec<Option<i64>>,
    dist: Vec<u32>,
}

impl RotationKeys {
    /// Compositions from the key set `keys` (rotations left by `k` slots, any sign) in a ring of `slots` slots.
    pub fn new(slots: usize, keys: &[i64]) -> Self {
        let s = slots as i64;
        let mut ks: Vec<i64> = keys.iter().map(|k| k.rem_euclid(s)).filter(|&k| k != 0).collect();
        ks.sort_unstable();
        ks.dedup();
        let mut last = vec![None; slots];
        let mut dist = vec![u32::MAX; slots];
        dist[0] = 0;
        let mut queue = std::collections::VecDeque::from([0usize]);
        while let Some(r) = queue.pop_front() {
            for &k in &ks {
                let t = ((r as i64 + k) % s) as usize;
                if dist[t] == u32::MAX {
                    dist[t] = dist[r] + 1;
                    last[t] = Some(k);
                    queue.push_back(t);
                }
            }
        }
        Self {
            slots,
            keys: ks,
            last,
            dist,
        }
    }

    /// The keys (rotations in `1..S`).
    pub fn keys(&self) -> &[i64] {
        &self.keys
    }

    /// Key switches of a rotation by `k` (`None` if the keys cannot compose it).
    pub fn cost(&self, k: i64) -> Option<usize> {
        let d = self.dist[k.rem_euclid(self.slots as i64) as usize];
        (d != u32::MAX).then_some(d as usize)
    }

    /// The keys whose rotations compose a rotation by `k`, in order; an error naming the rotation if none do.
    pub fn path(&self, k: i64) -> Result<Vec<i64>> {
        let mut r = k.rem_euclid(self.slots as i64) as usize;
        if self.dist[r] == u32::MAX {
            return Err(Error::MissingKey(format!(
                "no rotation key for a rotation by {k} slots, and the {} keys do not compose it",
                self.keys.len()
            )));
        }
        let mut steps = Vec::new();
        while r != 0 {
            let k = self.last[r].expect("reachable residues have a last step");
            steps.push(k);
            r = (r as i64 - k).rem_euclid(self.slots as i64) as usize;
        }
        Ok(steps)
    }

    /// A key set for a program that performs rotation `k` `uses` times per run (`used`): the keys `base`
    /// (present anyway) plus at most `extra` of the used rotations, greedily the one saving the most key
    /// switches first; with `base` empty and `extra ≥ used.len()`, every used rotation is a key.
    pub fn choose(slots: usize, base: &[i64], used: &[(i64, usize)], extra: usize) -> Self {
        let mut keys: Vec<i64> = base.to_vec();
        let mut set = Self::new(slots, &keys);
        for _ in 0..extra {
            let best = used
                .iter()
                .filter_map(|&(k, n)| {
                    let c = set.cost(k).unwrap_or(64);
                    (c > 1).then_some((n * (c - 1), k))
                })
                .max();
            let Some((_, k)) = best else { break };
            keys.push(k);
            set = Self::new(slots, &keys);
        }
        set
    }

    /// Key switches per run of a program performing `used` (rotation, times) with these keys.
    pub fn switches(&self, used: &[(i64, usize)]) -> Option<usize> {
        used.iter().map(|&(k, n)| self.cost(k).map(|c| c * n)).sum()
    }
}

/// A back end whose rotations are composed from a [`RotationKeys`] set; everything else as `inner`.
pub struct KeyedSlots<'a, B: Slots> {
    /// The back end doing the work.
    pub inner: &'a B,
    /// The keys and compositions.
    pub keys: &'a RotationKeys,
}

impl<B: Slots> Slots for KeyedSlots<'_, B> {
    type V = B::V;
    fn rotate(&self, v: &B::V, k: i64) -> Result<B::V> {
        let mut out = v.clone();
        for step in self.keys.path(k)? {
            out = self.inner.rotate(&out, step)?;
        }
        Ok(out)
    }
    fn mul_mask(&self, v: &B::V, m: &Mask) -> Result<B::V> {
        self.inner.mul_mask(v, m)
    }
    fn add(&self, a: &B::V, b: &B::V) -> Result<B::V> {
        self.inner.add(a, b)
    }
    fn rescale(&self, v: B::V) -> Result<B::V> {
        self.inner.rescale(v)
    }
    fn add_mask(&self, v: &B::V, m: &Mask) -> Result<B::V> {
        self.inner.add_mask(v, m)
    }
    fn relu_doubled(&self, v: &B::V, sign: &CompositeSign) -> Result<B::V> {
        self.inner.relu_doubled(v, sign)
    }
    fn add_aligned(&self, a: &B::V, b: &B::V) -> Result<B::V> {
        self.inner.add_aligned(a, b)
    }
    fn bootstrap(&self, v: &B::V) -> Result<B::V> {
        self.inner.bootstrap(v)
    }
    fn bootstrap_wide(&self, v: &B::V) -> Result<B::V> {
        self.inner.bootstrap_wide(v)
    }
    fn sign_part(
        &self,
        u: &B::V,
        sign: &CompositeSign,
        parts: std::ops::Range<usize>,
        y: Option<&B::V>,
    ) -> Result<B::V> {
        self.inner.sign_part(u, sign, parts, y)
    }
    fn relu_combine(&self, y: &B::V, p: &B::V) -> Result<B::V> {
        self.inner.relu_combine(y, p)
    }
}

/// How often a program performs each rotation: `(rotation in 1..S, times)`, from a recorded list.
pub fn tally(slots: usize, performed: &[i64]) -> Vec<(i64, usize)> {
    let mut m: HashMap<i64, usize> = HashMap::new();
    for &k in performed {
        let k = k.rem_euclid(slots as i64);
        if k != 0 {
            *m.entry(k).or_default() += 1;
        }
    }
    let mut v: Vec<(i64, usize)> = m.into_iter().collect();
    v.sort_unstable();
    v
}
