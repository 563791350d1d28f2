//! Weight averaging of several snapshots of one network (stochastic weight averaging,
//! Izmailov et al. 2018).
//!
//! Why: snapshots taken along a training trajectory at a constant learning rate sit around a
//! wide optimum; their average lies nearer its centre and usually generalises better than any
//! single one. The average of BatchNorm running statistics is not the statistics of the
//! averaged network, so an average is always followed by
//! [`crate::bn_recalibration::recalibrate_batch_norm`].

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::models::Model;

/// The parameter-wise mean of the models in `paths` (all of one architecture, as
/// [`Model::load`] infers it). Running statistics are averaged too, as placeholders.
pub fn average_models(paths: &[PathBuf]) -> Result<Model> {
    let (first, rest) = paths
        .split_first()
        .ok_or_else(|| Error::BadInput("weight averaging needs at least one model".into()))?;
    let avg = Model::load(first)?;
    let vars = avg.var_store().variables();
    for path in rest {
        let m = Model::load(path)?;
        if m.architecture() != avg.architecture() {
            return Err(Error::BadInput(format!(
                "{}: {} with {} classes cannot be averaged with {} ({} with {} classes)",
                path.display(),
                m.architecture(),
                m.architecture().num_classes(),
                first.display(),
                avg.architecture(),
                avg.architecture().num_classes()
            )));
        }
        let other = m.var_store().variables();
        tch::no_grad(|| -> Result<()> {
            for (name, t) in &vars {
                let _ = t.shallow_clone().f_add_(&other[name])?;
            }
            Ok(())
        })?;
    }
    let n = paths.len() as f64;
    tch::no_grad(|| -> Result<()> {
        for t in vars.values() {
            let _ = t.shallow_clone().f_div_scalar_(n)?;
        }
        Ok(())
    })?;
    Ok(avg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Architecture;

    #[test]
    fn mean_of_three_and_mismatch_refused() {
        let dir = tempfile::tempdir().unwrap();
        let arch = Architecture::SmallCnn {
            c1: 2,
            c2: 3,
            num_classes: 2,
        };
        let paths: Vec<PathBuf> = (0..3)
            .map(|i| {
                tch::manual_seed(i);
                let p = dir.path().join(format!("m{i}.safetensors"));
                Model::new(arch).unwrap().save(&p).unwrap();
                p
            })
            .collect();
        let avg = average_models(&paths).unwrap();
        let w: Vec<tch::Tensor> = paths
            .iter()
            .map(|p| Model::load(p).unwrap().var_store().variables()["conv1.weight"].copy())
            .collect();
        let want = (&w[0] + &w[1] + &w[2]) / 3.0;
        let got = avg.var_store().variables()["conv1.weight"].copy();
        assert!(f64::try_from((got - want).abs().max()).unwrap() < 1e-6);

        let other = dir.path().join("other.safetensors");
        Model::new(Architecture::SmallCnn {
            c1: 2,
            c2: 4,
            num_classes: 2,
        })
        .unwrap()
        .save(&other)
        .unwrap();
        let Err(e) = average_models(&[paths[0].clone(), other]) else {
            panic!("models of two architectures were averaged")
        };
        assert!(
            e.to_string().contains("other.safetensors") && e.to_string().contains("cannot be averaged"),
            "{e}"
        );
        assert!(average_models(&[]).is_err());
    }
}
