//! Per-channel normalisation of pixel bytes into the floats a network expects.
//!
//! A pixel byte `v` of channel `c` becomes `(v / 255 − mean[c]) / std[c]`, computed in `f32`
//! in that order, as torchvision's `ToTensor` followed by `Normalize` does, so that accuracies
//! match those reported for PyTorch models bit for bit. Presets:
//!
//! | name       | mean                     | std                      |
//! |------------|--------------------------|--------------------------|
//! | `imagenet` | 0.485, 0.456, 0.406      | 0.229, 0.224, 0.225      |
//! | `cifar`    | 0.4914, 0.4822, 0.4465   | 0.2470, 0.2435, 0.2616   |
//! | `none`     | 0                        | 1                        |
//!
//! An explicit spec is `"MEAN,.../STD,..."`, e.g. `"0.5,0.5,0.5/0.25,0.25,0.25"`; a single value
//! on a side applies to every channel.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// Per-channel mean and standard deviation, on the `[0, 1]` pixel scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalization {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Normalization {
    /// The ImageNet statistics (used by many CIFAR models too, e.g. akamaster's ResNets).
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }

    /// The CIFAR-10 training-set statistics.
    pub fn cifar() -> Self {
        Self {
            mean: vec![0.4914, 0.4822, 0.4465],
            std: vec![0.2470, 0.2435, 0.2616],
        }
    }

    /// No normalisation beyond scaling bytes to `[0, 1]`.
    pub fn none() -> Self {
        Self {
            mean: vec![0.0],
            std: vec![1.0],
        }
    }

    /// Explicit statistics: one value per channel on each side, or one value for all channels.
    pub fn new(mean: Vec<f32>, std: Vec<f32>) -> Result<Self> {
        let spec = || format!("{mean:?}/{std:?}");
        let broadcastable = mean.len() == std.len() || mean.len() == 1 || std.len() == 1;
        if mean.is_empty() || std.is_empty() || !broadcastable {
            return Err(Error::BadNormalization {
                spec: spec(),
                problem: format!("{} means for {} stds", mean.len(), std.len()),
            });
        }
        if let Some(s) = std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(Error::BadNormalization {
                spec: spec(),
                problem: format!("std {s} is not a positive finite number"),
            });
        }
        if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
            return Err(Error::BadNormalization {
                spec: spec(),
                problem: format!("mean {m} is not finite"),
            });
        }
        Ok(Self { mean, std })
    }

    /// Mean and std of channel `c` (a single value serves every channel).
    fn channel(&self, c: usize) -> (f32, f32) {
        let pick = |v: &[f32]| if v.len() == 1 { v[0] } else { v[c] };
        (pick(&self.mean), pick(&self.std))
    }

    /// Number of channels the statistics are for, or `None` when they fit any number.
    pub fn channels(&self) -> Option<usize> {
        let n = self.mean.len().max(self.std.len());
        (n > 1).then_some(n)
    }

    /// Normalises images `range` of `data` into a new `f32` buffer, CHW per image, in order.
    pub fn normalize(&self, data: &Dataset, range: Range<usize>) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.normalize_into(data, range, &mut out)?;
        Ok(out)
    }

    /// Like [`Normalization::normalize`], reusing `out` (cleared first).
    ///
    /// Fails when the statistics are for another number of channels than `data` has, or when
    /// `range` reaches past the end of the dataset.
    pub fn normalize_into(&self, data: &Dataset, range: Range<usize>, out: &mut Vec<f32>) -> Result<()> {
        if let Some(c) = self.channels() {
            if c != data.channels {
                return Err(Error::BadNormalization {
                    spec: self.to_string(),
                    problem: format!("{c} channels, but the images have {}", data.channels),
                });
            }
        }
        if range.start > range.end || range.end > data.n {
            return Err(Error::BadNormalization {
                spec: self.to_string(),
                problem: format!("image range {range:?} outside 0..{}", data.n),
            });
        }
        // One lookup table per channel: 256 entries replace a subtract and a divide per pixel.
        let luts: Vec<[f32; 256]> = (0..data.channels)
            .map(|c| {
                let (m, s) = self.channel(c);
                std::array::from_fn(|v| (v as f32 / 255.0 - m) / s)
            })
            .collect();
        let plane = data.height * data.width;
        let bytes = &data.images[range.start * data.image_len()..range.end * data.image_len()];
        out.clear();
        out.reserve(bytes.len());
        for image in bytes.chunks_exact(data.image_len()) {
            for (lut, channel) in luts.iter().zip(image.chunks_exact(plane)) {
                out.extend(channel.iter().map(|&v| lut[v as usize]));
            }
        }
        Ok(())
    }
}

