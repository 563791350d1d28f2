//! The bootstrapping bench: full-slot bootstrapping of uniform random complex values in `[−1, 1]` (real and
//! imaginary parts both measured), its precision, time, key size and peak memory, as one serialisable report.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{keys, params, Bootstrapper};
use crate::ckks::{Complex, Encoder, Encryptor, Parameters, Plaintext};
use crate::error::{Error, Result};
use crate::rlwe::KeyGenerator;

/// One bootstrapping measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// `log2 N`.
    pub log_n: u32,
    /// `log2(QP)` of the parameters.
    pub log_qp: f64,
    /// Slots filled.
    pub slots: usize,
    /// Level of the input ciphertext.
    pub levels_before: usize,
    /// Level of the bootstrapped ciphertext (levels left to the circuit).
    pub levels_after: usize,
    /// `−log2` of the largest error over all real and imaginary parts.
    pub precision_bits_min: f64,
    /// `−log2` of the mean absolute error over all real and imaginary parts.
    pub precision_bits_mean: f64,
    /// Wall-clock seconds of one `bootstrap` call.
    pub seconds: f64,
    /// Rayon threads.
    pub threads: usize,
    /// Bytes of the evaluation keys bootstrapping uses.
    pub keys_bytes: usize,
    /// Peak resident memory of the process (`VmHWM` of `/proc/self/status`), bytes; 0 where unavailable.
    pub peak_rss_bytes: u64,
}

/// One line for people: `N = 2^16, log QP = 1756.0, 32768 slots: level 0 → 10, precision …`. A `log_qp` that is
/// not a number (a peer that does not expose it) prints as "not exposed".
impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let log_qp = if self.log_qp.is_finite() {
            format!("{:.1}", self.log_qp)
        } else {
            "not exposed".to_string()
        };
        write!(
            f,
            "N = 2^{}, log QP = {log_qp}, {} slots: level {} → {}, precision {:.1} bits min / {:.1} mean, {:.2} s \
             on {} threads, keys {:.2} GB, peak RSS {:.2} GB",
            self.log_n,
            self.slots,
            self.levels_before,
            self.levels_after,
            self.precision_bits_min,
            self.precision_bits_mean,
            self.seconds,
            self.threads,
            self.keys_bytes as f64 / 1e9,
            self.peak_rss_bytes as f64 / 1e9
        )
    }
}

/// User plus system CPU seconds of this process so far (`/proc/self/stat`, 100 ticks a second), 0 where
/// unavailable: a time that a busy machine does not inflate.
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// `VmHWM` of `/proc/self/status` in bytes (0 if unreadable).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

/// The preset the bench uses at `log_n`: the secure [`params::n16_full`] at 16, the insecure test preset (with
/// the same encapsulation) below.
pub fn preset_for(log_n: u32) -> Result<params::BootstrapPreset> {
    match log_n {
        16 => Ok(params::n16_full()),
        10..=15 => Ok(params::test_insecure_encapsulated(log_n, 10, 32)),
        _ => Err(Error::InvalidParameters(format!(
            "bootstrap bench runs at log N = 10..=16, not {log_n}"
        ))),
    }
}

/// Precision in bits (`−log2` of the max and of the mean absolute error) of `got` against `want`, real and
/// imaginary parts counted separately.
pub fn precision_bits(got: &[Complex], want: &[Complex]) -> (f64, f64) {
    let errs: Vec<f64> = got
        .iter()
        .zip(want)
        .flat_map(|(a, b)| [(a.re - b.re).abs(), (a.im - b.im).abs()])
        .collect();
    let max = errs.iter().fold(0f64, |m, &e| m.max(e));
    let mean = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
    (-max.log2(), -mean.log2())
}

/// Bootstraps one ciphertext of `slots` uniform random complex values in `[−1, 1]` at `N = 2^log_n` and
/// reports. `slots` (a power of two up to `N/2`, the default) below `N/2` is sparse packing: the values are
/// replicated over the `N/2` slots and the preset's transforms shrink to `slots` points.
pub fn bench(log_n: u32, slots: Option<usize>, seed: u64) -> Result<BenchReport> {
    bench_preset(preset_for(log_n)?, slots, seed)
}

