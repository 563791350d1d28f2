//! The model zoo: architectures, and [`Model`], a network with its parameters and its list
//! of activation sites.
//!
//! Each architecture lives in its own file and is built over a `tch::nn::Path`, so parameter
//! names are PyTorch state-dict names and weights trained in PyTorch load as they are.

mod differentiable;
mod mixed;
mod resnet;
mod smallcnn;
mod vgg;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use tch::{nn, Device, Kind, Tensor};

use crate::activation::Activations;
use crate::error::{Error, Result};
use crate::forward::ForwardCtx;
use crate::model_card::ModelCard;

/// Momentum of every BatchNorm's running statistics (`running ← (1 − m)·running + m·batch`,
/// PyTorch's default). [`crate::bn_recalibration`] relies on it to read a batch's statistics
/// back out of the running ones.
pub const BN_MOMENTUM: f64 = 0.1;

/// A 2-d BatchNorm with [`BN_MOMENTUM`], scale 1 and shift 0; every architecture builds its BN
/// layers here.
///
/// The scale is set explicitly because `tch`'s default draws it uniformly from `[0, 1)`, unlike
/// PyTorch's `BatchNorm2d` (ones). That default halves every BN output on average at the start
/// and nearly silences some channels; with it, `pann train` ended ResNet-20's 15-epoch recipe
/// about 0.9 points below PyTorch's own loop on two seeds (results/train/README.md, "Trainer
/// parity with PyTorch").
pub(crate) fn batch_norm2d<'a, P: std::borrow::Borrow<nn::Path<'a>>>(p: P, channels: i64) -> nn::BatchNorm {
    let cfg = nn::BatchNormConfig {
        momentum: BN_MOMENTUM,
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, channels, cfg)
}

/// How a ResNet block that changes shape builds its shortcut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shortcut {
    /// Subsample and zero-pad channels; no parameters.
    A,
    /// 1×1 stride-2 convolution and BN (`shortcut.0`, `shortcut.1`).
    B,
}

/// A network architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// CIFAR ResNet of depth `6n + 2` (20, 32, 44, 56, 110, …).
    ResNet {
        /// Number of weighted layers.
        depth: usize,
        /// Shortcut option.
        shortcut: Shortcut,
        /// Output classes.
        num_classes: usize,
    },
    /// CIFAR VGG with BN, depth 11, 13, 16 or 19.
    Vgg {
        /// Number of weighted layers.
        depth: usize,
        /// Output classes.
        num_classes: usize,
    },
    /// SmallCNN: conv–BN–ReLU–avg-pool twice, then one linear layer (32×32 input).
    SmallCnn {
        /// Channels of the first convolution (8 in `smallcnn`).
        c1: usize,
        /// Channels of the second convolution (16 in `smallcnn`).
        c2: usize,
        /// Output classes.
        num_classes: usize,
    },
}

/// Features the SmallCNN linear layer takes when the second convolution has `c2` channels.
pub(crate) fn smallcnn_fc_features(c2: i64) -> i64 {
    smallcnn::fc_features(c2)
}

/// Widths `(c1, c2)` of the architecture named `smallcnn`.
pub const SMALLCNN_WIDTHS: (usize, usize) = (8, 16);

impl Architecture {
    /// Checks the depth: `6n + 2` with `n ≥ 1` for ResNets, 11/13/16/19 for VGG; SmallCNN
    /// widths must be positive.
    pub fn validate(&self) -> Result<()> {
        let bad = |problem: &str| Error::BadArchitecture {
            spec: self.to_string(),
            problem: problem.into(),
        };
        match *self {
            Self::ResNet { depth, num_classes, .. } => {
                if depth < 8 || (depth - 2) % 6 != 0 {
                    return Err(bad("a CIFAR ResNet has depth 6n+2 (20, 32, 44, 56, 110)"));
                }
                if num_classes == 0 {
                    return Err(bad("no classes"));
                }
            }
            Self::Vgg { depth, num_classes } => {
                if vgg::config(depth).is_none() {
                    return Err(bad("VGG depth must be 11, 13, 16 or 19"));
                }
                if num_classes == 0 {
                    return Err(bad("no classes"));
                }
            }
            Self::SmallCnn { c1, c2, num_classes } => {
                if c1 == 0 || c2 == 0 {
                    return Err(bad("SmallCNN widths must be at least 1"));
                }
                if num_classes == 0 {
                    return Err(bad("no classes"));
                }
            }
        }
        Ok(())
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> usize {
        match *self {
            Self::ResNet { num_classes, .. } | Self::Vgg { num_classes, .. } | Self::SmallCnn { num_classes, .. } => {
                num_classes
            }
        }
    }

    /// The same architecture with another number of classes.
    pub fn with_classes(self, n: usize) -> Self {
        match self {
            Self::ResNet { depth, shortcut, .. } => Self::ResNet {
                depth,
                shortcut,
                num_classes: n,
            },
            Self::Vgg { depth, .. } => Self::Vgg { depth, num_classes: n },
            Self::SmallCnn { c1, c2, .. } => Self::SmallCnn { c1, c2, num_classes: n },
        }
    }
}

impl fmt::Display for Architecture {
    /// `resnet20` (option A), `resnet20b` (option B), `vgg16`, `smallcnn` (widths 8, 16) or
    /// `smallcnn{c1}x{c2}` (other widths); classes are not part of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ResNet {
                depth,
                shortcut: Shortcut::A,
                ..
            } => write!(f, "resnet{depth}"),
            Self::ResNet {
                depth,
                shortcut: Shortcut::B,
                ..
            } => write!(f, "resnet{depth}b"),
            Self::Vgg { depth, .. } => write!(f, "vgg{depth}"),
            Self::SmallCnn { c1, c2, .. } => {
                if (*c1, *c2) == SMALLCNN_WIDTHS {
                    f.write_str("smallcnn")
                } else {
                    write!(f, "smallcnn{c1}x{c2}")
                }
            }
        }
    }
}

