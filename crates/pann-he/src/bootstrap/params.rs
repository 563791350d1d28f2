//! Bootstrapping parameters and presets.
//!
//! A bootstrappable parameter set stacks, from `q_0` up: the circuit's levels (what the caller gets back),
//! SlotsToCoeffs' levels, EvalMod's levels, CoeffsToSlots' levels; ModRaise lifts a level-0 ciphertext to the
//! top and the three stages walk it back down to the circuit's top level.
//!
//! Precision budget (Bossuat et al. 2021 §5): with `Δ'` the message scale at ModRaise and `K` the bound on the
//! integer part `I` of `t/q_0`, EvalMod computes `sin(2πKx)/(2π)` of `x = t/(K·q_0) ∈ [−1, 1]`, so an error `δ`
//! in `x` becomes an error `K·q_0/Δ'·δ` in the message: the CoeffsToSlots and EvalMod scales must exceed the
//! message scale by about `log2(K·q_0/Δ') + 20` bits for 20 bits of precision — hence primes near 2^58 there.
//! The sine's curvature adds a relative error `(2π·Δ'/q_0)²/6`, below `2^-21` once `q_0/Δ' ≥ 2^12`
//! ([`BootstrapParameters::log_message_ratio`]).
//!
//! `K`: the coefficients of `I` are sums of about `h = 2N/3` (uniform ternary secret) products of uniform values,
//! of standard deviation `√(h/12)`; `K` is taken at about 8 standard deviations.

use serde::{Deserialize, Serialize};

use crate::circuits::poly_eval::ChebyshevPlan;
use crate::ckks::{ParametersLiteral, Security};

/// The shape of a bootstrapping circuit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapParameters {
    /// Levels of CoeffsToSlots (number of merged FFT layers).
    pub cts_levels: usize,
    /// Levels of SlotsToCoeffs.
    pub stc_levels: usize,
    /// Bound `K` on `|t/q_0|` (the EvalMod interval is `[−K, K]`).
    pub k: f64,
    /// Number of double-angle steps `r`: the interpolant is of `cos(2π(Kx − 1/4)/2^r)`.
    pub double_angle: u32,
    /// Degree of the Chebyshev interpolant.
    pub cos_degree: usize,
    /// `log2(q_0/Δ')` that ModRaise works at: the input is multiplied by an integer to reach it.
    pub log_message_ratio: u32,
    /// `log2` of the scale EvalMod works at (and of its primes).
    pub log_eval_scale: u32,
    /// `log2` of the scale SlotsToCoeffs works at (a few bits below its primes).
    pub log_stc_scale: u32,
    /// `log2` of the slots bootstrapped: `log N − 1` for full slots; fewer is sparse packing (messages
    /// replicated with period `2^log_slots`, polynomials in `X^(N/2^(log_slots+1))`), with smaller transforms.
    pub log_slots: u32,
    /// Hamming weight `h` of the ephemeral sparse secret ModRaise runs under (sparse-secret encapsulation,
    /// [`super::encapsulation`]); 0: ModRaise under the dense secret. With `h > 0`, `K` must be at least
    /// [`super::encapsulation::k_for_weight`]`(h)`.
    #[serde(default)]
    pub ephemeral_weight: usize,
}

impl BootstrapParameters {
    /// Slots bootstrapped.
    pub fn slots(&self) -> usize {
        1 << self.log_slots
    }

    /// Levels of EvalMod: the Chebyshev plan's depth plus one per double angle.
    pub fn eval_mod_levels(&self) -> usize {
        ChebyshevPlan::new(self.cos_degree).depth() + self.double_angle as usize
    }

    /// All levels bootstrapping consumes above the circuit's.
    pub fn levels(&self) -> usize {
        self.cts_levels + self.eval_mod_levels() + self.stc_levels
    }
}

/// A ckks literal and the bootstrapping shape that fit each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapPreset {
    /// The CKKS parameters.
    pub literal: ParametersLiteral,
    /// The bootstrapping circuit.
    pub boot: BootstrapParameters,
    /// Levels left to the circuit after bootstrapping.
    pub circuit_levels: usize,
}

