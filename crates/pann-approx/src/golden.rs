//! Golden-section search for the maximum of a function on a bracket.

/// Maximises `g` on `[lo, hi]` (unimodal there) in `steps` golden-section steps; returns `(x, g(x))` of the best
/// point seen, end points included.
pub fn golden_max(g: &impl Fn(f64) -> f64, mut lo: f64, mut hi: f64, steps: usize) -> (f64, f64) {
    const INV_PHI: f64 = 0.618_033_988_749_894_8;
    let mut best = (lo, g(lo));
    let gh = g(hi);
    if gh > best.1 {
        best = (hi, gh);
    }
    let mut x1 = hi - INV_PHI * (hi - lo);
    let mut x2 = lo + INV_PHI * (hi - lo);
    let (mut g1, mut g2) = (g(x1), g(x2));
    for _ in 0..steps {
        if g1 < g2 {
            lo = x1;
            x1 = x2;
            g1 = g2;
            x2 = lo + INV_PHI * (hi - lo);
            g2 = g(x2);
        } else {
            hi = x2;
            x2 = x1;
            g2 = g1;
            x1 = hi - INV_PHI * (hi - lo);
            g1 = g(x1);
        }
        for (x, v) in [(x1, g1), (x2, g2)] {
            if v > best.1 {
                best = (x, v);
            }
        }
    }
    best
}
