//! A model file that knows what it is: the [`ModelCard`] in a safetensors file's metadata.
//!
//! Why: a network is only meaningful on the data and normalisation it was trained with. Fed
//! another data set of the same shape, it still runs and gives a plausible-looking accuracy (a
//! Fashion-MNIST SmallCNN scores about 20% on CIFAR-10, with no warning). The card travels inside
//! the weight file, so every command can take its data set and normalisation as defaults and
//! refuse a mismatch ([`ModelCard::check_compatible`]).
//!
//! # Keys
//! Strings in the safetensors `__metadata__` map, beside `format = pt`:
//!
//! | key             | example        | meaning                                                    |
//! |-----------------|----------------|------------------------------------------------------------|
//! | `architecture`  | `resnet20`     | [`Architecture`]'s name (classes are `num_classes`)        |
//! | `dataset`       | `cifar10`      | [`DatasetKind`]'s name                                     |
//! | `num_classes`   | `10`           | outputs of the network                                     |
//! | `input_shape`   | `3,32,32`      | `C,H,W` of one input image as the network takes it         |
//! | `normalization` | `imagenet`     | as [`Normalization`] parses it (a preset or `MEAN/STD`)    |
//!
//! A file with none of the last four keys has no card (the bundled akamaster ResNet-20, a user's
//! PyTorch export, pann files written before cards, which hold `architecture` only) and works as
//! before. A file with some but not all of them, or with a value that does not parse, is refused:
//! a half card cannot be trusted.
//!
//! # Deterministic files
//! The `safetensors` crate takes the metadata as a `HashMap`, whose order differs from run to run,
//! so two identical training runs used to write files differing in their header.
//! [`serialize`] writes the metadata keys sorted, so equal weights and card give equal bytes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use pann_data::{DatasetKind, Normalization};
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;

use crate::error::{Error, Result};
use crate::models::Architecture;

/// Metadata key of the architecture name (also written without a card).
pub const ARCHITECTURE: &str = "architecture";
/// Metadata key of the data set name.
pub const DATASET: &str = "dataset";
/// Metadata key of the class count.
pub const NUM_CLASSES: &str = "num_classes";
/// Metadata key of the input shape `C,H,W`.
pub const INPUT_SHAPE: &str = "input_shape";
/// Metadata key of the input normalisation.
pub const NORMALIZATION: &str = "normalization";
/// The keys that make a card (a file with none of them has none).
const CARD_KEYS: [&str; 4] = [DATASET, NUM_CLASSES, INPUT_SHAPE, NORMALIZATION];

/// What a model file says about the network it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCard {
    /// The architecture, with its class count.
    pub architecture: Architecture,
    /// The data set it was trained on.
    pub dataset: DatasetKind,
    /// `[C, H, W]` of one input image as the network takes it (Fashion-MNIST: `[3, 32, 32]`,
    /// the grey plane copied and padded, see [`pann_data::grey_to_rgb32`]).
    pub input_shape: [usize; 3],
    /// The normalisation spec it was trained with, as [`Normalization`] parses it (`imagenet`).
    pub normalization: String,
}

/// A model asked to run on something other than what its card says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The model file.
    pub path: String,
    /// What it was trained on (data set, input shape, normalisation).
    pub trained: String,
    /// What was asked for instead.
    pub asked: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} was trained on {}, but {}", self.path, self.trained, self.asked)
    }
}

impl std::error::Error for Mismatch {}

impl ModelCard {
    /// The card of a network of `architecture` trained on `dataset` with `normalization`; the
    /// input shape is the data set's. Fails when the spec does not parse or the architecture's
    /// class count is not the data set's.
    pub fn new(architecture: Architecture, dataset: DatasetKind, normalization: &str) -> Result<Self> {
        let card = Self {
            architecture,
            dataset,
            input_shape: dataset.input_shape(),
            normalization: normalization.trim().to_string(),
        };
        card.validate().map_err(Error::BadInput)?;
        Ok(card)
    }

