//! The in-memory dataset every reader produces.
//!
//! A dataset is kept as raw bytes (`u8` pixels, `u8` labels), exactly as the files store them:
//! 10,000 CIFAR images take 30 MB this way instead of 123 MB as `f32`. Turning a batch into
//! normalised floats is the job of [`crate::Normalization`], and turning those into tensors is
//! the job of the crate that owns the tensor library.

/// Which part of a dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (CIFAR `data_batch_1..5.bin`, IDX `train-*`).
    Train,
    /// The test set (CIFAR `test_batch.bin`, IDX `t10k-*`).
    Test,
}

/// Images and labels of a labelled image dataset.
///
/// # Layout
/// `images` holds `n` images one after the other, each `channels × height × width` bytes in
/// CHW order (all of channel 0 row-major, then channel 1, …); `labels[i]` is the class of image
/// `i`, always below `num_classes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Pixel bytes, `n × channels × height × width`, CHW per image.
    pub images: Vec<u8>,
    /// One label per image, each in `0..num_classes`.
    pub labels: Vec<u8>,
    /// Number of images.
    pub n: usize,
    /// Channels per image (3 for CIFAR, 1 for MNIST).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Number of classes.
    pub num_classes: usize,
}

impl Dataset {
    /// Bytes per image: `channels × height × width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the dataset holds no image.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The bytes of image `i` (CHW). Panics if `i >= n`, like slice indexing.
    pub fn image(&self, i: usize) -> &[u8] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// Keeps at most the first `limit` images.
    pub fn truncate(&mut self, limit: usize) {
        if limit < self.n {
            self.n = limit;
            self.images.truncate(limit * self.image_len());
            self.labels.truncate(limit);
        }
    }

    /// Appends the images of `other`, which must have the same image shape and classes.
    pub(crate) fn extend(&mut self, other: Dataset) {
        debug_assert_eq!(self.image_len(), other.image_len());
        self.images.extend_from_slice(&other.images);
        self.labels.extend_from_slice(&other.labels);
        self.n += other.n;
    }

    /// How many images there are of each class (`counts[c]` for class `c`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        Dataset {
            images: (0..24).collect(),
            labels: vec![0, 1, 1],
            n: 3,
            channels: 2,
            height: 2,
            width: 2,
            num_classes: 2,
        }
    }

    #[test]
    fn image_slices_and_truncate() {
        let mut d = toy();
        assert_eq!(d.image_len(), 8);
        assert_eq!(d.image(1), &(8..16).collect::<Vec<u8>>()[..]);
        assert_eq!(d.class_counts(), vec![1, 2]);
        d.truncate(10);
        assert_eq!(d.len(), 3);
        d.truncate(1);
        assert_eq!((d.len(), d.images.len(), d.labels.len()), (1, 8, 1));
    }
}