impl FromStr for Architecture {
    type Err = Error;

    /// Parses `resnet20`, `resnet56b`, `vgg11`, `smallcnn`, `smallcnn16x32`, … with 10 classes
    /// ([`Architecture::with_classes`] changes that).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::BadArchitecture {
            spec: s.into(),
            problem: "expected resnetN (option A), resnetNb (option B), vggN, smallcnn or smallcnnAxB".into(),
        };
        let arch = if let Some(rest) = s.strip_prefix("resnet") {
            let (digits, shortcut) = match rest.strip_suffix('b') {
                Some(d) => (d, Shortcut::B),
                None => (rest.strip_suffix('a').unwrap_or(rest), Shortcut::A),
            };
            Self::ResNet {
                depth: digits.parse().map_err(|_| bad())?,
                shortcut,
                num_classes: 10,
            }
        } else if let Some(rest) = s.strip_prefix("vgg") {
            Self::Vgg {
                depth: rest.parse().map_err(|_| bad())?,
                num_classes: 10,
            }
        } else if let Some(rest) = s.strip_prefix("smallcnn") {
            let (c1, c2) = if rest.is_empty() {
                SMALLCNN_WIDTHS
            } else {
                let (a, b) = rest.split_once('x').ok_or_else(bad)?;
                (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
            };
            Self::SmallCnn {
                c1,
                c2,
                num_classes: 10,
            }
        } else {
            return Err(bad());
        };
        arch.validate()?;
        Ok(arch)
    }
}

// Built once per model; the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Net {
    ResNet(resnet::ResNet),
    Vgg(vgg::Vgg),
    SmallCnn(smallcnn::SmallCnn),
}

/// A network on the CPU: architecture, parameters and activation sites.
pub struct Model {
    arch: Architecture,
    vs: nn::VarStore,
    net: Net,
    relu_sites: Vec<String>,
    pool_sites: Vec<String>,
    pool_windows: Vec<i64>,
    /// Feed [`Model::forward`] its input channels-last ([`Model::set_channels_last`]).
    channels_last: bool,
    /// Run [`Model::forward_t`] in bf16 mixed precision ([`Model::set_bf16_training`]).
    bf16_training: bool,
}

impl Model {
    /// A network with freshly initialised parameters: PyTorch's defaults for BN (scale 1, shift 0),
    /// Kaiming-uniform (ReLU gain, fan-in) convolution and linear weights (`tch`'s defaults).
    pub fn new(arch: Architecture) -> Result<Self> {
        arch.validate()?;
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let (net, relu_sites, pool_sites) = match arch {
            Architecture::ResNet {
                depth,
                shortcut,
                num_classes,
            } => {
                let (net, relus) = resnet::ResNet::new(&root, (depth - 2) / 6, shortcut, num_classes as i64);
                (Net::ResNet(net), relus, Vec::new())
            }
            Architecture::Vgg { depth, num_classes } => {
                let (net, relus, pools) = vgg::Vgg::new(&root, depth, num_classes as i64).expect("depth was validated");
                (Net::Vgg(net), relus, pools)
            }
            Architecture::SmallCnn { c1, c2, num_classes } => {
                let (net, relus) = smallcnn::SmallCnn::new(&root, c1 as i64, c2 as i64, num_classes as i64);
                (Net::SmallCnn(net), relus, Vec::new())
            }
        };
        let pool_windows = vec![vgg::POOL; pool_sites.len()];
        Ok(Self {
            arch,
            vs,
            net,
            relu_sites,
            pool_sites,
            pool_windows,
            channels_last: false,
            bf16_training: false,
        })
    }

    /// Loads a safetensors file, inferring the architecture from its tensor names and shapes.
    pub fn load(path: &Path) -> Result<Self> {
        let dict = crate::weights::read_state_dict(path)?;
        let arch = crate::weights::infer_architecture(&dict)?;
        let mut model = Self::new(arch)?;
        crate::weights::copy_into(&mut model.vs, &dict)?;
        Ok(model)
    }

    /// Replaces the parameters by those of a safetensors file, which must hold exactly this
    /// model's tensors with the same shapes (a `module.` prefix and BN `num_batches_tracked`
    /// entries are accepted).
    pub fn load_weights(&mut self, path: &Path) -> Result<()> {
        let dict = crate::weights::read_state_dict(path)?;
        crate::weights::copy_into(&mut self.vs, &dict)
    }