    /// The normalisation, parsed.
    pub fn normalization(&self) -> Normalization {
        self.normalization
            .parse()
            .expect("a card's normalisation is checked when it is made or read")
    }

    fn validate(&self) -> std::result::Result<(), String> {
        self.normalization.parse::<Normalization>().map_err(|e| e.to_string())?;
        let classes = self.architecture.num_classes();
        if classes != self.dataset.num_classes() {
            return Err(format!(
                "{} has {classes} classes, {} has {}",
                self.architecture,
                self.dataset,
                self.dataset.num_classes()
            ));
        }
        Ok(())
    }

    /// One line for messages: `fashion-mnist (10 classes, input 3×32×32, normalisation imagenet)`.
    pub fn describe(&self) -> String {
        let [c, h, w] = self.input_shape;
        format!(
            "{} ({} classes, input {c}×{h}×{w}, normalisation {})",
            self.dataset,
            self.architecture.num_classes(),
            self.normalization
        )
    }

    /// The metadata entries of the card.
    pub fn to_metadata(&self) -> BTreeMap<String, String> {
        let [c, h, w] = self.input_shape;
        BTreeMap::from([
            (ARCHITECTURE.to_string(), self.architecture.to_string()),
            (DATASET.to_string(), self.dataset.to_string()),
            (NUM_CLASSES.to_string(), self.architecture.num_classes().to_string()),
            (INPUT_SHAPE.to_string(), format!("{c},{h},{w}")),
            (NORMALIZATION.to_string(), self.normalization.clone()),
        ])
    }

    /// The card in a file's metadata; `None` when it has no card key (see the module doc).
    pub fn from_metadata(path: &Path, meta: &HashMap<String, String>) -> Result<Option<Self>> {
        let present: Vec<&str> = CARD_KEYS.into_iter().filter(|k| meta.contains_key(*k)).collect();
        if present.is_empty() {
            return Ok(None);
        }
        let bad = |problem: String| Error::BadCard {
            path: path.to_path_buf(),
            problem,
        };
        let get = |key: &str| {
            meta.get(key)
                .map(|v| v.trim())
                .ok_or_else(|| bad(format!("`{key}` is missing (the file has {})", present.join(", "))))
        };
        let architecture: Architecture = get(ARCHITECTURE)?
            .parse()
            .map_err(|e: Error| bad(format!("`{ARCHITECTURE}`: {e}")))?;
        let dataset: DatasetKind = get(DATASET)?
            .parse()
            .map_err(|e: pann_data::Error| bad(format!("`{DATASET}`: {e}")))?;
        let classes: usize = get(NUM_CLASSES)?
            .parse()
            .map_err(|e| bad(format!("`{NUM_CLASSES}`: {e}")))?;
        let shape = get(INPUT_SHAPE)?;
        let dims: Vec<usize> = shape
            .split(',')
            .map(|d| d.trim().parse())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("`{INPUT_SHAPE}` {shape:?}: expected C,H,W")))?;
        let input_shape: [usize; 3] = dims
            .try_into()
            .map_err(|_| bad(format!("`{INPUT_SHAPE}` {shape:?}: expected C,H,W")))?;
        let card = Self {
            architecture: architecture.with_classes(classes),
            dataset,
            input_shape,
            normalization: get(NORMALIZATION)?.to_string(),
        };
        card.validate().map_err(bad)?;
        Ok(Some(card))
    }

    /// Reads the card of the safetensors file at `path` (only its header is parsed).
    pub fn read(path: &Path) -> Result<Option<Self>> {
        let bytes = std::fs::read(path).map_err(|cause| Error::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        // The same checks and messages as reading the weights (not safetensors, truncated, …).
        crate::weights::check_framing(path, &bytes)?;
        let (_, meta) =
            SafeTensors::read_metadata(&bytes).map_err(|e| crate::weights::deserialize_error(path, &bytes, e))?;
        Self::from_metadata(path, meta.metadata().as_ref().unwrap_or(&HashMap::new()))
    }

    /// Refuses a run on `dataset` (input images `input_shape`) normalised by `normalization`, when
    /// the card says otherwise; `path` names the file in the message.
    pub fn check_compatible(
        &self,
        path: &Path,
        dataset: DatasetKind,
        normalization: &Normalization,
    ) -> std::result::Result<(), Mismatch> {
        let mismatch = |asked: String| Mismatch {
            path: path.display().to_string(),
            trained: self.describe(),
            asked,
        };
        if dataset != self.dataset {
            return Err(mismatch(format!("the data is {dataset}")));
        }
        let [c, h, w] = dataset.input_shape();
        if dataset.input_shape() != self.input_shape {
            return Err(mismatch(format!("{dataset} images are {c}×{h}×{w}")));
        }
        if *normalization != self.normalization() {
            return Err(mismatch(format!("the normalisation asked is {normalization}")));
        }
        Ok(())
    }
}