/// Stacks the primes of a bootstrappable set: `q_0` of `log_q0` bits, `circuit_levels` primes of `log_scale`
/// bits, SlotsToCoeffs primes of `log_stc` bits, EvalMod primes of `log_eval_scale` bits, CoeffsToSlots primes
/// of `log_cts` bits.
#[allow(clippy::too_many_arguments)]
pub fn stack(
    log_n: u32,
    boot: BootstrapParameters,
    circuit_levels: usize,
    log_scale: u32,
    log_stc: u32,
    log_cts: u32,
    log_p: Vec<u32>,
    security: Security,
) -> BootstrapPreset {
    let mut log_q = vec![60];
    log_q.extend(std::iter::repeat_n(log_scale, circuit_levels));
    log_q.extend(std::iter::repeat_n(log_stc, boot.stc_levels));
    log_q.extend(std::iter::repeat_n(boot.log_eval_scale, boot.eval_mod_levels()));
    log_q.extend(std::iter::repeat_n(log_cts, boot.cts_levels));
    BootstrapPreset {
        literal: ParametersLiteral {
            log_n,
            log_q,
            log_p,
            log_scale,
            security,
        },
        boot,
        circuit_levels,
    }
}

/// `log2(q_0/Δ')` for full-slot messages of magnitude at most 1 at `N = 2^log_n`: `⌈(24 − log2 n)/2⌉`,
/// `n = N/2`.
///
/// EvalMod sees the message's *coefficients* `u = A^(−1)·z`, not its slots, and for slots of magnitude about 1
/// spread over all `n` slots these are of size `1/√(3n)`. The sine's curvature errs by `u³·(2πΔ'/q_0)²/6` per
/// coefficient, which SlotsToCoeffs sums over `n` coefficients into a slot error of about
/// `4.9/(n·(q_0/Δ')²)`: below `2^-21.7` with this ratio. A smaller ratio shrinks the factor `K·q_0/Δ'` by
/// which EvalMod's own noise reaches the message; measured at `N = 2^13` (full bootstrap, bits min/mean):
/// ratio 4: 16.0/18.0, 5: 18.0/20.0, 6: 19.7/21.9 (this rule), 8: 18.9/21.1, 10: 16.7/19.1.
/// The price: a message whose energy sits in few coefficients (a constant vector has `u_0 = z_0`) sees the
/// curvature error of a large `u`, up to `(2π·2^-ratio)²/6` relatively; such messages should be bootstrapped
/// at a halved scale (the input scale may be `2^j·Δ`), or EvalMod given an arcsine correction.
pub fn message_ratio_for(log_n: u32) -> u32 {
    message_ratio_for_slots(log_n - 1)
}

/// [`message_ratio_for`] by `log2` of the slot count (sparse packing: `n` is the slot count).
pub fn message_ratio_for_slots(log_slots: u32) -> u32 {
    (24u32.saturating_sub(log_slots)).div_ceil(2)
}

/// `preset` with sparse packing: `2^log_slots` slots (fewer than `N/2`), the message ratio set for that many
/// slots, each transform in `min(layers, log_slots)` layers.
pub fn sparse(mut preset: BootstrapPreset, log_slots: u32) -> BootstrapPreset {
    let b = &mut preset.boot;
    b.log_slots = log_slots.min(preset.literal.log_n - 1);
    b.log_message_ratio = message_ratio_for_slots(b.log_slots);
    b.cts_levels = b.cts_levels.min(b.log_slots as usize).max(1);
    b.stc_levels = b.stc_levels.min(b.log_slots as usize).max(1);
    let (boot, levels) = (preset.boot.clone(), preset.circuit_levels);
    let lit = &preset.literal;
    let circuit: Vec<u32> = lit.log_q[1..=levels].to_vec();
    let stc = lit.log_q[levels + 1];
    let cts = *lit.log_q.last().expect("primes");
    let mut out = stack(
        lit.log_n,
        boot,
        levels,
        lit.log_scale,
        stc,
        cts,
        lit.log_p.clone(),
        lit.security,
    );
    out.literal.log_q.splice(1..=levels, circuit);
    out
}

