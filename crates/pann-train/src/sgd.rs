//! SGD with momentum, Nesterov and decoupled-by-choice weight decay, with its state exposed.
//!
//! tch's built-in optimiser keeps its momentum buffers inside libtorch where they cannot be
//! saved, and a resumed run without them is not the run that was interrupted; so this is the
//! update of PyTorch's `torch.optim.SGD` (dampening 0) written out in tensor ops:
//!
//! ```text
//! g ← ∇w + wd·w            (only for decayed parameters)
//! b ← μ·b + g              (b starts at 0, so the first step gives b = g, as in PyTorch)
//! d ← g + μ·b  (Nesterov)  or  d ← b
//! w ← w − lr·d
//! ```
//!
//! Which parameters are decayed: conv and linear weights (tensors of rank ≥ 2); BN weights and
//! biases and all biases too only with `decay_bn_bias` — decaying BN scales mostly shrinks
//! them for no regularising effect (the next layer's BN undoes it), and small PANN inputs
//! matter more than that.

use std::collections::BTreeMap;

use tch::{nn::VarStore, Tensor};

use crate::error::{Error, Result};

struct Param {
    name: String,
    var: Tensor,
    decay: bool,
    buffer: Tensor,
}

/// The optimiser over the trainable variables of a `VarStore`, in name order.
pub struct Sgd {
    params: Vec<Param>,
    momentum: f64,
    nesterov: bool,
    wd: f64,
}

impl Sgd {
    /// An optimiser over the trainable variables of `vs` with zero momentum buffers.
    pub fn new(vs: &VarStore, momentum: f64, nesterov: bool, wd: f64, decay_bn_bias: bool) -> Result<Self> {
        let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let mut params = Vec::new();
        for (name, var) in vars {
            if !var.requires_grad() {
                continue;
            }
            let decay = decay_bn_bias || var.dim() >= 2;
            let buffer = tch::no_grad(|| var.f_zeros_like())?;
            params.push(Param {
                name,
                var,
                decay,
                buffer,
            });
        }
        Ok(Self {
            params,
            momentum,
            nesterov,
            wd,
        })
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.var.zero_grad();
        }
    }

    /// One update with learning rate `lr` from the current gradients.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                let mut g = p.var.grad();
                if !g.defined() {
                    continue;
                }
                if p.decay && self.wd != 0.0 {
                    g = g.f_add(&p.var.f_mul_scalar(self.wd)?)?;
                }
                let d = if self.momentum != 0.0 {
                    let _ = p.buffer.f_mul_scalar_(self.momentum)?.f_add_(&g)?;
                    if self.nesterov {
                        g.f_add(&p.buffer.f_mul_scalar(self.momentum)?)?
                    } else {
                        p.buffer.shallow_clone()
                    }
                } else {
                    g
                };
                let _ = p.var.f_sub_(&d.f_mul_scalar(lr)?)?;
            }
            Ok(())
        })
    }

    /// Parameter names whose gradient gets weight decay.
    pub fn decayed(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| p.decay)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// The momentum buffers by parameter name.
    pub fn buffers(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.params.iter().map(|p| (p.name.as_str(), &p.buffer))
    }

    /// Replaces the momentum buffers; `buffers` must hold one tensor of the right shape per
    /// parameter (`what` names the source for the error).
    pub fn load_buffers(&mut self, buffers: &BTreeMap<String, Tensor>, what: &str) -> Result<()> {
        for p in &self.params {
            match buffers.get(&p.name) {
                Some(b) if b.size() == p.buffer.size() => {}
                Some(b) => {
                    return Err(Error::BadConfig(format!(
                        "{what}: momentum buffer `{}` has shape {:?}, the parameter {:?}",
                        p.name,
                        b.size(),
                        p.buffer.size()
                    )))
                }
                None => return Err(Error::BadConfig(format!("{what}: no momentum buffer for `{}`", p.name))),
            }
        }
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                p.buffer.f_copy_(&buffers[&p.name])?;
            }
            Ok(())
        })
    }
}
