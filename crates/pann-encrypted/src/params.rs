//! The CKKS parameter choice: as many levels as the cost model of `pann eval` charges the network, on the
//! smallest 128-bit secure ring that holds them and the network's slot layout; for a network deeper than any
//! ring (a ResNet), pann-he's bootstrapping preset at `N = 2^16`, the bootstraps placed by pann-he's planner.

use std::sync::Arc;

use pann_approx::CompositeSign;
use pann_he::bootstrap::{params as boot_params, BootstrapPreset};
use pann_he::ckks::{presets, Parameters, ParametersLiteral};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::network::Network;

/// Levels the network needs without bootstrapping: the depth `pann_eval::depth` charges it with these per-site
/// ReLU depths.
pub fn levels_needed(net: &Network, relu_depths: &[u32]) -> usize {
    // The networks here have no max-pools: their depth does not enter.
    pann_eval::depth::network_depth_per_site(net.architecture(), relu_depths, 0) as usize
}

/// Levels the network needs without bootstrapping at a uniform approximation.
pub fn levels_needed_uniform(net: &Network, sign: &CompositeSign) -> usize {
    levels_needed(net, &vec![sign.relu_depth(); net.relu_layers()])
}

/// The bootstrapping preset: pann-he's 128-bit `N = 2^16` set, or (tests only) its insecure small ring with
/// room for the deepest ReLU and a linear layer between bootstraps.
pub fn bootstrap_preset(config: &crate::EncryptedInferenceConfig, relu_depths: &[u32]) -> BootstrapPreset {
    match config.insecure_bootstrap_log_n {
        Some(log_n) => {
            let deepest = relu_depths.iter().copied().max().unwrap_or(1) as usize;
            boot_params::test_insecure_encapsulated(log_n, deepest + 2, 32)
        }
        None => boot_params::n16_full(),
    }
}

/// Parameters from a literal (a preset's).
pub fn from_literal(lit: ParametersLiteral) -> Result<Arc<Parameters>> {
    Ok(Arc::new(Parameters::new(lit)?))
}

/// The smallest secure parameter set with `levels` levels of `log_scale` bits whose slots hold `net`.
pub fn choose(net: &Network, levels: usize, log_scale: u32) -> Result<Arc<Parameters>> {
    let lit =
        presets::for_levels(net.min_log_n(), levels, log_scale).ok_or(Error::NoParameters { levels, log_scale })?;
    // The preset fixes everything but the scale, so a refused parameter set is the scale's doing.
    let params = Parameters::new(lit).map_err(|e| Error::config("log_scale", format!("{log_scale}: {e}")))?;
    Ok(Arc::new(params))
}

/// A parameter set as the reports print it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamsSummary {
    /// `log2 N`.
    pub log_n: u32,
    /// `log2` of the whole modulus `Q·P`, to 0.1 bit.
    pub log_qp: f64,
    /// Multiplicative levels.
    pub levels: usize,
    /// `log2` of the default scale.
    pub log_scale: u32,
    /// Bit sizes of the ciphertext primes.
    pub q_bits: Vec<u32>,
    /// Bit sizes of the key-switching primes.
    pub p_bits: Vec<u32>,
    /// Key-switching digits.
    pub digits: usize,
    /// The largest `log2 QP` of 128-bit security for this `N` (HE Standard).
    pub max_log_qp_128: Option<u32>,
}

impl ParamsSummary {
    /// The summary of `p`.
    pub fn of(p: &Parameters) -> Self {
        Self {
            log_n: p.log_n(),
            log_qp: (p.log_qp() * 10.0).round() / 10.0,
            levels: p.max_level(),
            log_scale: p.literal().log_scale,
            q_bits: p.literal().log_q.clone(),
            p_bits: p.literal().log_p.clone(),
            digits: p.digit_count(),
            max_log_qp_128: pann_he::ckks::params::max_log_qp_128(p.log_n()),
        }
    }
}

/// A named preset and its summary (`pann he params`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preset {
    /// The preset's name in `pann_he::ckks::presets`.
    pub name: &'static str,
    /// Its parameters.
    #[serde(flatten)]
    pub params: ParamsSummary,
}

/// The secure presets of pann-he, smallest ring first.
pub fn presets() -> Result<Vec<Preset>> {
    let sets: [(&str, ParametersLiteral); 3] = [
        ("pn14_qp400", presets::pn14_qp400()),
        ("pn15_qp881", presets::pn15_qp881()),
        ("pn16_qp1500", presets::pn16_qp1500()),
    ];
    sets.into_iter()
        .map(|(name, lit)| {
            Ok(Preset {
                name,
                params: ParamsSummary::of(&Parameters::new(lit)?),
            })
        })
        .collect()
}

/// A named bootstrapping preset and what it costs (`pann he params`): levels consumed by bootstrapping, levels
/// left to the circuit, key bytes, computed from the primes and the plan without generating a key.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BootstrapRow {
    /// The preset's name (`pann_he::bootstrap::params`).
    pub name: &'static str,
    /// Its cost summary.
    #[serde(flatten)]
    pub summary: boot_params::PresetSummary,
}

/// pann-he's bootstrapping presets at `N = 2^16`: full slots, sparse packing with 2^12 slots (cheaper
/// transforms, fewer rotation keys), both with sparse-secret encapsulation, and the dense-secret set without it
/// (for comparison).
pub fn bootstrap_presets() -> Result<Vec<BootstrapRow>> {
    let sets = [
        ("n16_full", boot_params::n16_full()),
        ("n16_sparse_4096", boot_params::sparse(boot_params::n16_full(), 12)),
        ("n16_dense", boot_params::n16_dense()),
    ];
    sets.into_iter()
        .map(|(name, preset)| {
            Ok(BootstrapRow {
                name,
                summary: boot_params::summary(&preset)?,
            })
        })
        .collect()
}