/// Insecure small-ring bootstrapping for tests (DISCLAIMER: not secure; never use it for data): `N = 2^log_n`,
/// full slots, `circuit_levels` levels of 40 bits left, CoeffsToSlots and SlotsToCoeffs in 2 layers each,
/// `K = ⌈6·√(N/18)⌉` (six standard deviations of `I`: at `N ≤ 2^12` a miss has probability below `2^-15` per
/// bootstrap), double angles by [`double_angles_for`], the degree by [`chebyshev_degree_for`].
pub fn test_insecure(log_n: u32, circuit_levels: usize) -> BootstrapPreset {
    let sigma = ((1u64 << log_n) as f64 / 18.0).sqrt();
    let k = (6.0 * sigma).ceil();
    let double_angle = double_angles_for(k);
    let omega = 2.0 * std::f64::consts::PI * k / 2f64.powi(double_angle as i32);
    let cos_degree = chebyshev_degree_for(omega);
    stack(
        log_n,
        BootstrapParameters {
            cts_levels: 2,
            stc_levels: 2,
            k,
            double_angle,
            cos_degree,
            log_message_ratio: message_ratio_for(log_n),
            log_eval_scale: 58,
            log_stc_scale: 50,
            log_slots: log_n - 1,
            ephemeral_weight: 0,
        },
        circuit_levels,
        40,
        56,
        58,
        vec![60, 60, 60],
        Security::Insecure,
    )
}

/// [`test_insecure`] with sparse-secret encapsulation (DISCLAIMER: not secure; tests only): ModRaise under an
/// ephemeral secret of weight `h`, so `K` = [`super::encapsulation::k_for_weight`]`(h)`, and the double angles
/// and degree for that `K`.
pub fn test_insecure_encapsulated(log_n: u32, circuit_levels: usize, h: usize) -> BootstrapPreset {
    let base = test_insecure(log_n, circuit_levels);
    let k = super::encapsulation::k_for_weight(h);
    let double_angle = double_angles_for(k);
    let omega = 2.0 * std::f64::consts::PI * k / 2f64.powi(double_angle as i32);
    let boot = BootstrapParameters {
        k,
        double_angle,
        cos_degree: chebyshev_degree_for(omega),
        ephemeral_weight: h,
        ..base.boot
    };
    stack(
        log_n,
        boot,
        circuit_levels,
        40,
        56,
        58,
        base.literal.log_p,
        Security::Insecure,
    )
}

/// The number of double angles `r` that brings the interpolated cosine's frequency `ω = 2πK/2^r` to at most
/// 24, where a degree-63 interpolant (depth 6) reaches `2^-40`. The precision hardly depends on `r` at equal
/// depth (measured at `N = 2^13`, bits min/mean: `r = 4`, degree 127: 18.9/21.0; `r = 6`, degree 63:
/// 18.9/21.1; `r = 8`, degree 31: 18.5/20.8): fewer double angles need a higher degree, whose Chebyshev
/// recurrences amplify the noise about as much as the squarings they replace.
pub fn double_angles_for(k: f64) -> u32 {
    (2.0 * std::f64::consts::PI * k / 24.0).log2().ceil().max(0.0) as u32
}

/// The smallest `2^l − 1` degree whose Chebyshev interpolant of `cos(ω·u)` stays within `2^-40` of it on a
/// grid of `8(d+1)` points of `[−1, 1]` (measured, not estimated; `f64` evaluation itself errs by about
/// `d·2^-53`): the truncation error then sits under the
/// CKKS noise at a `2^58` scale.
pub fn chebyshev_degree_for(omega: f64) -> usize {
    use crate::circuits::poly_eval::{chebyshev_interpolant, chebyshev_value};
    let f = |u: f64| (omega * u).cos();
    (3..10usize)
        .map(|l| (1usize << l) - 1)
        .find(|&d| {
            let c = chebyshev_interpolant(f, d);
            let m = 8 * (d + 1);
            (0..=m).all(|i| {
                let u = -1.0 + 2.0 * i as f64 / m as f64;
                (chebyshev_value(&c, u) - f(u)).abs() < 2f64.powi(-40)
            })
        })
        .unwrap_or(511)
}

