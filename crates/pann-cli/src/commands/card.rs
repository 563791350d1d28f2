//! `pann card`: show or write a model file's card (data set, class count, input shape and
//! normalisation in its safetensors metadata, `pann_nn::model_card`); and the one place where the
//! commands that run a model on data resolve the data set and check it against the model's card.
//!
//! The rule every such command follows ([`resolve_data`]):
//! * data set: `--dataset`, else the layout found in `--data DIR`, else the model card's data set
//!   when `--data` is given, else the bundled CIFAR-10;
//! * normalisation: `--norm`, else the card's, else `imagenet`;
//! * a model whose card names another data set (or input shape) is refused with one `error:` line
//!   naming the file, what it was trained on and what was asked, even when `--dataset` names the other
//!   data set explicitly: its accuracy there means nothing (a Fashion-MNIST SmallCNN scores about 20% on
//!   CIFAR-10), so only `--force-mismatch` runs it, with a warning. A `--norm` given explicitly that
//!   differs from the card's is a legitimate experiment: it runs, with a warning. Files without a card
//!   are run as asked, as before cards existed.
//!
//! The analyses run several models on one data set, so there a card is checked but chooses nothing
//! (`analyze::DataArgs`).

use anyhow::{bail, Context, Result};
use clap::Args;
use pann_data::{DatasetKind, Normalization};
use pann_nn::{Model, ModelCard};
use std::path::{Path, PathBuf};

/// The data flags of the commands that run a model on data.
#[derive(Args, Debug, Clone, Default)]
pub struct DataFlags {
    /// Data directory [default: the bundled CIFAR-10, under $PANN_SHARED or ../shared].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Data set layout [default: the layout found in --data, else the model card's; without --data, cifar10].
    #[arg(long, value_enum)]
    pub dataset: Option<DatasetKind>,
    /// Input normalisation: imagenet, cifar, none, or MEAN,…/STD,… [default: the model card's, else imagenet].
    #[arg(long)]
    pub norm: Option<String>,
    /// Run a model on a data set or input shape other than the one its card names (with a warning).
    #[arg(long)]
    pub force_mismatch: bool,
}

/// The data a command runs on, after [`resolve_data`].
#[derive(Debug, Clone)]
pub struct DataChoice {
    /// The data set.
    pub kind: DatasetKind,
    /// Its directory.
    pub dir: PathBuf,
    /// The normalisation.
    pub norm: Normalization,
    /// The normalisation as given (`imagenet`), for a card to write.
    pub norm_spec: String,
}

/// Fails with a message that names `path` and says to pass `--model` when a default model file
/// (`given` false: not named on the command line) does not exist.
pub fn check_model_file(path: &Path, given: bool) -> Result<()> {
    if !given && !path.exists() {
        bail!(
            "{}: default model file not found (paths are relative to the current directory); pass --model FILE",
            path.display()
        );
    }
    Ok(())
}

/// The card of the model file at `path`, if it has one.
pub fn read_card(path: &Path) -> Result<Option<ModelCard>> {
    Ok(ModelCard::read(path)?)
}

/// The data set, its directory and the normalisation for running the models `cards` (file, card
/// if any), each checked against its card (see the module doc for the rule).
pub fn resolve_data(flags: &DataFlags, cards: &[(&Path, Option<&ModelCard>)]) -> Result<DataChoice> {
    let first_card = cards.iter().find_map(|(_, c)| *c);
    let kind = match (flags.dataset, &flags.data) {
        (Some(k), _) => k,
        (None, Some(dir)) => DatasetKind::detect(dir)
            .or(first_card.map(|c| c.dataset))
            .unwrap_or(DatasetKind::Cifar10),
        (None, None) => DatasetKind::Cifar10,
    };
    let dir = match &flags.data {
        Some(d) => d.clone(),
        None => kind.default_dir()?,
    };
    let spec = flags
        .norm
        .clone()
        .or_else(|| first_card.map(|c| c.normalization.clone()))
        .unwrap_or_else(|| "imagenet".into());
    let norm: Normalization = spec.parse().with_context(|| format!("--norm {spec}"))?;
    let choice = DataChoice {
        kind,
        dir,
        norm,
        norm_spec: spec,
    };
    for (path, card) in cards {
        check_card(flags, path, *card, &choice)?;
    }
    Ok(choice)
}