/// A safetensors file of `tensors` with `metadata`, as bytes: the `safetensors` crate's layout
/// (tensors sorted by dtype alignment, then name) with the metadata keys in sorted order, so that
/// the bytes depend on the contents only.
pub fn serialize<'a>(
    tensors: impl IntoIterator<Item = (&'a str, TensorView<'a>)>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let bad = |e: safetensors::SafeTensorError| Error::BadInput(format!("cannot serialise the tensors: {e}"));
    let plain = safetensors::serialize(tensors, None).map_err(bad)?;
    let n = u64::from_le_bytes(plain[..8].try_into().expect("8-byte header length")) as usize;
    let tensors_header = std::str::from_utf8(&plain[8..8 + n])
        .map_err(|e| Error::BadInput(format!("safetensors header is not UTF-8: {e}")))?
        .trim_end();
    let entries = tensors_header
        .strip_prefix('{')
        .and_then(|h| h.strip_suffix('}'))
        .expect("a safetensors header is a JSON object");
    let meta = serde_json::to_string(metadata).expect("a string map serialises");
    let mut header = format!("{{\"__metadata__\":{meta}");
    if !entries.is_empty() {
        header.push(',');
        header.push_str(entries);
    }
    header.push('}');
    // The data starts 8-byte aligned, as the safetensors crate pads its header.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + plain.len() - 8 - n);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&plain[8 + n..]);
    Ok(out)
}

