//! The networks an encrypted run can take, and what the pipeline needs of each: a plain `f64` mirror to calibrate
//! bounds and measure leaks on ([`Network`]), and its compiled CKKS program ([`Circuit`]).
//!
//! One variant per architecture; the pipeline ([`crate::run`]) only calls the methods here. The encrypted
//! ResNet-20 of issue 27 is one more variant of each enum beside `SmallCnn` (its loader chosen by the
//! architecture in the model file, its program possibly over several ciphertexts and with bootstraps placed by
//! a planner; [`Circuit::run`] is where that goes).

use std::path::Path;

use pann_approx::CompositeSign;
use pann_he::circuits::{EncryptedSlots, HeCnn, SmallCnn};
use pann_he::ckks::Ciphertext;
use pann_nn::Architecture;

use crate::error::Result;

/// A trained network as plain `f64` arithmetic (batch norm folded), the reference of its encrypted program.
#[derive(Clone, Debug)]
pub enum Network {
    /// Two convolutions, two ReLUs, average pools, one linear layer (`pann train --arch smallcnn`).
    SmallCnn(SmallCnn),
}

impl Network {
    /// Reads a model file. Only smallcnn files run encrypted so far: any other architecture is refused with an
    /// error that says so.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self::SmallCnn(SmallCnn::load(path)?))
    }

    /// The architecture's name, as `pann train --arch` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SmallCnn(_) => "smallcnn",
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
        }
    }

    /// Channels, height and width of an input image.
    pub fn input_shape(&self) -> [usize; 3] {
        match self {
            Self::SmallCnn(n) => [n.in_channels(), n.side, n.side],
        }
    }

    /// Number of ReLU layers, in the order of [`Self::forward`]'s `relu` argument.
    pub fn relu_layers(&self) -> usize {
        match self {
            Self::SmallCnn(_) => 2,
        }
    }

    /// Logits of one normalised CHW image with `relu(layer, z)` as the activations, and the largest `|input|`
    /// of each ReLU layer.
    pub fn forward(&self, image: &[f64], relu: impl Fn(usize, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        match self {
            Self::SmallCnn(n) => {
                let (logits, maxima) = n.forward(image, |z| relu(0, z), |z| relu(1, z));
                (logits, maxima.to_vec())
            }
        }
    }

    /// Logits of the exact network (ReLU itself).
    pub fn exact_logits(&self, image: &[f64]) -> Vec<f64> {
        self.forward(image, |_, z| z.max(0.0)).0
    }

    /// Per ReLU layer, per channel, the mean error `E[relu(layer, z) − ReLU(z)]` over the exact network's
    /// pre-activations on `images` (the mean-leak correction).
    pub fn mean_leaks(&self, images: &[Vec<f64>], relu: impl Fn(usize, f64) -> f64) -> Vec<Vec<f64>> {
        match self {
            Self::SmallCnn(n) => n.mean_leaks(images, |z| relu(0, z), |z| relu(1, z)).to_vec(),
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
        }
    }

    /// Compiles the network for `slots` slots with one bound per ReLU layer and the approximation `sign`;
    /// `leaks` ([`Self::mean_leaks`]), if given, are folded into the biases.
    pub fn compile(
        &self,
        bounds: &[f64],
        sign: &CompositeSign,
        slots: usize,
        leaks: Option<&[Vec<f64>]>,
    ) -> Result<Circuit> {
        match self {
            Self::SmallCnn(n) => {
                let bounds = two(bounds, "ReLU bounds")?;
                let leaks = leaks.map(|l| two(l, "leak corrections")).transpose()?;
                let he = HeCnn::new(n.clone(), bounds, sign.clone(), slots, leaks.as_ref())?;
                Ok(Circuit::SmallCnn(he))
            }
        }
    }
}

/// A smallcnn takes exactly two of everything per ReLU layer.
fn two<T: Clone>(v: &[T], what: &str) -> Result<[T; 2]> {
    <&[T; 2]>::try_from(v)
        .cloned()
        .map_err(|_| pann_he::Error::Model(format!("a smallcnn has 2 ReLU layers, got {} {what}", v.len())).into())
}

/// A network compiled to a CKKS program on slot vectors, with its plaintext run on the very same program.
pub enum Circuit {
    /// The smallcnn program of pann-he.
    SmallCnn(HeCnn),
}

impl Circuit {
    /// Levels the program consumes.
    pub fn depth(&self) -> usize {
        match self {
            Self::SmallCnn(c) => c.depth(),
        }
    }

    /// Every rotation the program performs: the rotation keys to generate.
    pub fn rotations(&self) -> Result<Vec<i64>> {
        match self {
            Self::SmallCnn(c) => Ok(c.rotations()?),
        }
    }

    /// The slot vector the client encrypts for one normalised CHW image.
    pub fn input_slots(&self, image: &[f64]) -> Result<Vec<f64>> {
        match self {
            Self::SmallCnn(c) => Ok(c.input_slots(image)?),
        }
    }

    /// The slots of the output that hold the logits, in class order.
    pub fn logit_slots(&self) -> &[usize] {
        match self {
            Self::SmallCnn(c) => c.logit_slots(),
        }
    }

    /// The server's work: the program on an encrypted input.
    pub fn run(&self, backend: &EncryptedSlots<'_>, input: &Ciphertext) -> Result<Ciphertext> {
        match self {
            Self::SmallCnn(c) => Ok(c.run(backend, input)?),
        }
    }

    /// The plaintext PANN, computed by the same program on `f64` slots: logits and the number of ReLU inputs
    /// outside their bound.
    pub fn run_plain(&self, image: &[f64]) -> Result<(Vec<f64>, usize)> {
        match self {
            Self::SmallCnn(c) => Ok(c.run_plain(image)?),
        }
    }
}
