//! The input pipeline: a background thread that prepares batch `b + 1` (order, augmentation,
//! normalisation, mixup) while batch `b` trains, so the cores never wait on data.
//!
//! Everything random here derives from `(seed, epoch)`: the epoch's order is a Fisher–Yates
//! shuffle by a ChaCha8 generator seeded with `mix(seed, epoch)`, and batch `b` draws its crops,
//! flips, `λ` and mixing permutation from a generator seeded with `mix(seed, epoch, b)`. So a
//! run resumed at an epoch boundary sees exactly the batches the uninterrupted run saw, and
//! the batches do not depend on the thread's timing. ChaCha8's output is fixed by its
//! specification, so it does not change with the `rand` version either.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use pann_data::Dataset;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use crate::augment::{crop_flip_into, plain_into, CropFlip};
use crate::error::{Error, Result};
use crate::mixup::{mix, soft_targets};

/// Zero padding of the random crop, in pixels.
pub const CROP_PAD: usize = 4;
/// Batches prepared ahead of the one training.
const PREFETCH: usize = 2;

/// How the batches of one epoch are made.
#[derive(Debug, Clone)]
pub struct EpochPlan {
    /// Run seed.
    pub seed: u64,
    /// Epoch (from 0).
    pub epoch: usize,
    /// Images per batch.
    pub batch: usize,
    /// Random crop and flip.
    pub augment: bool,
    /// Cutout square side (0: off).
    pub cutout: usize,
    /// Mixup `α` (0: off).
    pub mixup: f64,
    /// Label smoothing `ε`.
    pub smoothing: f32,
    /// Byte → normalised value, per channel.
    pub luts: Vec<[f32; 256]>,
}

/// One prepared batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Images, `n × C × H × W`, normalised (and augmented, mixed).
    pub images: Vec<f32>,
    /// Target distributions, `n × K`.
    pub targets: Vec<f32>,
    /// The label with the larger weight per image (for accuracy).
    pub labels: Vec<i64>,
    /// Number of images.
    pub n: usize,
    /// Mixup weight `λ` of this batch, if mixup is on.
    pub lambda: Option<f32>,
    /// Mixup partner `π(i)` of each image, if mixup is on.
    pub partners: Option<Vec<usize>>,
}

/// A 64-bit mix of several integers (splitmix64 steps), for derived seeds.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

/// The image order of an epoch.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive_seed(&[seed, epoch as u64])));
    order
}

/// Batches of an epoch: `⌈n / batch⌉`, except that a last batch of a single image is dropped
/// (batch normalisation cannot train on one image).
pub fn batches_per_epoch(n: usize, batch: usize) -> usize {
    n / batch + usize::from(n % batch >= 2)
}

/// Sets to 0 the `side × side` square centred on `(cy, cx)` (rows `cy − side/2 .. cy − side/2 + side`), clipped to
/// the image, in every channel of `image` (`C × h × w` values).
pub fn cutout_square(image: &mut [f32], (h, w): (usize, usize), (cy, cx): (usize, usize), side: usize) {
    let (y0, x0) = (cy.saturating_sub(side / 2), cx.saturating_sub(side / 2));
    let (y1, x1) = ((cy + side - side / 2).min(h), (cx + side - side / 2).min(w));
    for plane in image.chunks_exact_mut(h * w) {
        for row in plane.chunks_exact_mut(w).take(y1).skip(y0) {
            row[x0..x1].fill(0.0);
        }
    }
}

