//! Random crop with zero padding and horizontal flip, fused with normalisation.
//!
//! torchvision's `RandomCrop(32, padding=4)` then `RandomHorizontalFlip()` then `ToTensor`,
//! `Normalize`: the image is padded with black pixels (byte 0, so a padded pixel normalises to
//! `(0 − mean)/std`), a window at offset `(dy, dx) ∈ [0, 2p]²` is cut, and it is mirrored with
//! probability ½. Here one pass over the output writes
//! `out[c][i][j] = lut[c][img[c][i + dy − p][j' + dx − p]]` with `j' = W − 1 − j` when flipped,
//! padding where the source is outside the image.

/// Where one image's crop starts and whether it is mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropFlip {
    /// Row offset into the padded image, `0..=2·pad`.
    pub dy: usize,
    /// Column offset into the padded image, `0..=2·pad`.
    pub dx: usize,
    /// Mirror left–right after cropping.
    pub flip: bool,
}

/// Writes the normalised, cropped and flipped `image` (CHW bytes, `h × w` planes) into `out`
/// (`channels·h·w` values).
pub fn crop_flip_into(
    image: &[u8],
    (h, w): (usize, usize),
    pad: usize,
    t: CropFlip,
    luts: &[[f32; 256]],
    out: &mut [f32],
) {
    for (c, lut) in luts.iter().enumerate() {
        let plane = &image[c * h * w..(c + 1) * h * w];
        let dst = &mut out[c * h * w..(c + 1) * h * w];
        for i in 0..h {
            let row = &mut dst[i * w..(i + 1) * w];
            let src_i = (i + t.dy).checked_sub(pad).filter(|&r| r < h);
            let Some(r) = src_i else {
                row.fill(lut[0]);
                continue;
            };
            let src = &plane[r * w..(r + 1) * w];
            for (j, v) in row.iter_mut().enumerate() {
                let jj = if t.flip { w - 1 - j } else { j };
                *v = match (jj + t.dx).checked_sub(pad).filter(|&s| s < w) {
                    Some(s) => lut[src[s] as usize],
                    None => lut[0],
                };
            }
        }
    }
}

/// Normalises `image` into `out` without augmentation.
pub fn plain_into(image: &[u8], plane: usize, luts: &[[f32; 256]], out: &mut [f32]) {
    for (c, lut) in luts.iter().enumerate() {
        for (o, &b) in out[c * plane..(c + 1) * plane]
            .iter_mut()
            .zip(&image[c * plane..(c + 1) * plane])
        {
            *o = lut[b as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_pads_and_mirrors() {
        let lut: [f32; 256] = std::array::from_fn(|v| v as f32);
        // One 2×3 plane: rows [1 2 3], [4 5 6].
        let img = [1u8, 2, 3, 4, 5, 6];
        let mut out = [0f32; 6];
        let id = CropFlip {
            dy: 1,
            dx: 1,
            flip: false,
        };
        crop_flip_into(&img, (2, 3), 1, id, &[lut], &mut out);
        assert_eq!(out, [1., 2., 3., 4., 5., 6.]);
        crop_flip_into(
            &img,
            (2, 3),
            1,
            CropFlip {
                dy: 0,
                dx: 2,
                flip: false,
            },
            &[lut],
            &mut out,
        );
        assert_eq!(out, [0., 0., 0., 2., 3., 0.]);
        crop_flip_into(
            &img,
            (2, 3),
            1,
            CropFlip {
                dy: 1,
                dx: 1,
                flip: true,
            },
            &[lut],
            &mut out,
        );
        assert_eq!(out, [3., 2., 1., 6., 5., 4.]);
        crop_flip_into(
            &img,
            (2, 3),
            1,
            CropFlip {
                dy: 1,
                dx: 0,
                flip: true,
            },
            &[lut],
            &mut out,
        );
        assert_eq!(out, [2., 1., 0., 5., 4., 0.]);
    }
}