impl FromStr for Normalization {
    type Err = Error;

    /// Parses `imagenet`, `cifar`, `none` or `MEAN,.../STD,...`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "imagenet" => return Ok(Self::imagenet()),
            "cifar" => return Ok(Self::cifar()),
            "none" => return Ok(Self::none()),
            _ => {}
        }
        let bad = |problem: String| Error::BadNormalization {
            spec: s.to_string(),
            problem,
        };
        let (mean, std) = s
            .split_once('/')
            .ok_or_else(|| bad("expected `imagenet`, `cifar`, `none` or `MEAN,.../STD,...`".into()))?;
        let parse = |side: &str| -> Result<Vec<f32>> {
            side.split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f32>()
                        .map_err(|e| bad(format!("{v:?} is not a number: {e}")))
                })
                .collect()
        };
        Self::new(parse(mean)?, parse(std)?).map_err(|e| match e {
            Error::BadNormalization { problem, .. } => bad(problem),
            other => other,
        })
    }
}

impl fmt::Display for Normalization {
    /// Writes the explicit `MEAN,.../STD,...` form, which [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[f32]| v.iter().map(f32::to_string).collect::<Vec<_>>().join(",");
        write!(f, "{}/{}", join(&self.mean), join(&self.std))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb(pixels: [u8; 3]) -> Dataset {
        Dataset {
            images: pixels.to_vec(),
            labels: vec![0],
            n: 1,
            channels: 3,
            height: 1,
            width: 1,
            num_classes: 1,
        }
    }

    #[test]
    fn presets_and_explicit_parse() {
        assert_eq!("imagenet".parse::<Normalization>().unwrap(), Normalization::imagenet());
        assert_eq!("cifar".parse::<Normalization>().unwrap(), Normalization::cifar());
        let n: Normalization = "0.5,0.5,0.5/0.25,0.25,0.25".parse().unwrap();
        assert_eq!(n.channels(), Some(3));
        assert_eq!(n.to_string().parse::<Normalization>().unwrap(), n);
        let n: Normalization = "0.5/0.25".parse().unwrap();
        assert_eq!(n.channels(), None);
    }

    #[test]
    fn bad_specs_are_errors() {
        for s in ["imagenett", "0.5,x/1", "0.5,0.5/1,1,1", "0/0", "0.1/-1", "/"] {
            let err = s.parse::<Normalization>().unwrap_err();
            assert!(matches!(err, Error::BadNormalization { .. }), "{s}: {err}");
            assert!(err.to_string().contains(s), "{err}");
        }
    }

    #[test]
    fn values_match_torchvision_order_of_operations() {
        let out = Normalization::imagenet().normalize(&rgb([0, 128, 255]), 0..1).unwrap();
        let want = [
            (0.0f32 / 255.0 - 0.485) / 0.229,
            (128.0f32 / 255.0 - 0.456) / 0.224,
            (255.0f32 / 255.0 - 0.406) / 0.225,
        ];
        assert_eq!(out, want);
        let out = "0.5/0.25".parse::<Normalization>().unwrap();
        assert_eq!(out.normalize(&rgb([0, 0, 255]), 0..1).unwrap()[2], 2.0);
    }

    #[test]
    fn channel_and_range_mismatch() {
        let mut grey = rgb([0, 0, 0]);
        grey.channels = 1;
        grey.n = 3;
        grey.labels = vec![0; 3];
        let err = Normalization::cifar().normalize(&grey, 0..1).unwrap_err();
        assert!(err.to_string().contains("3 channels"), "{err}");
        assert!(Normalization::none().normalize(&grey, 0..3).is_ok());
        assert!(Normalization::none().normalize(&grey, 2..4).is_err());
    }
}