/// `log2(q_0/Δ')` under sparse-secret encapsulation. The bootstrap's error is the sine's curvature
/// (`∝ (Δ'/q_0)²`) plus EvalMod's noise times `K·q_0/Δ'`; with `K = 17` instead of 424 the noise term allows a
/// larger ratio than [`message_ratio_for`]'s. Measured on the `N = 2^16` shape at `N = 2^14` (bits min/mean):
/// ratio 5: 18.8/21.0 (curvature-bound, by `examples/bootstrap_noise.rs`), 7: 21.4/24.5, 8: 21.4/24.8,
/// 9: 21.1/24.3, 10: 20.7/23.4.
pub const ENCAPSULATED_MESSAGE_RATIO: u32 = 8;

/// `N = 2^16`, full slots (32768), uniform ternary secret, 128-bit by the HE Standard (`log QP ≤ 1772`), with
/// sparse-secret encapsulation (`h = 32`, so `K = 17` bounds every raise): `q_0` 60 bits, 10 circuit levels of
/// 40 bits, SlotsToCoeffs 3 levels of 52 bits (at scale 2^48), EvalMod 9 levels of 60 bits at scale 2^60
/// (Chebyshev degree 31 of the cosine at depth 5, 4 double angles), CoeffsToSlots 3 levels of 60 bits, seven
/// 60-bit special primes: `log QP ≈ 1756`, 4 key-switching digits of 7 primes.
///
/// Why: without encapsulation (`K = 424`, [`n16_dense`]) EvalMod takes 13 levels and the bound leaves room
/// for three special primes only, hence 10 digits; the four levels encapsulation saves buy four more special
/// primes, which cuts the digit count — the factor of every key switch's cost and of every key's size — from
/// 10 to 4.
pub fn n16_full() -> BootstrapPreset {
    let k = super::encapsulation::k_for_weight(32);
    stack(
        16,
        BootstrapParameters {
            cts_levels: 3,
            stc_levels: 3,
            k,
            double_angle: 4,
            cos_degree: 31,
            log_message_ratio: ENCAPSULATED_MESSAGE_RATIO,
            log_eval_scale: 60,
            log_stc_scale: 48,
            log_slots: 15,
            ephemeral_weight: 32,
        },
        10,
        40,
        52,
        60,
        vec![60; 7],
        Security::Bits128,
    )
}

/// The dense-secret `N = 2^16` preset (no encapsulation): `q_0` 60 bits, 10 circuit levels of 40 bits,
/// SlotsToCoeffs 3 levels of 52 bits (at scale 2^48), EvalMod 13 levels of 60 bits at scale 2^60 (Chebyshev
/// degree 63 of the cosine at depth 6, 7 double angles, `K = 424 ≈ 7σ` of `I` for `h ≈ 2N/3`), CoeffsToSlots
/// 3 levels of 60 bits, three 60-bit special primes: `log QP ≈ 1756`, 10 key-switching digits.
///
/// Why these sizes (measured on the same shape at `N = 2^14`, bits min/mean): EvalMod at 2^58 on 58-bit primes
/// and four special primes, 18.6/20.9; EvalMod at 2^60, 19.8/22.3; and CoeffsToSlots/SlotsToCoeffs on larger
/// primes, 20.0/22.4 — against 16.0/18.5 when their primes are cut to 50/47 bits to keep a fourth special prime.
/// Measured at `N = 2^16`: 16.5/18.9 bits, 36.5 s, 7.09 GB of keys (results/he/bootstrap-n16.json before
/// encapsulation).
pub fn n16_dense() -> BootstrapPreset {
    stack(
        16,
        BootstrapParameters {
            cts_levels: 3,
            stc_levels: 3,
            k: 424.0,
            double_angle: 7,
            cos_degree: 63,
            log_message_ratio: message_ratio_for(16),
            log_eval_scale: 60,
            log_stc_scale: 48,
            log_slots: 15,
            ephemeral_weight: 0,
        },
        10,
        40,
        52,
        60,
        vec![60, 60, 60],
        Security::Bits128,
    )
}

/// [`n16_full`]'s shape (the same primes, digits, levels, `K`, message ratio, degree and double angles) at
/// `N = 2^log_n`: the cheap stand-in the N = 2^16 preset is tuned on (DISCLAIMER: below `log_n = 16` it is
/// not secure; for timing and precision studies only). Stage CPU seconds scale by about `4.3×` per doubling of
/// `N` (twice the slots, twice the ring, a little more NTT), precision changes little.
pub fn n16_shape(log_n: u32) -> BootstrapPreset {
    let mut p = n16_full();
    if log_n != 16 {
        p.literal.log_n = log_n;
        p.literal.security = Security::Insecure;
        p.boot.log_slots = log_n - 1;
    }
    p
}

