//! The small CNN that pann runs encrypted, as a plain `f64` network (batch norm folded into the convolutions;
//! read from safetensors by [`SmallCnn::load`], in [`super::weights`]):
//!
//! ```text
//! conv1 3×3 (C0→C1, pad 1, no bias) · bn1 · ReLU · avgpool 2×2 · conv2 3×3 (C1→C2) · bn2 · ReLU · avgpool 2×2 ·
//! flatten (C, H, W) · fc (C2·H/4·W/4 → classes)
//! ```
//!
//! [`SmallCnn::forward`] is the plain `f64` reference with any ReLU: the encrypted program of [`super::HeCnn`]
//! is checked against it, and it against pann-nn's libtorch smallcnn (crates/pann-encrypted/tests).

/// A 3×3 convolution with bias, weights `[out][in][3][3]` flattened.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// `w[((o·cin + c)·3 + ki)·3 + kj]`.
    pub w: Vec<f64>,
    /// One bias per output channel.
    pub b: Vec<f64>,
}

impl Conv {
    /// Weight of output `o`, input `c`, kernel position `(ki, kj)` in `0..3`.
    #[inline]
    pub fn weight(&self, o: usize, c: usize, ki: usize, kj: usize) -> f64 {
        self.w[((o * self.cin + c) * 3 + ki) * 3 + kj]
    }

    /// Same-padded stride-1 convolution of a `cin × h × w` image.
    pub fn apply(&self, x: &[f64], h: usize, w: usize) -> Vec<f64> {
        self.apply_strided(x, h, w, 1)
    }

    /// Convolution with padding 1 and stride `s` of a `cin × h × w` image: `cout × ⌈h/s⌉ × ⌈w/s⌉`.
    pub fn apply_strided(&self, x: &[f64], h: usize, w: usize, s: usize) -> Vec<f64> {
        let (ho, wo) = (h.div_ceil(s), w.div_ceil(s));
        let mut out = vec![0.0; self.cout * ho * wo];
        for o in 0..self.cout {
            for (oi, i) in (0..h).step_by(s).enumerate() {
                for (oj, j) in (0..w).step_by(s).enumerate() {
                    let mut acc = self.b[o];
                    for c in 0..self.cin {
                        for ki in 0..3 {
                            let ii = i as isize + ki as isize - 1;
                            if ii < 0 || ii >= h as isize {
                                continue;
                            }
                            for kj in 0..3 {
                                let jj = j as isize + kj as isize - 1;
                                if jj < 0 || jj >= w as isize {
                                    continue;
                                }
                                acc += self.weight(o, c, ki, kj) * x[(c * h + ii as usize) * w + jj as usize];
                            }
                        }
                    }
                    out[(o * ho + oi) * wo + oj] = acc;
                }
            }
        }
        out
    }
}

/// The folded small CNN.
#[derive(Clone, Debug)]
pub struct SmallCnn {
    /// First convolution (BN folded).
    pub conv1: Conv,
    /// Second convolution (BN folded).
    pub conv2: Conv,
    /// `fc.weight`, `[classes][C2·(H/4)·(W/4)]`.
    pub fc_w: Vec<f64>,
    /// `fc.bias`.
    pub fc_b: Vec<f64>,
    /// Number of classes.
    pub classes: usize,
    /// Input height and width (from the fc size, square images).
    pub side: usize,
}

/// Average pooling 2×2 of a `c × h × w` map.
pub fn avg_pool(x: &[f64], c: usize, h: usize, w: usize) -> Vec<f64> {
    let (h2, w2) = (h / 2, w / 2);
    let mut out = vec![0.0; c * h2 * w2];
    for ch in 0..c {
        for i in 0..h2 {
            for j in 0..w2 {
                let at = |a: usize, b: usize| x[(ch * h + a) * w + b];
                out[(ch * h2 + i) * w2 + j] =
                    0.25 * (at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1));
            }
        }
    }
    out
}

impl SmallCnn {
    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.conv1.cin
    }

    /// Logits for one normalised `C0 × side × side` image, with `relu1`/`relu2` as the activations; also
    /// returns the largest `|input|` of each activation layer.
    pub fn forward(&self, x: &[f64], relu1: impl Fn(f64) -> f64, relu2: impl Fn(f64) -> f64) -> (Vec<f64>, [f64; 2]) {
        let pass = self.pass(x, |_, z| relu1(z), |_, z| relu2(z));
        let max = |v: &[f64]| v.iter().fold(0f64, |a, &z| a.max(z.abs()));
        let m = [max(&pass.z1), max(&pass.z2)];
        (pass.logits, m)
    }

    /// One image through the network with channel-aware activations `relu(channel, z)`, keeping the
    /// pre-activations (`C × H × W` each).
    pub fn pass(&self, x: &[f64], relu1: impl Fn(usize, f64) -> f64, relu2: impl Fn(usize, f64) -> f64) -> Pass {
        let s = self.side;
        let z1 = self.conv1.apply(x, s, s);
        let a1: Vec<f64> = z1.iter().enumerate().map(|(i, &v)| relu1(i / (s * s), v)).collect();
        let p1 = avg_pool(&a1, self.conv1.cout, s, s);
        let z2 = self.conv2.apply(&p1, s / 2, s / 2);
        let q = (s / 2) * (s / 2);
        let a2: Vec<f64> = z2.iter().enumerate().map(|(i, &v)| relu2(i / q, v)).collect();
        let p2 = avg_pool(&a2, self.conv2.cout, s / 2, s / 2);
        let feat = p2.len();
        let logits = (0..self.classes)
            .map(|o| self.fc_b[o] + (0..feat).map(|k| self.fc_w[o * feat + k] * p2[k]).sum::<f64>())
            .collect();
        Pass { logits, z1, z2 }
    }

    /// The per-channel mean error `m_c = E[relu_k(z) − ReLU(z)]` of each ReLU layer over the exact network's
    /// pre-activations on `images` — the mean-leak correction of `pann eval --leak-correction`, here for the
    /// encrypted network, where subtracting it costs nothing (it folds into the next layer's bias).
    pub fn mean_leaks(
        &self,
        images: &[Vec<f64>],
        relu1: impl Fn(f64) -> f64,
        relu2: impl Fn(f64) -> f64,
    ) -> [Vec<f64>; 2] {
        let s = self.side;
        let (c1, c2) = (self.conv1.cout, self.conv2.cout);
        let (mut e1, mut e2) = (vec![0.0; c1], vec![0.0; c2]);
        for x in images {
            let p = self.pass(x, |_, z| z.max(0.0), |_, z| z.max(0.0));
            for (i, &z) in p.z1.iter().enumerate() {
                e1[i / (s * s)] += relu1(z) - z.max(0.0);
            }
            for (i, &z) in p.z2.iter().enumerate() {
                e2[i / (s * s / 4)] += relu2(z) - z.max(0.0);
            }
        }
        let n1 = (images.len() * s * s).max(1) as f64;
        let n2 = (images.len() * s * s / 4).max(1) as f64;
        [e1.iter().map(|v| v / n1).collect(), e2.iter().map(|v| v / n2).collect()]
    }
}

/// Logits and pre-activations of one image.
#[derive(Clone, Debug)]
pub struct Pass {
    /// Logits.
    pub logits: Vec<f64>,
    /// Pre-activations of the first ReLU layer, `C1 × s × s`.
    pub z1: Vec<f64>,
    /// Pre-activations of the second ReLU layer, `C2 × s/2 × s/2`.
    pub z2: Vec<f64>,
}