/// Refuses to run the model at `path` on `choice` when its card says otherwise, unless
/// `--force-mismatch` (or, for the normalisation alone, an explicit `--norm`) says to: then it
/// warns on standard error.
pub fn check_card(flags: &DataFlags, path: &Path, card: Option<&ModelCard>, choice: &DataChoice) -> Result<()> {
    let Some(card) = card else { return Ok(()) };
    let Err(m) = card.check_compatible(path, choice.kind, &choice.norm) else {
        return Ok(());
    };
    let only_norm = card.dataset == choice.kind && card.input_shape == choice.kind.input_shape();
    if flags.force_mismatch {
        eprintln!("warning: {m}; running it anyway (--force-mismatch)");
    } else if only_norm && flags.norm.is_some() {
        eprintln!("warning: {m}; running it with --norm as given");
    } else if only_norm {
        bail!("{m}; pass --norm {} to run it as trained", card.normalization);
    } else {
        let data = if flags.data.is_some() {
            format!(" (at {})", choice.dir.display())
        } else {
            format!(" (the default, {})", choice.dir.display())
        };
        bail!(
            "{m}{data}; run it on its own data (--dataset {} --data DIR) or pass --force-mismatch",
            card.dataset
        );
    }
    Ok(())
}

/// Loads the model at `path` as `pann eval` and the analyses do: the architecture `arch` if
/// given, else the card's, else inferred from the tensors. An `--arch` other than the card's that
/// loads anyway is warned about; one that does not fails on the tensors, naming them.
pub fn load_model(path: &Path, arch: Option<&str>, card: Option<&ModelCard>) -> Result<Model> {
    let given = arch.map(str::parse::<pann_nn::Architecture>).transpose()?;
    let Some(a) = given.or(card.map(|c| c.architecture)) else {
        return Ok(Model::load(path)?);
    };
    let mut model = Model::new(a)?;
    model.load_weights(path)?;
    if let (Some(a), Some(c)) = (given, card) {
        if a != c.architecture {
            eprintln!(
                "warning: {} holds a {} by its card; loaded as --arch {a} as given",
                path.display(),
                c.architecture
            );
        }
    }
    Ok(model)
}

/// Arguments of `pann card`.
#[derive(Args, Debug)]
pub struct CardArgs {
    /// The model file (safetensors).
    model: PathBuf,
    /// Write a card for this data set (with --norm) to --out; the tensors are copied bit for bit.
    #[arg(long, value_enum, requires = "out")]
    dataset: Option<DatasetKind>,
    /// Normalisation the model was trained with, for the card written [default: imagenet].
    #[arg(long, requires = "dataset")]
    norm: Option<String>,
    /// Where to write the model with its card (may be the model file itself).
    #[arg(long, requires = "dataset")]
    out: Option<PathBuf>,
}

/// Runs `pann card`.
pub fn run(args: CardArgs) -> Result<()> {
    let Some(dataset) = args.dataset else {
        match read_card(&args.model)? {
            Some(card) => {
                println!("{}: {} {}", args.model.display(), card.architecture, card.describe())
            }
            None => println!("{}: no model card", args.model.display()),
        }
        return Ok(());
    };
    let out = args.out.as_deref().expect("clap requires --out with --dataset");
    let norm = args.norm.as_deref().unwrap_or("imagenet");
    // The architecture from the tensors, so a card can only describe the network the file holds.
    let arch = Model::load(&args.model)?.architecture();
    let card = ModelCard::new(arch, dataset, norm).with_context(|| format!("{}", args.model.display()))?;
    let bytes = std::fs::read(&args.model).with_context(|| format!("cannot read {}", args.model.display()))?;
    let stamped = pann_nn::model_card::with_card(&args.model, &bytes, &card)?;
    // Through a temporary file beside the target, so a failed write never leaves half a model.
    let tmp = out.with_extension("safetensors.tmp");
    std::fs::write(&tmp, &stamped).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    println!("{}: {} {}", out.display(), card.architecture, card.describe());
    Ok(())
}