/// [`bench`] with a given (full-slot) preset.
pub fn bench_preset(full: params::BootstrapPreset, slots: Option<usize>, seed: u64) -> Result<BenchReport> {
    bench_preset_with(full, slots, seed, STORED_KEYS)
}

/// Whether the bench (and [`keys::generate`]'s callers that follow it) store the rotation keys' masks rather
/// than regenerating them at each use.
pub const STORED_KEYS: bool = true;

/// [`bench_preset`], choosing stored (`true`) or compressed rotation keys.
pub fn bench_preset_with(
    full: params::BootstrapPreset,
    slots: Option<usize>,
    seed: u64,
    stored_keys: bool,
) -> Result<BenchReport> {
    let log_n = full.literal.log_n;
    let slots = slots.unwrap_or(1 << (log_n - 1));
    if !slots.is_power_of_two() || slots > 1 << (log_n - 1) || slots < 2 {
        return Err(Error::InvalidParameters(format!(
            "slots must be a power of two from 2 to N/2 = {}, not {slots}",
            1 << (log_n - 1)
        )));
    }
    let preset = if slots == 1 << (log_n - 1) {
        full
    } else {
        params::sparse(full, slots.trailing_zeros())
    };
    let params = Arc::new(Parameters::new(preset.literal.clone())?);
    let encoder = Arc::new(Encoder::new(params.n()));
    let mut kg = KeyGenerator::with_seed(params.clone(), seed);
    let sk = kg.secret_key();
    let boot_keys = keys::generate_with(&mut kg, &sk, &params, &preset.boot, &[], !stored_keys)?;
    let keys_bytes = boot_keys.bytes();
    let boot = Bootstrapper::new(params.clone(), encoder.clone(), preset.boot.clone(), boot_keys)?;
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut uniform = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let values: Vec<Complex> = (0..slots)
        .map(|_| Complex {
            re: uniform(),
            im: uniform(),
        })
        .collect();
    let replicated: Vec<Complex> = (0..params.slots()).map(|j| values[j % slots]).collect();
    let poly = encoder.encode(params.ring(), &replicated, 0, params.default_scale())?;
    let pt = Plaintext {
        poly,
        scale: params.default_scale(),
    };
    let mut enc = Encryptor::with_seed(params.clone(), encoder.clone(), seed ^ 0x5555);
    let ct = enc.encrypt_sk(&pt, &sk);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let (out, stages) = boot.bootstrap_stages(&ct)?;
    let seconds = start.elapsed().as_secs_f64();
    if std::env::var_os("PANN_BOOTSTRAP_STAGES").is_some() {
        let line = |s: &super::StageSeconds| {
            format!(
                "raise {:.2}, CtS {:.2}, split {:.2}, EvalMod {:.2}, StC {:.2}",
                s.mod_raise, s.coeffs_to_slots, s.split, s.eval_mod, s.slots_to_coeffs
            )
        };
        eprintln!(
            "stages wall (s): {}\nstages CPU (s): {}\nwall {seconds:.2} s; CPU {:.2} s; plan {:.2} GB",
            line(&stages.wall),
            line(&stages.cpu),
            cpu_seconds() - cpu0,
            boot.plan_bytes() as f64 / 1e9
        );
    }
    let dec = crate::ckks::Decryptor::new(params.clone(), encoder.clone(), sk);
    let got = dec.decrypt_complex(&out)?;
    // Every copy of every value is measured.
    let (min, mean) = precision_bits(&got, &replicated);
    Ok(BenchReport {
        log_n,
        log_qp: params.log_qp(),
        slots,
        levels_before: ct.level(),
        levels_after: out.level(),
        precision_bits_min: min,
        precision_bits_mean: mean,
        seconds,
        threads: rayon::current_num_threads(),
        keys_bytes,
        peak_rss_bytes: peak_rss_bytes(),
    })
}