/// Makes batch `b` of an epoch whose order is `order`.
pub fn make_batch(data: &Dataset, plan: &EpochPlan, order: &[usize], b: usize) -> Result<Batch> {
    let idx = &order[b * plan.batch..((b + 1) * plan.batch).min(order.len())];
    let n = idx.len();
    let len = data.image_len();
    let (h, w) = (data.height, data.width);
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(&[plan.seed, plan.epoch as u64, b as u64]));
    // Cutout centres come from a stream of their own, so that switching cutout on changes no crop, flip or mixup
    // draw, and runs without it keep their random streams (and resume bit-identically).
    let mut cut_rng = ChaCha8Rng::seed_from_u64(derive_seed(&[plan.seed, plan.epoch as u64, b as u64, 0x6375_746f]));
    let mut images = vec![0f32; n * len];
    for (out, &i) in images.chunks_exact_mut(len).zip(idx) {
        if plan.augment {
            let t = CropFlip {
                dy: rng.random_range(0..=2 * CROP_PAD),
                dx: rng.random_range(0..=2 * CROP_PAD),
                flip: rng.random_bool(0.5),
            };
            crop_flip_into(data.image(i), (h, w), CROP_PAD, t, &plan.luts, out);
        } else {
            plain_into(data.image(i), h * w, &plan.luts, out);
        }
        if plan.cutout > 0 {
            let (cy, cx) = (cut_rng.random_range(0..h), cut_rng.random_range(0..w));
            cutout_square(out, (h, w), (cy, cx), plan.cutout);
        }
    }
    let k = data.num_classes;
    let raw: Vec<u8> = idx.iter().map(|&i| data.labels[i]).collect();
    let mut targets = soft_targets(&raw, k, plan.smoothing);
    let mut labels: Vec<i64> = raw.iter().map(|&l| l as i64).collect();
    let (mut lambda, mut partners) = (None, None);
    if plan.mixup > 0.0 {
        let beta =
            Beta::new(plan.mixup, plan.mixup).map_err(|e| Error::BadConfig(format!("--mixup {}: {e}", plan.mixup)))?;
        let l = beta.sample(&mut rng) as f32;
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        mix(&mut images, &mut targets, len, k, &perm, l);
        if l < 0.5 {
            labels = perm.iter().map(|&j| raw[j] as i64).collect();
        }
        lambda = Some(l);
        partners = Some(perm);
    }
    Ok(Batch {
        images,
        targets,
        labels,
        n,
        lambda,
        partners,
    })
}

/// The batches of one epoch, made on a background thread, in order.
pub struct Prefetcher {
    rx: Option<Receiver<Result<Batch>>>,
    handle: Option<JoinHandle<()>>,
    batches: usize,
}

impl Prefetcher {
    /// Starts the thread for epoch `plan.epoch` of `data`.
    pub fn start(data: Arc<Dataset>, plan: EpochPlan) -> Self {
        let batches = batches_per_epoch(data.n, plan.batch);
        let (tx, rx) = sync_channel(PREFETCH);
        let handle = std::thread::Builder::new()
            .name("pann-train-batches".into())
            .spawn(move || {
                let order = epoch_order(data.n, plan.seed, plan.epoch);
                for b in 0..batches {
                    let batch = make_batch(&data, &plan, &order, b);
                    let failed = batch.is_err();
                    if tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            })
            .ok();
        Self {
            rx: Some(rx),
            handle,
            batches,
        }
    }

    /// Batches this epoch has.
    pub fn batches(&self) -> usize {
        self.batches
    }
}

impl Iterator for Prefetcher {
    type Item = Result<Batch>;
    fn next(&mut self) -> Option<Result<Batch>> {
        if self.handle.is_none() {
            // The thread never started: report it once, then end.
            return self
                .rx
                .take()
                .map(|_| Err(Error::Pipeline("cannot start the batch thread".into())));
        }
        self.rx.as_ref()?.recv().ok()
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        // Closing the channel first lets a thread blocked on `send` end.
        self.rx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_drop_single_last_image() {
        assert_eq!(batches_per_epoch(10, 4), 3);
        assert_eq!(batches_per_epoch(9, 4), 2);
        assert_eq!(batches_per_epoch(8, 4), 2);
    }

    #[test]
    fn order_depends_on_seed_and_epoch_only() {
        assert_eq!(epoch_order(100, 1, 2), epoch_order(100, 1, 2));
        assert_ne!(epoch_order(100, 1, 2), epoch_order(100, 1, 3));
        assert_ne!(epoch_order(100, 1, 2), epoch_order(100, 2, 2));
    }
}
