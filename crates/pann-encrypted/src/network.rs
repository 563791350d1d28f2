//! The networks an encrypted run can take, and what the pipeline needs of each: a plain `f64` mirror to calibrate
//! bounds and measure leaks on ([`Network`]), and its compiled CKKS program ([`Circuit`]).
//!
//! One variant per architecture; the pipeline ([`crate::run`]) only calls the methods here. A smallcnn fits the
//! modulus whole; a CIFAR ResNet (any depth `6n + 2`, option-A or option-B shortcuts) runs in one ciphertext in
//! pann-he's multiplexed layout with bootstraps placed by pann-he's planner, its rotations composed from the
//! bootstrapper's keys and a few of its own ([`pann_he::circuits::RotationKeys`]).

use std::path::Path;

use pann_approx::CompositeSign;
use pann_he::circuits::{
    BootstrappingSlots, HeCnn, HeResNet, KeyedSlots, MirrorSlots, ResNet, RotationKeys, Shortcut, SmallCnn,
};
use pann_he::ckks::Ciphertext;
use pann_nn::Architecture;

use crate::error::{Error, Result};
use crate::keys::Keys;

/// A trained network as plain `f64` arithmetic (batch norm folded), the reference of its encrypted program.
#[derive(Clone, Debug)]
pub enum Network {
    /// Two convolutions, two ReLUs, average pools, one linear layer (`pann train --arch smallcnn`).
    SmallCnn(SmallCnn),
    /// A CIFAR ResNet (`pann train --arch resnet20` …).
    ResNet(ResNet),
}

impl Network {
    /// Reads a model file: a CIFAR ResNet if it has `layer1.0.conv1.weight`, else a smallcnn (any other
    /// architecture is refused with an error that says so).
    pub fn load(path: &Path) -> Result<Self> {
        if is_resnet(path) {
            Ok(Self::ResNet(ResNet::load(path)?))
        } else {
            Ok(Self::SmallCnn(SmallCnn::load(path)?))
        }
    }