/// What a bootstrapping preset costs, for printing (`pann he params`): computed from the primes and the plan's
/// rotation set, without generating a key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PresetSummary {
    /// `log2 N`.
    pub log_n: u32,
    /// `log2(QP)` of the primes.
    pub log_qp: f64,
    /// The HE Standard's 128-bit bound at this `N` (uniform ternary secret), if tabulated.
    pub max_log_qp_128: Option<u32>,
    /// Slots bootstrapped.
    pub slots: usize,
    /// Levels of the parameter set (`L`).
    pub levels_total: usize,
    /// Levels bootstrapping consumes (CoeffsToSlots + EvalMod + SlotsToCoeffs).
    pub levels_bootstrap: usize,
    /// Levels left to the circuit after a bootstrap.
    pub levels_left: usize,
    /// Key-switching digits.
    pub digits: usize,
    /// Hamming weight of the ephemeral secret of sparse-secret encapsulation (0: none).
    pub ephemeral_weight: usize,
    /// Rotation keys the plan needs (besides the conjugation key).
    pub rotations: usize,
    /// Bytes of the evaluation keys: relinearisation, rotation/conjugation and encapsulation keys, stored whole.
    pub keys_bytes: usize,
}

/// The cost summary of `preset`.
pub fn summary(preset: &BootstrapPreset) -> crate::Result<PresetSummary> {
    let params = crate::ckks::Parameters::new(preset.literal.clone())?;
    let rotations = super::keys::galois_elements(&params, &preset.boot).len() - 1;
    let key = params.switching_key_bytes();
    Ok(PresetSummary {
        log_n: params.log_n(),
        log_qp: params.log_qp(),
        max_log_qp_128: crate::ckks::params::max_log_qp_128(params.log_n()),
        slots: preset.boot.slots(),
        levels_total: params.max_level(),
        levels_bootstrap: preset.boot.levels(),
        levels_left: params.max_level().saturating_sub(preset.boot.levels()),
        digits: params.digit_count(),
        ephemeral_weight: preset.boot.ephemeral_weight,
        rotations,
        // Relinearisation key, rotation and conjugation keys (stored whole, as `keys::generate` makes them),
        // and with encapsulation the sparse→dense key (the dense→sparse one, over two primes, is negligible).
        keys_bytes: key * (rotations + 2 + usize::from(preset.boot.ephemeral_weight > 0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks::Parameters;

    #[test]
    fn the_n16_preset_is_secure_and_leaves_ten_levels() {
        let p = n16_full();
        let params = Parameters::new(p.literal.clone()).unwrap();
        assert_eq!(params.max_level() - p.boot.levels(), 10);
        assert_eq!(p.boot.eval_mod_levels(), 9);
        assert!(params.log_qp() <= 1772.0, "{}", params.log_qp());
        assert_eq!(params.digit_count(), 4);
        assert!(p.boot.k >= super::super::encapsulation::k_for_weight(p.boot.ephemeral_weight));
        let sum = summary(&p).unwrap();
        assert_eq!((sum.levels_left, sum.levels_bootstrap, sum.slots), (10, 15, 1 << 15));
        assert!(sum.log_qp <= sum.max_log_qp_128.unwrap() as f64 + 0.5);
        // 38 rotation keys (±16384 is one Galois element) + conjugation, the relinearisation key and the
        // encapsulation key, stored whole: 4 digits instead of 10 make them under 6 GB (the dense preset's
        // compressed keys took 7.09 GB).
        assert_eq!(sum.rotations, 38);
        assert!(sum.keys_bytes < 6_000_000_000, "{}", sum.keys_bytes);
    }

    #[test]
    fn the_dense_n16_preset_keeps_its_shape() {
        let p = n16_dense();
        let params = Parameters::new(p.literal.clone()).unwrap();
        assert_eq!(params.max_level() - p.boot.levels(), 10);
        assert_eq!(p.boot.eval_mod_levels(), 13);
        assert_eq!(params.digit_count(), 10);
        assert!(params.log_qp() <= 1772.0);
    }
}
