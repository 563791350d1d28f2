//! Which perturbations of the ReLU outputs hurt (issue 5, analysis 2; Zhang et al.'s "susceptible to some types
//! of perturbation" and "negative-input leakage", measured).
//!
//! For each error size δ, the exact network gets `ReLU(x) + s·m(x)` at every ReLU site, for every combination of
//! region (negative inputs only, positive only, all), sign (random ±1, constant +1) and size (`δ·|x|`, `δ`).

use crate::error::Result;
use crate::run::{run, Progress};
use pann_data::{Dataset, Normalization};
use pann_nn::{Activation, Activations, Magnitude, Model, Perturbation, Region, SignMode};
use serde::Serialize;

/// One measured configuration.
#[derive(Clone, Debug, Serialize)]
pub struct PerturbRow {
    /// `negative`, `positive` or `all`.
    pub region: &'static str,
    /// `random` or `constant`.
    pub sign: &'static str,
    /// `proportional` (δ·|x|) or `constant` (δ).
    pub magnitude: &'static str,
    /// δ.
    pub delta: f64,
    /// Top-1 accuracy in `[0, 1]`.
    pub accuracy: f64,
}

/// All region × sign × size configurations for every δ, plus the unperturbed accuracy (δ = 0 rows).
pub fn perturbation_sweep(
    model: &Model,
    data: &Dataset,
    norm: &Normalization,
    deltas: &[f64],
    batch: usize,
    seed: u64,
    progress: &mut dyn Progress,
) -> Result<Vec<PerturbRow>> {
    let regions = [
        (Region::Negative, "negative"),
        (Region::Positive, "positive"),
        (Region::All, "all"),
    ];
    let signs = [(SignMode::Random, "random"), (SignMode::Constant, "constant")];
    let sizes = [
        (Magnitude::Proportional, "proportional"),
        (Magnitude::Constant, "constant"),
    ];
    let n = model.relu_sites().len();
    let mut rows = Vec::new();
    for &(magnitude, mname) in &sizes {
        for &(region, rname) in &regions {
            for &(sign, sname) in &signs {
                for &delta in deltas {
                    let p = Perturbation {
                        region,
                        sign,
                        magnitude,
                        delta,
                        seed,
                    };
                    let acts = Activations {
                        relu: vec![Activation::Perturbed(p); n],
                        pool: vec![Default::default(); model.pool_sites().len()],
                    };
                    let label = format!("{rname}/{sname}/{mname} δ={delta}");
                    let out = run(model, data, norm, &acts, batch, false, &label, progress)?;
                    rows.push(PerturbRow {
                        region: rname,
                        sign: sname,
                        magnitude: mname,
                        delta,
                        accuracy: out.accuracy(),
                    });
                }
            }
        }
    }
    Ok(rows)
}