    /// The architecture's name, as `pann train --arch` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SmallCnn(_) => "smallcnn",
            Self::ResNet(n) => match n.blocks.len() {
                9 => "resnet20",
                15 => "resnet32",
                21 => "resnet44",
                27 => "resnet56",
                54 => "resnet110",
                _ => "resnet",
            },
        }
    }

    /// The architecture, for the cost model of pann-eval.
    pub fn architecture(&self) -> Architecture {
        match self {
            Self::SmallCnn(n) => Architecture::SmallCnn {
                c1: n.conv1.cout,
                c2: n.conv2.cout,
                num_classes: n.classes,
            },
            Self::ResNet(n) => Architecture::ResNet {
                depth: 2 + 2 * n.blocks.len(),
                shortcut: if n.blocks.iter().any(|b| matches!(b.shortcut, Shortcut::Conv1x1 { .. })) {
                    pann_nn::Shortcut::B
                } else {
                    pann_nn::Shortcut::A
                },
                num_classes: n.classes,
            },
        }
    }

    /// Channels, height and width of an input image.
    pub fn input_shape(&self) -> [usize; 3] {
        match self {
            Self::SmallCnn(n) => [n.in_channels(), n.side, n.side],
            Self::ResNet(n) => [n.in_channels(), n.side, n.side],
        }
    }

    /// Number of classes (logits).
    pub fn classes(&self) -> usize {
        match self {
            Self::SmallCnn(n) => n.classes,
            Self::ResNet(n) => n.classes,
        }
    }

    /// Number of ReLU layers, in the order of [`Self::forward`]'s `relu` argument.
    pub fn relu_layers(&self) -> usize {
        match self {
            Self::SmallCnn(_) => 2,
            Self::ResNet(n) => n.sites(),
        }
    }

    /// Whether the network needs bootstrapping (its depth exceeds every parameter set).
    pub fn bootstraps(&self) -> bool {
        matches!(self, Self::ResNet(_))
    }

    /// Logits of one normalised CHW image with `relu(layer, z)` as the activations, and the largest `|input|`
    /// of each ReLU layer.
    pub fn forward(&self, image: &[f64], relu: impl Fn(usize, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::SmallCnn(n) => {
                let (logits, maxima) = n.forward(image, |z| relu(0, z), |z| relu(1, z));
                (logits, maxima.to_vec())
            }
            Self::ResNet(n) => n.forward(image, relu),
        }
    }

    /// Logits of the exact network (ReLU itself).
    pub fn exact_logits(&self, image: &[f64]) -> Vec<f64> {
        self.forward(image, |_, z| z.max(0.0)).0
    }

    /// Per ReLU layer, per channel, the mean error `E[relu(layer, z) − ReLU(z)]` over the exact network's
    /// pre-activations on `images` (the mean-leak correction; smallcnn only: a ResNet's leaks would have to be
    /// folded through its shortcuts, which is not done).
    pub fn mean_leaks(&self, images: &[Vec<f64>], relu: impl Fn(usize, f64) -> f64) -> Result<Vec<Vec<f64>>> {
        match self {
            Self::SmallCnn(n) => Ok(n.mean_leaks(images, |z| relu(0, z), |z| relu(1, z)).to_vec()),
            Self::ResNet(_) => Err(Error::config(
                "leak_correction",
                format!("is not available for {} yet (smallcnn only)", self.name()),
            )),
        }
    }

    /// The smallest `log2 N` whose `N/2` slots hold the network's slot layout.
    pub fn min_log_n(&self) -> u32 {
        match self {
            Self::SmallCnn(n) => {
                // Every feature map takes its channel count rounded up to a power of two blocks of side² slots.
                let block = n.side * n.side;
                let most = [n.conv1.cin, n.conv1.cout, n.conv2.cout]
                    .iter()
                    .map(|c| c.next_power_of_two() * block)
                    .max()
                    .unwrap_or(block);
                (2 * most).next_power_of_two().trailing_zeros()
            }
            // The bootstrapping presets are at N = 2^16.
            Self::ResNet(_) => 16,
        }
    }

    /// Compiles the network for `slots` slots with one bound and one approximation per ReLU layer (a smallcnn
    /// takes one approximation for both); `leaks` ([`Self::mean_leaks`]), if given, are folded into the biases.
    /// A ResNet's bootstraps are planned afterwards ([`Circuit::plan`]).
    pub fn compile(
        &self,
        bounds: &[f64],
        signs: &[CompositeSign],
        slots: usize,
        leaks: Option<&[Vec<f64>]>,
    ) -> Result<Circuit> {
        match self {
            Self::SmallCnn(n) => {
                let bounds = two(bounds, "ReLU bounds")?;
                let leaks = leaks.map(|l| two(l, "leak corrections")).transpose()?;
                let sign = signs
                    .first()
                    .ok_or_else(|| Error::config("alpha", "no approximation"))?;
                let he = HeCnn::new(n.clone(), bounds, sign.clone(), slots, leaks.as_ref())?;
                Ok(Circuit::SmallCnn(he))
            }
            Self::ResNet(n) => {
                if leaks.is_some() {
                    return Err(Error::config("leak_correction", "is not available for a ResNet yet"));
                }
                let he = HeResNet::new(n.clone(), bounds.to_vec(), signs.to_vec(), slots)?;
                Ok(Circuit::ResNet(ResNetCircuit {
                    he,
                    keys: None,
                    top: 0,
                    boot_level: 0,
                }))
            }
        }
    }
}

/// Whether `path` holds a CIFAR ResNet's tensors (unreadable files go to the smallcnn loader, whose errors name
/// the problem).
fn is_resnet(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    safetensors::SafeTensors::read_metadata(&bytes)
        .is_ok_and(|(_, meta)| meta.tensors().keys().any(|n| n == "layer1.0.conv1.weight"))
}

/// A smallcnn takes exactly two of everything per ReLU layer.
fn two<T: Clone>(v: &[T], what: &str) -> Result<[T; 2]> {
    <&[T; 2]>::try_from(v)
        .cloned()
        .map_err(|_| pann_he::Error::Model(format!("a smallcnn has 2 ReLU layers, got {} {what}", v.len())).into())
}

/// A ResNet program with its bootstrap plan and rotation key set.
pub struct ResNetCircuit {
    /// The program (with its plan).
    pub he: HeResNet,
    /// The rotation keys its rotations are composed from (set by [`Circuit::plan`]).
    pub keys: Option<RotationKeys>,
    /// Level of a fresh input.
    pub top: usize,
    /// Level of a bootstrapped vector.
    pub boot_level: usize,
}

/// A network compiled to a CKKS program on slot vectors, with its plaintext run on the very same program.
// One per run: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Circuit {
    /// The smallcnn program of pann-he.
    SmallCnn(HeCnn),
    /// A ResNet program of pann-he, with bootstraps.
    ResNet(ResNetCircuit),
}

