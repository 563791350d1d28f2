//! `--nchw`: the memory layout the networks of `pann eval` and `pann analyze` run in.
//!
//! Channels-last (NHWC) is the default since 2026-12-07 because oneDNN's convolutions are faster in it
//! (`pann bench`: 1.62× PyTorch's speed against 0.98× in NCHW, results/bench/); logits equal NCHW's up to the
//! convolutions' summation order, and the bundled ResNet-20 gets the same counts in both
//! (results/bench/layout_check.txt). A result is reproduced bit for bit only in the layout it was made in: the
//! files under results/ made in NCHW say `--nchw` in the commands that made them.

use clap::Args;

/// The memory-layout flags shared by `pann eval` and `pann analyze`.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct LayoutArgs {
    /// Run the network in NCHW memory instead of the default channels-last (NHWC): slower convolutions, the
    /// layout of results made before 2026-12-07.
    #[arg(long, conflicts_with = "channels_last")]
    nchw: bool,
    /// Channels-last memory: the default (the flag is kept so that older command lines still run).
    #[arg(long)]
    channels_last: bool,
}

impl LayoutArgs {
    /// Whether the network runs channels-last.
    pub fn channels_last(&self) -> bool {
        !self.nchw
    }
}
