//! Running the activation sites of a forward pass: the chosen activation, its statistics, and
//! an optional hook.
//!
//! A [`ForwardCtx`] is built once for a model and an [`Activations`] plan (the polynomials are
//! checked then, not per batch) and is passed to every [`crate::Model::forward`] call; it
//! accumulates [`ForwardStats`] over the calls. Exact and polynomial ReLU run through the
//! fused kernels of [`crate::kernel`] in place on the layer's output, which the model owns, so
//! no extra copy is made; the polynomial max-pool reads its input once (an NCHW copy of a
//! channels-last one) and writes a new, smaller tensor in the input's layout. The statistics
//! come out of the same pass.
//!
//! A [`SiteHook`] sees each site's input tensor before the activation, for statistics the
//! built-in ones do not cover (histograms, percentiles).

use tch::{Device, Kind, Tensor};

use crate::activation::{Activation, Activations, PoolActivation};
use crate::error::{Error, Result};
use crate::kernel::{self, PoolPlane};
use crate::poly::{Composite, OverflowPolicy};
use crate::stats::{ForwardStats, SiteStats};
use crate::Model;

/// Sees the input of every activation site before the activation runs.
///
/// A ReLU input is overwritten in place by the activation right after the call: a hook that
/// keeps it must keep `x.copy()`, not a shallow clone.
pub trait SiteHook {
    /// Input `x` of ReLU site `site` (named `name`).
    fn relu_input(&mut self, site: usize, name: &str, x: &Tensor) -> Result<()> {
        let _ = (site, name, x);
        Ok(())
    }
    /// Input `x` of max-pool site `site` (named `name`).
    fn pool_input(&mut self, site: usize, name: &str, x: &Tensor) -> Result<()> {
        let _ = (site, name, x);
        Ok(())
    }
}

/// A ReLU site's activation, checked.
pub(crate) enum PreparedRelu {
    Exact,
    Perturbed(crate::perturb::Perturbation),
    Poly {
        p: Composite,
        arg: kernel::ReluArg,
        overflow: OverflowPolicy,
        offsets: Vec<f64>,
    },
}

/// A max-pool site's activation, checked for its window.
pub(crate) enum PreparedPool {
    Exact,
    Poly {
        p: Composite,
        divisors: Vec<f64>,
        overflow: OverflowPolicy,
    },
}

impl PreparedRelu {
    pub(crate) fn new(a: &Activation) -> Result<Self> {
        Ok(match a {
            Activation::Exact => Self::Exact,
            Activation::Perturbed(q) => Self::Perturbed(*q),
            Activation::Poly(r) => Self::Poly {
                p: r.prepare()?,
                arg: kernel::ReluArg::of(r),
                overflow: r.overflow,
                offsets: r.offsets.clone(),
            },
        })
    }

    fn policy(&self) -> Option<OverflowPolicy> {
        match self {
            Self::Exact | Self::Perturbed(_) => None,
            Self::Poly { overflow, .. } => Some(*overflow),
        }
    }
}

impl PreparedPool {
    pub(crate) fn new(a: &PoolActivation, k: i64) -> Result<Self> {
        Ok(match a {
            PoolActivation::Exact => Self::Exact,
            PoolActivation::Poly(m) => Self::Poly {
                p: m.prepare((k * k) as usize)?,
                divisors: m.divisors.clone(),
                overflow: m.overflow,
            },
        })
    }

    fn policy(&self) -> Option<OverflowPolicy> {
        match self {
            Self::Exact => None,
            Self::Poly { overflow, .. } => Some(*overflow),
        }
    }
}

/// State of forward passes of one model under one activation plan.
pub struct ForwardCtx<'a> {
    model: &'a Model,
    relu: Vec<PreparedRelu>,
    pool: Vec<PreparedPool>,
    stats: ForwardStats,
    hook: Option<&'a mut dyn SiteHook>,
}

impl<'a> ForwardCtx<'a> {
    /// Checks `acts` against `model` (one entry per site, valid polynomials, enough max-pool
    /// divisors for each window).
    pub fn new(model: &'a Model, acts: &Activations) -> Result<Self> {
        let (nr, np) = (model.relu_sites().len(), model.pool_sites().len());
        if acts.relu.len() != nr || acts.pool.len() != np {
            return Err(Error::BadActivation(format!(
                "{} has {nr} ReLU and {np} max-pool sites, the plan has {} and {}",
                model.architecture(),
                acts.relu.len(),
                acts.pool.len()
            )));
        }
        let relu = acts
            .relu
            .iter()
            .zip(model.relu_sites())
            .map(|(a, name)| PreparedRelu::new(a).map_err(|e| at_site(e, name)))
            .collect::<Result<_>>()?;
        let pool = acts
            .pool
            .iter()
            .zip(model.pool_sites())
            .zip(model.pool_windows())
            .map(|((a, name), &k)| PreparedPool::new(a, k).map_err(|e| at_site(e, name)))
            .collect::<Result<_>>()?;
        Ok(Self {
            model,
            relu,
            pool,
            stats: ForwardStats::new(nr, np),
            hook: None,
        })
    }

