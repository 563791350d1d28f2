//! CKKS bootstrapping: a level-0 ciphertext in, the same message at a high level out.
//!
//! `bootstrap = SlotsToCoeffs ∘ EvalMod ∘ (conjugation split) ∘ CoeffsToSlots ∘ ModRaise`
//! (Cheon–Han–Kim–Kim–Song 2018; Chen–Chillotti–Song 2019; Han–Ki 2020; Bossuat–Mouchet–Troncoso-Pastoriza–
//! Hubaux 2021):
//!
//! 1. **ModRaise**: the level-0 ciphertext `(c_0, c_1)` mod `q_0`, read as integers and reduced modulo every
//!    prime of `Q_L`, decrypts to `t = Δ'·m + q_0·I` with a small integer polynomial `I` (`|I| ≲ √h`). With
//!    sparse-secret encapsulation ([`encapsulation`], the default presets) the ciphertext is first switched to
//!    an ephemeral secret of weight 32, which bounds `|I| ≤ 16` surely, and switched back to the dense secret
//!    right after the raise.
//! 2. **CoeffsToSlots** ([`coeffs_to_slots`]): the inverse special FFT, so the slots hold the coefficients of
//!    `t` (bit-reversed, `t_lo + i·t_hi`), scaled to `[−1, 1]` by the recorded scale `2K·q_0`.
//! 3. **Split**: `x_re = z + z̄`, `x_im = −i(z − z̄)` (conjugation key), two real-slot ciphertexts.
//! 4. **EvalMod** ([`eval_mod`]) on each: `sin(2πKx)`, i.e. `2π·Δ'm/q_0` up to the curvature error.
//! 5. **Recombine** `x_re + i·x_im` and **SlotsToCoeffs** ([`slots_to_coeffs`]): the special FFT back.
//!
//! Each transform layer is a baby-step/giant-step diagonal product with hoisted rotations
//! ([`lintrans`]), its diagonals encoded once, at its level, when the [`Bootstrapper`] is built.
//!
//! Noise budget (what the scales are chosen against): a key switch adds about `2^20` in slot units whatever
//! the level, a rescale about `2^14`; EvalMod multiplies the error of its input `x` by `2πK` and its own error
//! by up to `4` per double angle, and the message's error is EvalMod's times `q_0/(2πΔ')`. Hence: the
//! CoeffsToSlots rotations run at scales of `2^64` and more, the conjugation split happens before the last
//! CoeffsToSlots rescale, EvalMod runs at `2^58`, and `q_0/Δ'` is as small as the message's coefficients allow
//! ([`params::message_ratio_for`]).
//!
//! Sparse packing ([`params::sparse`]): `n' < N/2` slots, messages replicated with period `n'` (polynomials in
//! `Y = X^(N/2n')`); ModRaise is followed by the partial trace over the automorphisms fixing `Y`, and the
//! transforms shrink to `n'` points with replicated diagonals. Not implemented yet: packing the real and
//! imaginary parts of a sparse message into one EvalMod, the arcsine correction, double hoisting of the giant
//! steps.

pub mod bench;
pub mod coeffs_to_slots;
pub mod encapsulation;
pub mod eval_mod;
pub mod keys;
pub mod lintrans;
pub mod params;
pub mod slots_to_coeffs;

use std::sync::Arc;

pub use bench::{bench, BenchReport};
pub use keys::BootstrapKeys;
pub use params::{BootstrapParameters, BootstrapPreset};

use self::eval_mod::EvalMod;
use self::lintrans::LinearTransform;
use crate::ckks::evaluator::SCALE_TOLERANCE;
use crate::ckks::{Ciphertext, Encoder, Evaluator, Parameters};
use crate::error::{Error, Result};
use crate::ring::Basis;

/// Seconds per stage of one bootstrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageSeconds {
    /// Dropping to level 0, the integer boost and ModRaise.
    pub mod_raise: f64,
    /// CoeffsToSlots.
    pub coeffs_to_slots: f64,
    /// Conjugation and the real/imaginary split.
    pub split: f64,
    /// EvalMod of both parts and their recombination.
    pub eval_mod: f64,
    /// SlotsToCoeffs.
    pub slots_to_coeffs: f64,
}

