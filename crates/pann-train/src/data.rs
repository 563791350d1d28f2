//! Pixel bytes to the floats the training step feeds the network.
//!
//! The data sets themselves are read by [`pann_data::load`], in the layout every command feeds
//! the networks (Fashion-MNIST's grey 28×28 images as 3×32×32).

use pann_data::{Dataset, Normalization};

use crate::error::Result;

/// Per-channel lookup tables byte → normalised `f32`, exactly the values
/// [`Normalization::normalize`] produces (they are computed by it, on the 256 byte values).
pub fn lookup_tables(norm: &Normalization, channels: usize) -> Result<Vec<[f32; 256]>> {
    let ramp = Dataset {
        images: (0..channels).flat_map(|_| 0..=255u8).collect(),
        labels: vec![0],
        n: 1,
        channels,
        height: 1,
        width: 256,
        num_classes: 1,
    };
    let values = norm.normalize(&ramp, 0..1)?;
    Ok(values
        .chunks_exact(256)
        .map(|c| std::array::from_fn(|v| c[v]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_normalize() {
        let t = lookup_tables(&Normalization::cifar(), 3).unwrap();
        assert_eq!(t[1][0], (0.0f32 / 255.0 - 0.4822) / 0.2435);
        assert_eq!(t[2][255], (255.0f32 / 255.0 - 0.4465) / 0.2616);
    }
}