    /// Calls `hook` with the input of every site from now on.
    pub fn with_hook(mut self, hook: &'a mut dyn SiteHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Statistics accumulated so far.
    pub fn stats(&self) -> &ForwardStats {
        &self.stats
    }

    /// Returns the statistics accumulated so far and starts again from zero.
    pub fn take_stats(&mut self) -> ForwardStats {
        let fresh = ForwardStats::new(self.relu.len(), self.pool.len());
        std::mem::replace(&mut self.stats, fresh)
    }

    pub(crate) fn is_for(&self, model: &Model) -> bool {
        std::ptr::eq(self.model, model)
    }

    /// Applies ReLU site `site` to `x`, which the caller gives up (it is overwritten).
    pub(crate) fn relu(&mut self, site: usize, x: Tensor) -> Result<Tensor> {
        let name = &self.model.relu_sites()[site];
        if let Some(hook) = self.hook.as_deref_mut() {
            hook.relu_input(site, name, &x)?;
        }
        let prepared = &self.relu[site];
        let (y, st) = relu_in_place(x, prepared)?;
        self.stats.relu[site].merge(&st);
        check_overflow(prepared.policy(), &st, name)?;
        Ok(y)
    }

    /// Applies max-pool site `site` (window and stride `k`) to `x`.
    pub(crate) fn max_pool(&mut self, site: usize, x: &Tensor, k: i64) -> Result<Tensor> {
        let name = &self.model.pool_sites()[site];
        if let Some(hook) = self.hook.as_deref_mut() {
            hook.pool_input(site, name, x)?;
        }
        let prepared = &self.pool[site];
        let (y, st) = max_pool(x, k, prepared)?;
        self.stats.pool[site].merge(&st);
        check_overflow(prepared.policy(), &st, name)?;
        Ok(y)
    }
}

fn at_site(e: Error, name: &str) -> Error {
    match e {
        Error::BadActivation(m) => Error::BadActivation(format!("site `{name}`: {m}")),
        other => other,
    }
}

fn check_overflow(policy: Option<OverflowPolicy>, st: &SiteStats, name: &str) -> Result<()> {
    if policy == Some(OverflowPolicy::Error) && st.overflows > 0 {
        return Err(Error::Overflow {
            site: name.to_string(),
            count: st.overflows,
            max_ratio: st.max_ratio,
            max_abs: st.max_abs,
        });
    }
    Ok(())
}

/// Applies a ReLU-site activation to a copy of `x`; returns the result and its statistics.
///
/// The overflow policy `Error` turns overflows into [`Error::Overflow`] (site `"input"`).
/// Inside a model, [`crate::Model::forward`] does the same without the copy.
pub fn apply_relu(x: &Tensor, act: &Activation) -> Result<(Tensor, SiteStats)> {
    let prepared = PreparedRelu::new(act)?;
    let (y, st) = relu_in_place(x.to_kind(Kind::Float).copy(), &prepared)?;
    check_overflow(prepared.policy(), &st, "input")?;
    Ok((y, st))
}

/// Applies a `k×k`, stride-`k` max-pool activation to `x` (`[N, C, H, W]`).
pub fn apply_max_pool(x: &Tensor, k: i64, act: &PoolActivation) -> Result<(Tensor, SiteStats)> {
    if k < 1 {
        return Err(Error::BadInput(format!("max-pool window {k}")));
    }
    let prepared = PreparedPool::new(act, k)?;
    let (y, st) = max_pool(x, k, &prepared)?;
    check_overflow(prepared.policy(), &st, "input")?;
    Ok((y, st))
}

fn relu_in_place(x: Tensor, act: &PreparedRelu) -> Result<(Tensor, SiteStats)> {
    if x.requires_grad() {
        // Autograd must see the op: exact ReLU through libtorch, polynomials not at all.
        return match act {
            PreparedRelu::Exact => {
                let st = SiteStats {
                    elements: x.numel() as u64,
                    ..SiteStats::default()
                };
                Ok((x.f_relu()?, st))
            }
            PreparedRelu::Poly { .. } | PreparedRelu::Perturbed(_) => Err(Error::BadInput(
                "polynomial and perturbed activations run outside autograd; call the model inside tch::no_grad".into(),
            )),
        };
    }
    // Values in memory order, NCHW or channels-last alike: every activation here is element-wise
    // (channel offsets follow the layout), so a channels-last layer output stays channels-last.
    let mut x = cpu_f32_dense(x)?;
    let offsets = match act {
        PreparedRelu::Poly { offsets, .. } if !offsets.is_empty() => {
            let (c, plane) = channel_layout(&x);
            if c != offsets.len() {
                return Err(Error::BadActivation(format!(
                    "{} ReLU offsets for an input of shape {:?} ({c} channels)",
                    offsets.len(),
                    x.size()
                )));
            }
            kernel::ChannelOffsets::new(offsets, plane, x.numel())?
        }
        _ => None,
    };
    let st = {
        // SAFETY: `x` is a dense (NCHW or channels-last) CPU f32 tensor we own, and nothing
        // else reads or writes its storage while the slice lives.
        let v = unsafe { f32_slice_mut(&mut x) };
        match act {
            PreparedRelu::Exact => kernel::relu_exact(v),
            PreparedRelu::Perturbed(q) => SiteStats {
                elements: v.len() as u64,
                max_abs: q.apply_slice(v),
                ..SiteStats::default()
            },
            PreparedRelu::Poly { p, arg, .. } => kernel::relu_poly(v, p, *arg, offsets),
        }
    };
    Ok((x, st))
}

/// Channels and run length of a dense tensor `[N, C, …]` in memory order: `(C, plane)` such that
/// value `i` of its buffer is in channel `(i / plane) % C`. NCHW-contiguous: `plane` is the product
/// of the dimensions after `C`; channels-last (NHWC in memory): the channel changes with every
/// value, `plane = 1`. A tensor of fewer than two dimensions is one channel.
pub(crate) fn channel_layout(x: &Tensor) -> (usize, usize) {
    let size = x.size();
    if size.len() < 2 {
        return (1, (x.numel()).max(1));
    }
    if !x.is_contiguous() && crate::tensor::is_channels_last(x) {
        return (size[1].max(0) as usize, 1);
    }
    let plane: i64 = size[2..].iter().product();
    (size[1].max(0) as usize, plane.max(1) as usize)
}

fn max_pool(x: &Tensor, k: i64, act: &PreparedPool) -> Result<(Tensor, SiteStats)> {
    let (n, c, h, w) = x
        .size4()
        .map_err(|_| Error::BadInput(format!("max-pool input of shape {:?}", x.size())))?;
    if k < 1 || h < k || w < k {
        return Err(Error::BadInput(format!(
            "a {k}×{k} max-pool cannot take input of shape {:?}",
            x.size()
        )));
    }
    match act {
        PreparedPool::Exact => {
            let y = x.f_max_pool2d([k, k], [k, k], [0, 0], [1, 1], false)?;
            let max_abs = if x.numel() > 0 {
                x.f_abs()?.f_max()?.double_value(&[])
            } else {
                0.0
            };
            let st = SiteStats {
                elements: x.numel() as u64,
                max_abs,
                ..SiteStats::default()
            };
            Ok((y, st))
        }
        PreparedPool::Poly { p, divisors, overflow } => {
            if x.requires_grad() {
                return Err(Error::BadInput(
                    "polynomial max-pool runs outside autograd; use tch::no_grad".into(),
                ));
            }
            // The plane kernel reads NCHW; a channels-last input is copied to NCHW and the result
            // handed back channels-last, so that the next convolution stays in NHWC.
            let channels_last = !x.is_contiguous() && crate::tensor::is_channels_last(x);
            let mut x = cpu_f32_contiguous(x.shallow_clone())?;
            let mut y = Tensor::f_empty([n, c, h / k, w / k], (Kind::Float, Device::Cpu))?;
            let args = PoolPlane {
                p,
                divisors,
                clamp: *overflow == OverflowPolicy::Clamp,
                h: h as usize,
                w: w as usize,
                k: k as usize,
            };
            // SAFETY: both are contiguous CPU f32 tensors; `y` is fresh, `x` is only read.
            let st = unsafe {
                let out = f32_slice_mut(&mut y);
                let input: &[f32] = f32_slice_mut(&mut x);
                kernel::max_pool_poly(&args, input, out)
            };
            if channels_last {
                y = crate::tensor::to_channels_last(&y)?;
            }
            Ok((y, st))
        }
    }
}

/// `x` as a CPU `f32` tensor whose values fill its storage densely, NCHW-contiguous or
/// channels-last (the same tensor when it already is one; else an NCHW-contiguous copy).
pub(crate) fn cpu_f32_dense(x: Tensor) -> Result<Tensor> {
    if x.device() == Device::Cpu && x.kind() == Kind::Float && crate::tensor::is_channels_last(&x) {
        Ok(x)
    } else {
        cpu_f32_contiguous(x)
    }
}

/// `x` as a contiguous CPU `f32` tensor (the same tensor when it already is one).
fn cpu_f32_contiguous(x: Tensor) -> Result<Tensor> {
    if x.device() == Device::Cpu && x.kind() == Kind::Float && x.is_contiguous() {
        Ok(x)
    } else {
        Ok(x.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?.f_contiguous()?)
    }
}

/// The storage of a dense (NCHW-contiguous or channels-last) CPU `f32` tensor as a slice, in
/// memory order.
///
/// # Safety
/// `x` must be dense (see [`cpu_f32_dense`]), on the CPU, of kind `Float`, and no other live
/// slice or tensor op may access its storage while the returned slice is used.
unsafe fn f32_slice_mut(x: &mut Tensor) -> &mut [f32] {
    let n = x.numel();
    if n == 0 {
        return &mut [];
    }
    std::slice::from_raw_parts_mut(x.data_ptr() as *mut f32, n)
}