/// Wall and CPU seconds per stage of one bootstrap: the machine is shared, so wall time is noisy and CPU time
/// (user + system of the whole process, every thread) is the steadier guide to what a change saves.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageTimes {
    /// Wall-clock seconds.
    pub wall: StageSeconds,
    /// Process CPU seconds (0 where `/proc` is unavailable).
    pub cpu: StageSeconds,
}

/// A bootstrapping plan with its keys: encoded transform layers, the EvalMod polynomial, the evaluator.
pub struct Bootstrapper {
    params: Arc<Parameters>,
    boot: BootstrapParameters,
    eval: Evaluator,
    /// Sparse-secret encapsulation around ModRaise, if the plan uses an ephemeral secret.
    encapsulation: Option<encapsulation::Encapsulation>,
    cts: Vec<LinearTransform>,
    stc: Vec<LinearTransform>,
    eval_mod: EvalMod,
    out_level: usize,
    /// `log2` of the power of two `2^b` a default-scale input is multiplied by before ModRaise, to bring its
    /// scale `Δ' = 2^b·Δ` to `q_0/2^ratio` or just above that ratio.
    boost_log: u32,
    /// `2K·q_0`: the scale ModRaise records, so that CoeffsToSlots yields `t/(2K·q_0)`.
    raised_scale: f64,
    /// Scale of the CoeffsToSlots output (EvalMod's input).
    eval_scale: f64,
    /// Scale between the CoeffsToSlots layers.
    mid_scale: f64,
    /// Scale of SlotsToCoeffs' input and intermediate layers.
    stc_scale: f64,
}

