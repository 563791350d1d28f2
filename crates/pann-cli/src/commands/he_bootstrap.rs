//! `pann he bootstrap-bench`: one full-slot CKKS bootstrap of uniform random complex values in `[−1, 1]`
//! (`pann_he::bootstrap::bench`), and with `--openfhe` OpenFHE's `EvalBootstrap` on the same machine in the same
//! run (`reference/openfhe_bootstrap.py`), so that the comparison never mixes figures from different loads.
//!
//! OpenFHE runs first, in its own process: both peak at 10–14 GB, and running pann's bootstrap first would leave
//! its freed memory to the allocator while OpenFHE's process grows.

use anyhow::{bail, Result};
use clap::Args;
use pann_he::bootstrap::BenchReport;
use serde_json::json;

use super::reference::{OpenFheBootstrap, ReferenceFlags};

/// Arguments of `pann he bootstrap-bench`.
#[derive(Args, Debug)]
pub struct BootstrapBenchArgs {
    /// `log2 N`: 16 is the 128-bit preset; 10..=15 use insecure test parameters (timing only).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(10..=16))]
    log_n: u32,
    /// Sparse packing: this many slots (a power of two below N/2) instead of all N/2.
    #[arg(long)]
    slots: Option<usize>,
    /// Seed of the keys, the noise and the random message.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Also run OpenFHE's EvalBootstrap (reference/openfhe_setup.sh installs it) at the same N on 2 threads.
    #[arg(long)]
    openfhe: bool,
    #[command(flatten)]
    reference: ReferenceFlags,
}

/// Runs the bench (OpenFHE first when asked) and prints the report(s).
pub fn run(a: BootstrapBenchArgs) -> Result<()> {
    let openfhe = if a.openfhe {
        if a.slots.is_some() {
            bail!("--openfhe compares full-slot bootstrapping: drop --slots");
        }
        let Some(python) = a.reference.openfhe_python() else {
            bail!("--openfhe: no OpenFHE Python at .venv-openfhe/bin/python; run reference/openfhe_setup.sh");
        };
        Some(
            a.reference
                .openfhe_bootstrap(&python, a.log_n, rayon::current_num_threads())?,
        )
    } else {
        None
    };
    let ours = pann_he::bootstrap::bench(a.log_n, a.slots, a.seed)?;
    if a.json {
        match &openfhe {
            None => println!("{}", serde_json::to_string(&ours)?),
            Some(o) => println!(
                "{}",
                json!({"pann": ours, "openfhe": o, "time_ratio_pann_over_openfhe": ours.seconds / o.seconds})
            ),
        }
        return Ok(());
    }
    println!("   pann: {ours}");
    if let Some(o) = &openfhe {
        println!("OpenFHE: {}", o.as_report());
        println!(
            "pann / OpenFHE: {:.2}× the time, {:.2}× the peak memory",
            ours.seconds / o.seconds,
            ours.peak_rss_bytes as f64 / o.peak_rss_bytes.max(1) as f64
        );
    }
    Ok(())
}

impl OpenFheBootstrap {
    /// The same report as pann's, for one way of printing both (`log_qp` not a number when not exposed).
    fn as_report(&self) -> BenchReport {
        BenchReport {
            log_n: self.log_n,
            log_qp: self.log_qp.unwrap_or(f64::NAN),
            slots: self.slots,
            levels_before: self.levels_before,
            levels_after: self.levels_after,
            precision_bits_min: self.precision_bits_min,
            precision_bits_mean: self.precision_bits_mean,
            seconds: self.seconds,
            threads: self.threads,
            keys_bytes: self.keys_bytes as usize,
            peak_rss_bytes: self.peak_rss_bytes,
        }
    }
}