    /// Saves the parameters to a safetensors file under their PyTorch names, with the
    /// architecture name but no [`ModelCard`] (for files whose data set is unknown).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::weights::save(&self.vs, &self.arch, None, path)
    }

    /// Saves the parameters with `card` in the metadata, so that the file tells its data set and
    /// normalisation to every command that reads it. The card must be of this architecture.
    pub fn save_with_card(&self, path: &Path, card: &ModelCard) -> Result<()> {
        if card.architecture != self.arch {
            return Err(Error::BadInput(format!(
                "{}: the card is of {} with {} classes, the model is {} with {} classes",
                path.display(),
                card.architecture,
                card.architecture.num_classes(),
                self.arch,
                self.arch.num_classes()
            )));
        }
        crate::weights::save(&self.vs, &self.arch, Some(card), path)
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        self.arch
    }

    /// Names of the ReLU sites, in forward order.
    pub fn relu_sites(&self) -> &[String] {
        &self.relu_sites
    }

    /// Names of the max-pool sites, in forward order (none for ResNets and SmallCNN, whose
    /// average pools are linear).
    pub fn pool_sites(&self) -> &[String] {
        &self.pool_sites
    }

    /// Window side (= stride) of each max-pool site.
    pub fn pool_windows(&self) -> &[i64] {
        &self.pool_windows
    }

    /// Runs [`Model::forward`] on a channels-last copy of its input from now on (off: NCHW, as
    /// given). oneDNN's convolutions are faster in NHWC on the CPUs here and keep the layout for
    /// every later layer; the activation kernels work on either. The logits agree with NCHW up to
    /// the summation order of the convolutions (a few ULPs), so an image whose top two logits
    /// are that close can be classified differently: results made in one layout are reproduced
    /// bit for bit only in that layout.
    pub fn set_channels_last(&mut self, on: bool) {
        self.channels_last = on;
    }

    /// Whether [`Model::forward`] runs channels-last.
    pub fn channels_last(&self) -> bool {
        self.channels_last
    }

    /// Runs [`Model::forward_t`] (training) in bfloat16 mixed precision from now on: convolutions and
    /// activations in bf16, parameters, BatchNorm statistics, the linear head and the logits in `f32`, as
    /// PyTorch's CPU autocast does (`models/mixed.rs`). Faster on CPUs with AVX-512 BF16; activations carry 8
    /// significant bits, so polynomial activations (which need more) refuse to run in it. Inference
    /// ([`Model::forward`]) is not affected.
    pub fn set_bf16_training(&mut self, on: bool) {
        self.bf16_training = on;
    }

    /// Whether [`Model::forward_t`] runs in bf16 mixed precision.
    pub fn bf16_training(&self) -> bool {
        self.bf16_training
    }

    /// The parameters, e.g. for an optimiser.
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// The parameters, mutably.
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    /// Logits for a batch, in inference mode (BN uses its running statistics).
    ///
    /// Run it inside `tch::no_grad` when any activation is a polynomial. The statistics of
    /// each site accumulate in `ctx`.
    ///
    /// # Shapes
    /// `xs`: `[N, 3, H, W]` float (32×32 for VGG and SmallCNN); result `[N, num_classes]`.
    pub fn forward(&self, xs: &Tensor, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        if !ctx.is_for(self) {
            return Err(Error::BadActivation(
                "the forward context was made for another model".into(),
            ));
        }
        let size = xs.size();
        let fixed = self.fixed_input_side();
        let ok =
            size.len() == 4 && size[1] == 3 && size[2] > 0 && size[3] > 0 && fixed.is_none_or(|s| size[2..] == [s, s]);
        if !ok || !matches!(xs.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
            let want = match fixed {
                Some(s) => format!("[N, 3, {s}, {s}]"),
                None => "[N, 3, H, W]".into(),
            };
            return Err(Error::BadInput(format!(
                "{} expects a float tensor {want}, got {:?} {size:?}",
                self.arch,
                xs.kind()
            )));
        }
        let mut xs = xs.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?;
        if self.channels_last {
            xs = crate::tensor::to_channels_last(&xs)?;
        }
        match &self.net {
            Net::ResNet(n) => n.forward(&xs, ctx),
            Net::Vgg(n) => n.forward(&xs, ctx),
            Net::SmallCnn(n) => n.forward(&xs, ctx),
        }
    }

    /// The input side the network needs (VGG, SmallCNN: 32), or `None` for any size (ResNet).
    fn fixed_input_side(&self) -> Option<i64> {
        match self.net {
            Net::ResNet(_) => None,
            Net::Vgg(_) => Some(32),
            Net::SmallCnn(_) => Some(smallcnn::INPUT_SIDE),
        }
    }

    /// Logits with exact activations, without gradients; statistics are dropped.
    pub fn forward_exact(&self, xs: &Tensor) -> Result<Tensor> {
        let mut ctx = ForwardCtx::new(self, &Activations::exact_for(self))?;
        tch::no_grad(|| self.forward(xs, &mut ctx))
    }
}