impl Bootstrapper {
    /// Builds the plan (encodes every diagonal) and checks that `keys` hold every rotation it uses.
    ///
    /// # Errors
    /// [`Error::InvalidParameters`] if the parameters have too few levels for `boot` or a scale that leaves no
    /// room for the message ratio; [`Error::MissingKey`] naming the first rotation without a key.
    pub fn new(
        params: Arc<Parameters>,
        encoder: Arc<Encoder>,
        boot: BootstrapParameters,
        keys: BootstrapKeys,
    ) -> Result<Self> {
        let top = params.max_level();
        let need = boot.levels();
        if need > top {
            return Err(Error::InvalidParameters(format!(
                "bootstrapping needs {need} levels above the circuit, the parameters have {top}"
            )));
        }
        let out_level = top - need;
        let q = params.q().to_vec();
        let q0 = q[0] as f64;
        let delta = params.default_scale();
        let room = (q0 / (2f64.powi(boot.log_message_ratio as i32) * delta)).log2().floor();
        if room < 0.0 {
            return Err(Error::InvalidParameters(format!(
                "scale 2^{:.1} leaves q_0/Δ = 2^{:.1} below the message ratio 2^{}",
                delta.log2(),
                (q0 / delta).log2(),
                boot.log_message_ratio
            )));
        }
        let boost_log = room as u32;
        let delta_eff = delta * 2f64.powi(boost_log as i32);
        let raised_scale = 2.0 * boot.k * q0;
        let eval_scale = 2f64.powi(boot.log_eval_scale as i32);
        if boot.log_slots + 1 > params.log_n() {
            return Err(Error::InvalidParameters(format!(
                "2^{} slots exceed N/2 = {}",
                boot.log_slots,
                params.slots()
            )));
        }
        let n = boot.slots();
        // Sparse packing: the partial trace multiplies the raised polynomial by N/(2n'); recording that factor in
        // the scale keeps the values CoeffsToSlots sees at t/(2K·q_0).
        let gap = (params.slots() / n) as f64;
        let raised_scale = raised_scale * gap;

        // CoeffsToSlots: layer t runs at level top − t. Two noises pull the intermediate scale apart: the
        // key-switching noise of the rotations (about 2^20 in slot units, whatever the level) wants it high, the
        // rounding of the diagonals (relative 2^(log N/2)/pt_scale) wants the scale drop per layer small. The
        // layers between run at √(2K·q_0·eval_scale) (about 2^64), the first and last layer each drop half way,
        // and the conjugation split happens before the last rescale (its noise then meets a scale of 2^110).
        let mut cts = Vec::new();
        let layers = coeffs_to_slots::coeffs_to_slots_layers(n, boot.cts_levels);
        let count = layers.len();
        let mid_scale = (raised_scale * eval_scale).sqrt();
        let mut scale = raised_scale;
        for (t, d) in layers.iter().enumerate() {
            let level = top - t;
            let target = if t + 1 == count { eval_scale } else { mid_scale };
            let pt_scale = target * q[level] as f64 / scale;
            cts.push(LinearTransform::new(&params, &encoder, d, level, pt_scale)?);
            scale = target;
        }
        // EvalMod lands on stc_scale·q_0/(2πΔ'), so that its result, read as the message u = y·q_0/(2πΔ'), has
        // scale stc_scale: high enough that SlotsToCoeffs' rotation noise is small against it, low enough that the
        // last layer's plaintext scale Δ·q/stc_scale keeps its diagonals precise.
        let stc_scale = 2f64.powi(boot.log_stc_scale as i32);
        let eval_mod = EvalMod::new(&boot, stc_scale * q0 / (2.0 * std::f64::consts::PI * delta_eff));
        let mut stc = Vec::new();
        let layers = slots_to_coeffs::slots_to_coeffs_layers(n, boot.stc_levels);
        let count = layers.len();
        for (t, d) in layers.iter().enumerate() {
            let level = out_level + boot.stc_levels - t;
            let target = if t + 1 == count { delta } else { stc_scale };
            let pt_scale = target * q[level] as f64 / stc_scale;
            stc.push(LinearTransform::new(&params, &encoder, d, level, pt_scale)?);
        }
        let encapsulation = match (boot.ephemeral_weight, keys.encapsulation) {
            (0, _) => None,
            (h, Some(e)) if e.weight() == h => Some(e),
            (h, Some(e)) => {
                return Err(Error::MissingKey(format!(
                    "the plan raises under an ephemeral secret of weight {h}, the keys are for weight {}",
                    e.weight()
                )))
            }
            (h, None) => {
                return Err(Error::MissingKey(format!(
                    "the plan raises under an ephemeral secret of weight {h}: the encapsulation keys are missing"
                )))
            }
        };
        if boot.ephemeral_weight > 0 && boot.k < encapsulation::k_for_weight(boot.ephemeral_weight) {
            return Err(Error::InvalidParameters(format!(
                "K = {} is below the bound {} of an ephemeral secret of weight {}",
                boot.k,
                encapsulation::k_for_weight(boot.ephemeral_weight),
                boot.ephemeral_weight
            )));
        }
        let eval = Evaluator::new(params.clone(), encoder, Some(keys.relin), keys.galois);
        let ring = params.ring();
        for lt in cts.iter().chain(&stc) {
            for k in lt.rotations() {
                if eval.galois_keys().get(ring.galois_element(k)).is_none() {
                    return Err(Error::MissingKey(format!(
                        "bootstrapping needs a rotation key for a rotation by {k} slots"
                    )));
                }
            }
        }
        if eval.galois_keys().get(2 * params.n() as u64 - 1).is_none() {
            return Err(Error::MissingKey("bootstrapping needs the conjugation key".into()));
        }
        Ok(Self {
            params,
            boot,
            eval,
            encapsulation,
            cts,
            stc,
            eval_mod,
            out_level,
            boost_log,
            raised_scale,
            eval_scale,
            mid_scale,
            stc_scale,
        })
    }

    /// The evaluator holding the bootstrapping keys (usable for the circuit between bootstraps).
    pub fn evaluator(&self) -> &Evaluator {
        &self.eval
    }

    /// The bootstrapping shape.
    pub fn parameters(&self) -> &BootstrapParameters {
        &self.boot
    }

    /// The level of a bootstrapped ciphertext: the levels left to the circuit.
    pub fn output_level(&self) -> usize {
        self.out_level
    }

    /// Bytes of the encoded diagonals of both transforms.
    pub fn plan_bytes(&self) -> usize {
        self.cts.iter().chain(&self.stc).map(LinearTransform::bytes).sum()
    }