impl Circuit {
    /// Levels the program consumes without bootstrapping.
    pub fn depth(&self) -> usize {
        match self {
            Self::SmallCnn(c) => c.depth(),
            Self::ResNet(c) => c.he.depth(),
        }
    }

    /// A ResNet: plans the bootstraps for a fresh input at `top` and bootstraps returning `boot_level`, and
    /// chooses the rotation keys: `base` (the bootstrapper's) plus at most `extra` of the program's own.
    pub fn plan(&mut self, top: usize, boot_level: usize, base: &[i64], extra: usize) -> Result<()> {
        if let Self::ResNet(c) = self {
            c.he.plan_bootstraps(top, boot_level)?;
            let uses = c.he.rotation_uses()?;
            c.keys = Some(RotationKeys::choose(c.he.slots(), base, &uses, extra));
            c.top = top;
            c.boot_level = boot_level;
        }
        Ok(())
    }

    /// Every rotation key the program needs beyond a bootstrapper's (all of a smallcnn's).
    pub fn rotations(&self) -> Result<Vec<i64>> {
        match self {
            Self::SmallCnn(c) => Ok(c.rotations()?),
            Self::ResNet(c) => Ok(c.keys.as_ref().map_or_else(Vec::new, |k| k.keys().to_vec())),
        }
    }

    /// Bootstraps and rotations (key switches) per image, counted on the level-tracking mirror.
    pub fn costs(&self) -> Result<(usize, usize)> {
        match self {
            Self::SmallCnn(c) => {
                let m = MirrorSlots::new(0);
                let x = pann_he::circuits::Leveled {
                    values: vec![0.0; c.slots()],
                    level: c.depth(),
                };
                c.run(&m, &x)?;
                Ok((0, m.rotation_count()))
            }
            Self::ResNet(c) => {
                let image = vec![0.0; c.he.net.in_channels() * c.he.net.side * c.he.net.side];
                let r = c.he.run_mirror(&image, c.top, c.boot_level, c.keys.as_ref())?;
                Ok((r.bootstraps, r.rotations))
            }
        }
    }

    /// The level the client encrypts at: the top of the modulus, or a bootstrapping network's circuit top.
    pub fn input_level(&self, max_level: usize) -> usize {
        match self {
            Self::SmallCnn(_) => max_level,
            Self::ResNet(c) => c.top,
        }
    }

    /// The slot vector the client encrypts for one normalised CHW image.
    pub fn input_slots(&self, image: &[f64]) -> Result<Vec<f64>> {
        match self {
            Self::SmallCnn(c) => Ok(c.input_slots(image)?),
            Self::ResNet(c) => Ok(c.he.input_slots(image)?),
        }
    }

    /// The slots of the output that hold the logits, in class order.
    pub fn logit_slots(&self) -> &[usize] {
        match self {
            Self::SmallCnn(c) => c.logit_slots(),
            Self::ResNet(c) => c.he.logit_slots(),
        }
    }

    /// The server's work: the program on an encrypted input, with the server's keys.
    pub fn run(&self, keys: &Keys, input: &Ciphertext) -> Result<Ciphertext> {
        match self {
            Self::SmallCnn(c) => Ok(c.run(&keys.server(), input)?),
            Self::ResNet(c) => {
                let boot = keys
                    .bootstrapper()
                    .ok_or_else(|| pann_he::Error::MissingKey("a ResNet needs the bootstrapping keys".into()))?;
                let rot = c.keys.as_ref().ok_or_else(|| {
                    pann_he::Error::MissingKey("the ResNet's rotation keys were not chosen (Circuit::plan)".into())
                })?;
                let inner = BootstrappingSlots { boot };
                Ok(c.he.run(
                    &KeyedSlots {
                        inner: &inner,
                        keys: rot,
                    },
                    input,
                )?)
            }
        }
    }

    /// The plaintext PANN, computed by the same program on `f64` slots: logits and the number of ReLU inputs
    /// outside their bound.
    pub fn run_plain(&self, image: &[f64]) -> Result<(Vec<f64>, usize)> {
        match self {
            Self::SmallCnn(c) => Ok(c.run_plain(image)?),
            Self::ResNet(c) => {
                let r = c.he.run_mirror(image, c.top, c.boot_level, None)?;
                Ok((r.logits, r.overflows))
            }
        }
    }
}
