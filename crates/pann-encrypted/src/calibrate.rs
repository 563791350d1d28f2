//! Calibration on plaintext training images: the bound `B` of each ReLU layer, and the per-channel mean leaks.
//!
//! The polynomial ReLU is only valid for inputs within `[−B, B]`, and under encryption nothing can clamp, so the
//! bounds come from the network itself: layer `k`'s bound is `margin ×` the largest `|input|` it sees on the
//! calibration images when the layers before it already run their polynomials (their errors move what layer `k`
//! sees) and the layers from `k` on are exact.

use pann_approx::certify::eval_composite_power;
use pann_approx::CompositeSign;

use crate::network::Network;

/// The PANN ReLU with bound `b`: `B·y·(1 + p(y))/2` on `y = z/B`, clamped to `[−1, 1]` (only for calibration:
/// a calibrated bound is beyond every input by the margin).
pub fn pann_relu(lists: &[Vec<f64>], b: f64, z: f64) -> f64 {
    let y = (z / b).clamp(-1.0, 1.0);
    b * y * (1.0 + eval_composite_power(lists, y)) / 2.0
}

/// One bound per ReLU layer, layer by layer (see the module documentation).
pub fn bounds(net: &Network, calib: &[Vec<f64>], sign: &CompositeSign, margin: f64) -> Vec<f64> {
    let lists = sign.coefficient_lists();
    let mut bounds: Vec<f64> = Vec::with_capacity(net.relu_layers());
    for layer in 0..net.relu_layers() {
        let relu = |l: usize, z: f64| {
            if l < layer {
                pann_relu(&lists, bounds[l], z)
            } else {
                z.max(0.0)
            }
        };
        let seen = calib.iter().map(|x| net.forward(x, relu).1[layer]).fold(0.0, f64::max);
        bounds.push(margin * seen);
    }
    bounds
}

/// pann-eval's `calibrate` range rule (`pann eval --range calibrate`) on the `f64` mirror: the exact network's
/// largest `|input|` at each site over `calib`, times `margin` (a site that saw only zeros gets bound 1). One
/// pass per image, images in parallel: the rule for deep networks, where the layer-by-layer rule of
/// [`bounds`] would take one pass per site.
pub fn exact_bounds(net: &Network, calib: &[Vec<f64>], margin: f64) -> Vec<f64> {
    use rayon::prelude::*;
    let seen = calib.par_iter().map(|x| net.forward(x, |_, z| z.max(0.0)).1).reduce(
        || vec![0.0; net.relu_layers()],
        |a, b| a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect(),
    );
    seen.iter().map(|&m| if m > 0.0 { m * margin } else { 1.0 }).collect()
}

/// The per-layer, per-channel mean error of the PANN ReLUs with `bounds` ([`Network::mean_leaks`]).
pub fn mean_leaks(
    net: &Network,
    calib: &[Vec<f64>],
    sign: &CompositeSign,
    bounds: &[f64],
) -> crate::Result<Vec<Vec<f64>>> {
    let lists = sign.coefficient_lists();
    net.mean_leaks(calib, |l, z| pann_relu(&lists, bounds[l], z))
}