    /// The checks, the integer boost and ModRaise of [`Self::bootstrap`]: `ct` raised to the top level, recorded
    /// at the scale `2K·q_0` that CoeffsToSlots expects.
    ///
    /// With sparse packing (`n'` slots) it also takes the partial trace `Σ_k φ_(5^(n'·k))`, `k < N/(2n')`, by
    /// `log2(N/(2n'))` rotations and additions: the automorphisms fixing `Y = X^(N/(2n'))` keep the message
    /// (a polynomial in `Y`) and sum the other coefficients of `I` to zero.
    pub fn raise(&self, ct: &Ciphertext) -> Result<Ciphertext> {
        let shift = self.check_input(ct)?;
        let mut c = ct.clone();
        self.eval.drop_to_level(&mut c, 0)?;
        let c = self.eval.mul_integer(&c, 1i128 << shift);
        let mut raised = match &self.encapsulation {
            None => self.mod_raise(encapsulation::level0_coefficients(self.params.ring(), &c)),
            Some(e) => e.to_dense(&self.params, &self.mod_raise(e.to_sparse(&self.params, &c)?)),
        };
        for r in keys::trace_rotations(self.params.slots(), self.boot.slots()) {
            let rotated = self.eval.rotate(&raised, r)?;
            self.eval.add_assign(&mut raised, &rotated)?;
        }
        Ok(raised)
    }

    /// ModRaise: `(c_0, c_1)`, given in coefficient form mod `q_0`, centred, as polynomials over `Q_L`.
    fn mod_raise(&self, c: [Vec<u64>; 2]) -> Ciphertext {
        let ring = self.params.ring();
        let q0 = *ring.q(0);
        let top = Basis::level(self.params.max_level());
        let lift = |c: &[u64]| {
            let centred: Vec<i64> = c.iter().map(|&x| q0.centered(x)).collect();
            let mut out = ring.from_signed(&centred, top);
            ring.ntt(&mut out);
            out
        };
        Ciphertext {
            c: [lift(&c[0]), lift(&c[1])],
            scale: self.raised_scale,
        }
    }

    fn transform(&self, layers: &[LinearTransform], x: &Ciphertext, target: &[f64]) -> Result<Ciphertext> {
        let mut y = x.clone();
        for (lt, &s) in layers.iter().zip(target) {
            y = lt.apply(&self.eval, &y)?;
            self.eval.rescale_assign(&mut y)?;
            y.set_scale(s)?;
        }
        Ok(y)
    }

    /// CoeffsToSlots of a raised ciphertext: slots `P·(t_lo + i·t_hi)/(2K·q_0)` at the EvalMod scale.
    pub fn coeffs_to_slots(&self, raised: &Ciphertext) -> Result<Ciphertext> {
        let mut targets = vec![self.mid_scale; self.cts.len()];
        if let Some(last) = targets.last_mut() {
            *last = self.eval_scale;
        }
        self.transform(&self.cts, raised, &targets)
    }

    /// SlotsToCoeffs of a ciphertext at [`Self::stc_input_level`] and `scale`; the result's scale is the
    /// default scale (`scale` must be the one the plan was built for, [`Self::stc_input_scale`]).
    pub fn slots_to_coeffs(&self, x: &Ciphertext) -> Result<Ciphertext> {
        let mut targets = vec![self.stc_input_scale(); self.stc.len()];
        if let Some(last) = targets.last_mut() {
            *last = self.params.default_scale();
        }
        let mut x = x.clone();
        if x.level() > self.stc_input_level() {
            self.eval.drop_to_level(&mut x, self.stc_input_level())?;
        }
        self.transform(&self.stc, &x, &targets)
    }

    /// EvalMod alone: `sin(2πK·x)` of `x` (at the CoeffsToSlots output level and scale), at the EvalMod scale.
    pub fn eval_mod(&self, x: &Ciphertext) -> Result<Ciphertext> {
        self.eval_mod.apply(&self.eval, x)
    }

    /// The scale of the CoeffsToSlots output (EvalMod's input).
    pub fn eval_scale(&self) -> f64 {
        self.eval_scale
    }

    /// The level SlotsToCoeffs starts at.
    pub fn stc_input_level(&self) -> usize {
        self.out_level + self.stc.len()
    }