/// The bytes of the safetensors file `bytes` with `card` in its metadata, every tensor (names,
/// dtypes, shapes, data) as it was, and any other metadata entry kept (say `source`). What
/// `pann card --write` does to a file trained before cards.
pub fn with_card(path: &Path, bytes: &[u8], card: &ModelCard) -> Result<Vec<u8>> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::NotSafetensors {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| Error::NotSafetensors {
        path: path.to_path_buf(),
        problem: e.to_string(),
    })?;
    let mut metadata: BTreeMap<String, String> = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    metadata.extend(card.to_metadata());
    let names = st.names();
    let views = names
        .iter()
        .map(|&name| st.tensor(name).map(|v| (name, v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::NotSafetensors {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
    serialize(views, &metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(dataset: DatasetKind) -> ModelCard {
        ModelCard::new("smallcnn".parse().unwrap(), dataset, "imagenet").unwrap()
    }

    #[test]
    fn metadata_round_trip() {
        let path = Path::new("m.safetensors");
        let c = card(DatasetKind::FashionMnist);
        let meta: HashMap<String, String> = c.to_metadata().into_iter().collect();
        assert_eq!(ModelCard::from_metadata(path, &meta).unwrap(), Some(c.clone()));
        assert_eq!(meta[INPUT_SHAPE], "3,32,32");
        // No card key: no card (an architecture alone is what pann wrote before cards).
        let old = HashMap::from([(ARCHITECTURE.to_string(), "resnet20".to_string())]);
        assert_eq!(ModelCard::from_metadata(path, &old).unwrap(), None);
        // Half a card, or a bad value, is refused by name.
        let mut half = meta.clone();
        half.remove(NORMALIZATION);
        let err = ModelCard::from_metadata(path, &half).unwrap_err().to_string();
        assert!(
            err.contains("m.safetensors") && err.contains("`normalization` is missing"),
            "{err}"
        );
        let mut bad = meta;
        bad.insert(NUM_CLASSES.into(), "100".into());
        let err = ModelCard::from_metadata(path, &bad).unwrap_err().to_string();
        assert!(err.contains("100 classes") || err.contains("has 10"), "{err}");
    }

    #[test]
    fn check_names_file_training_and_request() {
        let c = card(DatasetKind::FashionMnist);
        let path = Path::new("models/f.safetensors");
        assert!(c
            .check_compatible(path, DatasetKind::FashionMnist, &Normalization::imagenet())
            .is_ok());
        let m = c
            .check_compatible(path, DatasetKind::Cifar10, &Normalization::imagenet())
            .unwrap_err()
            .to_string();
        assert!(
            m.starts_with("models/f.safetensors was trained on fashion-mnist") && m.ends_with("the data is cifar10"),
            "{m}"
        );
        let m = c
            .check_compatible(path, DatasetKind::FashionMnist, &Normalization::cifar())
            .unwrap_err()
            .to_string();
        assert!(m.contains("normalisation asked is 0.4914"), "{m}");
    }

    #[test]
    fn serialize_sorts_metadata_and_keeps_data_aligned() {
        let data: Vec<u8> = (0..24).collect();
        let view = || TensorView::new(safetensors::Dtype::F32, vec![2, 3], &data).unwrap();
        let meta = card(DatasetKind::Cifar10).to_metadata();
        let a = serialize([("w", view())], &meta).unwrap();
        // The same map built in another insertion order gives the same bytes.
        let reversed: BTreeMap<String, String> = meta.clone().into_iter().rev().collect();
        assert_eq!(serialize([("w", view())], &reversed).unwrap(), a);
        let n = u64::from_le_bytes(a[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&a[8..8 + n]).unwrap();
        let keys: Vec<usize> = meta.keys().map(|k| header.find(&format!("\"{k}\"")).unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{header}");
        let st = SafeTensors::deserialize(&a).unwrap();
        assert_eq!(st.tensor("w").unwrap().data(), &data[..]);
        let back = ModelCard::from_metadata(
            Path::new("x"),
            SafeTensors::read_metadata(&a).unwrap().1.metadata().as_ref().unwrap(),
        )
        .unwrap();
        assert_eq!(back, Some(card(DatasetKind::Cifar10)));
    }

    #[test]
    fn with_card_keeps_tensors_and_other_metadata() {
        let data: Vec<u8> = (0..16).collect();
        let half: Vec<u8> = (0..4).collect();
        let views = [
            ("b", TensorView::new(safetensors::Dtype::F16, vec![2], &half).unwrap()),
            ("a", TensorView::new(safetensors::Dtype::F32, vec![4], &data).unwrap()),
        ];
        let meta = HashMap::from([("source".to_string(), "x.th".to_string())]);
        let original = safetensors::serialize(views, Some(meta)).unwrap();
        let c = card(DatasetKind::Cifar10);
        let stamped = with_card(Path::new("x"), &original, &c).unwrap();
        let (before, after) = (
            SafeTensors::deserialize(&original).unwrap(),
            SafeTensors::deserialize(&stamped).unwrap(),
        );
        for name in ["a", "b"] {
            let (x, y) = (before.tensor(name).unwrap(), after.tensor(name).unwrap());
            assert_eq!((x.dtype(), x.shape(), x.data()), (y.dtype(), y.shape(), y.data()));
        }
        let (_, m) = SafeTensors::read_metadata(&stamped).unwrap();
        let m = m.metadata().as_ref().unwrap();
        assert_eq!(m["source"], "x.th");
        assert_eq!(ModelCard::from_metadata(Path::new("x"), m).unwrap(), Some(c.clone()));
        // Stamping twice changes nothing.
        assert_eq!(with_card(Path::new("x"), &stamped, &c).unwrap(), stamped);
    }
}
