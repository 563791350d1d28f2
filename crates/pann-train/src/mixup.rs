//! Targets as probability vectors: label smoothing and mixup (Zhang et al., 2018).
//!
//! Label smoothing with `ε` turns label `y` into `s(y) = (1 − ε)·onehot(y) + ε/K`. Mixup with
//! `α > 0` draws one `λ ~ Beta(α, α)` per batch and a permutation `π` of the batch, and trains on
//! `x̃_i = λ·x_i + (1 − λ)·x_π(i)` with target `λ·s(y_i) + (1 − λ)·s(y_π(i))`. Since the loss is
//! the cross-entropy against the target vector, this is the same as the usual
//! `λ·CE(ŷ, y_i) + (1 − λ)·CE(ŷ, y_π(i))`. Mixing normalised pixels equals mixing raw ones,
//! because normalisation is affine and the weights sum to 1.

/// Smoothed one-hot targets of `labels` for `k` classes, `n × k` values row by row.
pub fn soft_targets(labels: &[u8], k: usize, smoothing: f32) -> Vec<f32> {
    let mut t = vec![smoothing / k as f32; labels.len() * k];
    for (row, &y) in t.chunks_exact_mut(k).zip(labels) {
        row[y as usize] += 1.0 - smoothing;
    }
    t
}

/// Mixes a batch in place: `images` (`n` images of `len` values each) and `targets`
/// (`n × k`) become `λ·own + (1 − λ)·partner`, the partner of `i` being `perm[i]`.
pub fn mix(images: &mut [f32], targets: &mut [f32], len: usize, k: usize, perm: &[usize], lambda: f32) {
    let original_images = images.to_vec();
    let original_targets = targets.to_vec();
    let mu = 1.0 - lambda;
    for (i, &j) in perm.iter().enumerate() {
        let other = &original_images[j * len..(j + 1) * len];
        for (v, &o) in images[i * len..(i + 1) * len].iter_mut().zip(other) {
            *v = lambda * *v + mu * o;
        }
        let other = &original_targets[j * k..(j + 1) * k];
        for (v, &o) in targets[i * k..(i + 1) * k].iter_mut().zip(other) {
            *v = lambda * *v + mu * o;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_sums_to_one() {
        let t = soft_targets(&[2, 0], 4, 0.2);
        assert_eq!(&t[..4], &[0.05, 0.05, 0.85, 0.05]);
        assert!((t[4..].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