    /// The scale SlotsToCoeffs expects.
    pub fn stc_input_scale(&self) -> f64 {
        self.stc_scale
    }

    /// Checks the input: a scale `2^j·Δ` with `j ≤ b` (then the message is boosted to `2^b·Δ` by the integer
    /// `2^(b−j)`), a level not above the output level. Returns `b − j`.
    fn check_input(&self, ct: &Ciphertext) -> Result<u32> {
        let delta = self.params.default_scale();
        let j = (ct.scale() / delta).log2().round();
        let exact = 2f64.powi(j as i32) * delta;
        if ((ct.scale() - exact) / exact).abs() > SCALE_TOLERANCE || j > self.boost_log as f64 || j < -60.0 {
            return Err(Error::ScaleMismatch {
                op: "bootstrap (the input scale must be the default scale times a power of two, at most the boost)",
                a: ct.scale().log2(),
                b: delta.log2(),
            });
        }
        if ct.level() > self.out_level {
            return Err(Error::Incompatible(format!(
                "bootstrapping a ciphertext at level {} would lower it to {}: bootstrap only below the output level",
                ct.level(),
                self.out_level
            )));
        }
        Ok((self.boost_log as i32 - j as i32) as u32)
    }

    /// Raises `ct` (level ≤ [`Self::output_level`], scale `2^j·Δ` for a small `j`, e.g. a halved ReLU output)
    /// to [`Self::output_level`], same message (all `N/2` complex slots), at the default scale `Δ`.
    ///
    /// The message must stay within `|m| ≤ 1` per real and imaginary part: larger values leave EvalMod's
    /// linear range (the sine bends) and cannot be detected under encryption.
    pub fn bootstrap(&self, ct: &Ciphertext) -> Result<Ciphertext> {
        self.bootstrap_timed(ct).map(|(c, _)| c)
    }

    /// [`Self::bootstrap`] with the seconds spent in each stage.
    pub fn bootstrap_timed(&self, ct: &Ciphertext) -> Result<(Ciphertext, StageSeconds)> {
        self.bootstrap_stages(ct).map(|(c, t)| (c, t.wall))
    }

    /// [`Self::bootstrap`] with the wall and CPU seconds spent in each stage.
    pub fn bootstrap_stages(&self, ct: &Ciphertext) -> Result<(Ciphertext, StageTimes)> {
        let mut times = StageTimes::default();
        let mut clock = (std::time::Instant::now(), bench::cpu_seconds());
        let mut lap = |stage: fn(&mut StageSeconds) -> &mut f64| {
            let now = (std::time::Instant::now(), bench::cpu_seconds());
            *stage(&mut times.wall) = (now.0 - clock.0).as_secs_f64();
            *stage(&mut times.cpu) = now.1 - clock.1;
            clock = now;
        };
        let e = &self.eval;
        let raised = self.raise(ct)?;
        lap(|t| &mut t.mod_raise);
        let (last, first) = self.cts.split_last().expect("at least one CoeffsToSlots layer");
        let z = self.transform(first, &raised, &vec![self.mid_scale; first.len()])?;
        let z = last.apply(e, &z)?;
        lap(|t| &mut t.coeffs_to_slots);
        // The split before the last rescale: the conjugation's key-switching noise meets a scale of about 2^128.
        let zc = e.conjugate(&z)?;
        let mut re = e.add(&z, &zc)?;
        let mut im = e.neg(&e.mul_by_i(&e.sub(&z, &zc)?));
        for part in [&mut re, &mut im] {
            e.rescale_assign(part)?;
            part.set_scale(self.eval_scale)?;
        }
        lap(|t| &mut t.split);
        let re = self.eval_mod.apply(e, &re)?;
        let im = self.eval_mod.apply(e, &im)?;
        let mut w = e.add(&re, &e.mul_by_i(&im))?;
        lap(|t| &mut t.eval_mod);
        // Value u = y·q_0/(2πΔ'): the same ciphertext read at a smaller scale.
        w.scale = self.stc_input_scale();
        let out = self.slots_to_coeffs(&w)?;
        lap(|t| &mut t.slots_to_coeffs);
        Ok((out, times))
    }
}
