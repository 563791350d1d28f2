//! `pann`: polynomial approximations of neural networks, from the command line.
//!
//! A thin layer over the library crates: argument parsing, printing and plotting. Every error ends the process
//! with one line on standard error and exit status 1 (2 for unparseable arguments, by clap).

mod alpha_list;
mod commands;
mod layout;
mod output;
mod plot;
mod progress;

use clap::{Parser, Subcommand};

/// Polynomial approximations of neural networks (PANN) for homomorphic encryption.
#[derive(Parser)]
#[command(name = "pann", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate and certify composite minimax approximations of sign / ReLU / max at precision 2^-α.
    Approx(commands::approx::ApproxArgs),
    /// Evaluate a trained network exactly and as a PANN at each precision α (defaults: bundled ResNet-20, CIFAR-10).
    Eval(commands::eval::EvalArgs),
    /// Analyses behind the paper's findings (writes CSV, JSON and SVG under results/).
    Analyze(commands::analyze::AnalyzeArgs),
    /// Time pann's exact and PANN inference against PyTorch on the same machine and print the ratio.
    Bench(commands::bench::BenchArgs),
    /// Homomorphic encryption (RNS-CKKS): run a PANN encrypted end to end, list parameter sets.
    He(commands::he::HeArgs),
    /// Train a CIFAR ResNet/VGG (PANN-friendly recipes, resumable); --bench times training against PyTorch.
    Train(Box<commands::train::TrainArgs>),
    /// Re-estimate a model's BatchNorm statistics on unaugmented, unmixed training images (weights unchanged).
    RecalibrateBn(commands::recalibrate::RecalibrateArgs),
    /// Show a model file's card (data set, classes, input shape, normalisation), or write one (tensors unchanged).
    Card(commands::card::CardArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Approx(args) => commands::approx::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Bench(args) => commands::bench::run_bench(args),
        Command::Analyze(args) => commands::analyze::run(args),
        Command::Train(args) => commands::train::run(*args),
        Command::He(args) => commands::he::run(args),
        Command::RecalibrateBn(args) => commands::recalibrate::run(args),
        Command::Card(args) => commands::card::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
