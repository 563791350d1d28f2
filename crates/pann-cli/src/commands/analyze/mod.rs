//! `pann analyze …`: the analyses behind the paper's findings, each writing CSV/JSON and an SVG plot (or, for
//! the headline, Markdown).

mod headline;
mod layerwise;
mod perturb;
mod precision;
mod profile;

use crate::commands::card::{self, DataChoice, DataFlags};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use pann_data::{Dataset, Split};
use pann_nn::Model;
use std::path::{Path, PathBuf};

/// Arguments of `pann analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    #[command(subcommand)]
    what: Analysis,
}

#[derive(Subcommand, Debug)]
enum Analysis {
    /// Accuracy of the exact network with ReLU outputs perturbed on negative / positive / all inputs, random or
    /// constant sign, size δ·|x| or δ.
    Perturb(perturb::PerturbArgs),
    /// Accuracy against α for several models and range rules (Lee's global B, per-layer calibration, with or
    /// without the mean-leak correction), with the network depth of each α.
    Precision(precision::PrecisionArgs),
    /// What each model's ReLUs see: fraction of negative inputs, |x| quantiles, the share of inputs in each α's
    /// poorly approximated zone |x| < ε_α·B, logit margins (the weight-decay analysis).
    Profile(profile::ProfileArgs),
    /// The cheapest per-layer α assignment within a tolerance of exact accuracy (greedy), against a uniform α.
    Layerwise(layerwise::LayerwiseArgs),
    /// The headline table (results/headline.md): Lee et al.'s method on conventional models against pann's
    /// recipe at α = 6..14, and the paper's claims checked on it.
    Headline(headline::HeadlineArgs),
}

/// Runs `pann analyze`.
pub fn run(args: AnalyzeArgs) -> Result<()> {
    match args.what {
        Analysis::Perturb(a) => perturb::run(a),
        Analysis::Precision(a) => precision::run(a),
        Analysis::Profile(a) => profile::run(a),
        Analysis::Layerwise(a) => layerwise::run(a),
        Analysis::Headline(a) => headline::run(a),
    }
}

/// A model named on the command line: `LABEL=PATH`, or `PATH` (labelled by its file stem, or by its directory
/// for a `model.safetensors` inside a run directory).
#[derive(Clone, Debug)]
pub(crate) struct ModelSpec {
    pub label: String,
    pub path: PathBuf,
}

impl std::str::FromStr for ModelSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (label, path) = match s.split_once('=') {
            Some((l, p)) if !l.is_empty() && !p.is_empty() => (l.to_string(), PathBuf::from(p)),
            Some(_) => bail!("--model '{s}': expected LABEL=PATH or PATH"),
            None => {
                let path = PathBuf::from(s);
                let stem = path.file_stem().and_then(|x| x.to_str()).unwrap_or(s);
                let label = if stem == "model" {
                    path.parent()
                        .and_then(|d| d.file_name())
                        .and_then(|x| x.to_str())
                        .unwrap_or(stem)
                        .to_string()
                } else {
                    stem.to_string()
                };
                (label, path)
            }
        };
        Ok(Self { label, path })
    }
}

/// The models of `specs`, or the bundled ResNet-20 when there are none (an error saying what to set when
/// it cannot be found).
///
/// Labels must be distinct: they name the rows of the CSV and the series of the plot, where two
/// models under one label could not be told apart.
pub(crate) fn models_or_bundled(specs: &[ModelSpec]) -> Result<Vec<ModelSpec>> {
    if specs.is_empty() {
        let path = crate::commands::eval::bundled_model()?;
        card::check_model_file(&path, false)?;
        return Ok(vec![ModelSpec {
            label: "akamaster".into(),
            path,
        }]);
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(s) = specs.iter().find(|s| !seen.insert(s.label.as_str())) {
        bail!(
            "--model: label '{}' is given twice (write --model LABEL=PATH to tell them apart)",
            s.label
        );
    }
    Ok(specs.to_vec())
}

/// The data set flags shared by the analyses.
///
/// One data set and normalisation serve every model of an analysis, so a model card does not choose
/// them here: each model's card is checked against them instead ([`DataArgs::load_model`]).
#[derive(Args, Debug, Clone)]
pub(crate) struct DataArgs {
    #[command(flatten)]
    flags: DataFlags,
    /// Training images for calibrated bounds and the mean-leak correction.
    #[arg(long, default_value_t = 5000)]
    calib_images: usize,
    /// Images per batch.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[command(flatten)]
    layout: crate::layout::LayoutArgs,
}

impl DataArgs {
    /// The data set, its directory and the normalisation (`--norm`, else imagenet).
    fn choice(&self) -> Result<DataChoice> {
        card::resolve_data(&self.flags, &[])
    }

    /// The data set, for reports: its layout and directory (and the networks' memory layout if not NCHW).
    pub fn describe(&self) -> String {
        let layout = if self.layout.channels_last() {
            ", networks run channels-last"
        } else {
            ""
        };
        match self.choice() {
            Ok(c) => format!("{:?} at {}{layout}", c.kind, c.dir.display()),
            Err(e) => format!("(no data: {e:#}){layout}"),
        }
    }

    /// Loads a model, naming the file in the error, in the memory layout of `--nchw` (default channels-last); refused when
    /// its card names another data set or normalisation than the analysis runs on (see [`card::check_card`]).
    pub fn load_model(&self, path: &Path) -> Result<Model> {
        let model_card = card::read_card(path)?;
        card::check_card(&self.flags, path, model_card.as_ref(), &self.choice()?)?;
        let mut model =
            card::load_model(path, None, model_card.as_ref()).with_context(|| format!("model {}", path.display()))?;
        model.set_channels_last(self.layout.channels_last());
        Ok(model)
    }

    /// Refuses an `--images` count of 0, by name, before any file is read.
    pub fn check_images(limit: Option<usize>) -> Result<()> {
        if limit == Some(0) {
            bail!("--images must be at least 1");
        }
        Ok(())
    }

    /// The first `limit` test images.
    pub fn test(&self, limit: Option<usize>) -> Result<Dataset> {
        Self::check_images(limit)?;
        let c = self.choice()?;
        Ok(pann_data::load(c.kind, &c.dir, Split::Test, limit)?)
    }

    /// The calibration images (the first `--calib-images` training images).
    pub fn calib(&self) -> Result<Dataset> {
        if self.calib_images == 0 {
            bail!("--calib-images must be at least 1");
        }
        let c = self.choice()?;
        Ok(pann_data::load(c.kind, &c.dir, Split::Train, Some(self.calib_images))?)
    }

    pub fn norm(&self) -> Result<pann_data::Normalization> {
        Ok(self.choice()?.norm)
    }

    pub fn batch(&self) -> Result<usize> {
        if self.batch == 0 {
            bail!("--batch must be at least 1");
        }
        Ok(self.batch)
    }
}

/// Writes `text` to `dir/name`, creating `dir`.
pub(crate) fn write_out(dir: &Path, name: &str, text: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let p = dir.join(name);
    std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_take_a_label_or_derive_one() {
        let s: ModelSpec = "wd0=results/train/wd-0/model.safetensors".parse().unwrap();
        assert_eq!(s.label, "wd0");
        let s: ModelSpec = "results/train/wd-0/model.safetensors".parse().unwrap();
        assert_eq!(s.label, "wd-0");
        let s: ModelSpec = "models/resnet20-pann.safetensors".parse().unwrap();
        assert_eq!(s.label, "resnet20-pann");
        assert!("=x".parse::<ModelSpec>().is_err());
        assert!("x=".parse::<ModelSpec>().is_err());
    }
}
