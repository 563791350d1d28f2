//! Malformed weight files give errors that name the file and the tensor, never a panic or a
//! half-loaded model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pann_nn::{Error, Model};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// A saved ResNet-20 (random weights) and its tensors as (dtype, shape, bytes).
struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    good: PathBuf,
    tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.safetensors");
    Model::new("resnet20".parse().unwrap()).unwrap().save(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    Fixture {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        good,
        tensors,
    }
}

fn write(path: &Path, tensors: &BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>) {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, (d, s, b))| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, None, path).unwrap();
}

fn load_err(path: &Path) -> Error {
    let mut model = Model::new("resnet20".parse().unwrap()).unwrap();
    let err = model.load_weights(path).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message lacks the file: {msg}"
    );
    err
}

#[test]
fn good_file_loads_with_module_prefix_and_num_batches_tracked() {
    let f = fixture();
    let mut t: BTreeMap<_, _> = f
        .tensors
        .iter()
        .map(|(n, v)| (format!("module.{n}"), v.clone()))
        .collect();
    t.insert(
        "module.bn1.num_batches_tracked".into(),
        (Dtype::I64, vec![], 0i64.to_le_bytes().to_vec()),
    );
    let p = f.dir.join("prefixed.safetensors");
    write(&p, &t);
    let model = Model::load(&p).unwrap();
    assert_eq!(model.architecture().to_string(), "resnet20");
    Model::load(&f.good).unwrap();
}

#[test]
fn truncated_file() {
    let f = fixture();
    let bytes = std::fs::read(&f.good).unwrap();
    let p = f.dir.join("cut.safetensors");
    std::fs::write(&p, &bytes[..bytes.len() - 1000]).unwrap();
    let err = load_err(&p);
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    // Cut inside the JSON header.
    std::fs::write(&p, &bytes[..40]).unwrap();
    assert!(matches!(load_err(&p), Error::Truncated { .. }));
}

#[test]
fn garbage_and_empty_files() {
    let f = fixture();
    let p = f.dir.join("garbage.safetensors");
    std::fs::write(&p, b"PK\x03\x04 this is a zip archive, not safetensors, honestly").unwrap();
    let err = load_err(&p);
    assert!(matches!(err, Error::NotSafetensors { .. }), "{err}");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(load_err(&p), Error::NotSafetensors { .. }));
    // Valid framing, broken JSON.
    let mut b = 10u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{not json}");
    std::fs::write(&p, &b).unwrap();
    assert!(matches!(load_err(&p), Error::NotSafetensors { .. }));
}

#[test]
fn missing_file() {
    let f = fixture();
    let err = load_err(&f.dir.join("nope.safetensors"));
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn missing_tensor() {
    let f = fixture();
    let mut t = f.tensors.clone();
    t.remove("layer2.1.bn2.running_var");
    let p = f.dir.join("missing.safetensors");
    write(&p, &t);
    let err = load_err(&p);
    assert!(
        matches!(&err, Error::MissingTensor { name, .. } if name == "layer2.1.bn2.running_var"),
        "{err}"
    );
    assert!(err.to_string().contains("layer2.1.bn2.running_var"));
}

#[test]
fn misshaped_tensor() {
    let f = fixture();
    let mut t = f.tensors.clone();
    let (d, _, b) = t["linear.weight"].clone();
    t.insert("linear.weight".into(), (d, vec![64, 10], b));
    let p = f.dir.join("shape.safetensors");
    write(&p, &t);
    let err = load_err(&p);
    assert!(
        matches!(&err, Error::ShapeMismatch { name, expected, found, .. }
            if name == "linear.weight" && expected == &[10, 64] && found == &[64, 10]),
        "{err}"
    );
}

#[test]
fn unexpected_tensor_and_dtype() {
    let f = fixture();
    let mut t = f.tensors.clone();
    t.insert("fc.weight".into(), (Dtype::F32, vec![1], vec![0; 4]));
    let p = f.dir.join("extra.safetensors");
    write(&p, &t);
    let err = load_err(&p);
    assert!(
        matches!(&err, Error::UnexpectedTensor { name, .. } if name == "fc.weight"),
        "{err}"
    );

    let mut t = f.tensors.clone();
    t.insert("linear.bias".into(), (Dtype::I32, vec![10], vec![0; 40]));
    write(&p, &t);
    let err = load_err(&p);
    assert!(
        matches!(&err, Error::UnsupportedDtype { name, .. } if name == "linear.bias"),
        "{err}"
    );
}

#[test]
fn failed_load_leaves_the_model_unchanged() {
    let f = fixture();
    let mut t = f.tensors.clone();
    t.remove("linear.bias");
    let p = f.dir.join("partial.safetensors");
    write(&p, &t);
    let mut model = Model::new("resnet20".parse().unwrap()).unwrap();
    let before = model.var_store().variables()["conv1.weight"].copy();
    assert!(model.load_weights(&p).is_err());
    assert!(model.var_store().variables()["conv1.weight"].equal(&before));
}

#[test]
fn unknown_architecture() {
    let f = fixture();
    let mut t = BTreeMap::new();
    t.insert("encoder.weight".to_string(), (Dtype::F32, vec![2], vec![0; 8]));
    let p = f.dir.join("other.safetensors");
    write(&p, &t);
    let err = Model::load(&p).err().unwrap();
    assert!(matches!(err, Error::UnknownArchitecture { .. }), "{err}");
    // A ResNet with a gap in its blocks.
    let mut t = f.tensors.clone();
    t.retain(|k, _| !k.starts_with("layer3.1."));
    write(&p, &t);
    let err = Model::load(&p).err().unwrap();
    assert!(err.to_string().contains("layer1..3"), "{err}");
}

/// A saved SmallCNN's tensors, for malformed variants of it.
fn smallcnn_tensors(dir: &Path) -> BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> {
    let p = dir.join("smallcnn.safetensors");
    Model::new("smallcnn".parse().unwrap()).unwrap().save(&p).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect()
}

/// `name` replaced by zeros of `shape`.
fn reshaped(
    t: &BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
    name: &str,
    shape: Vec<usize>,
) -> BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> {
    let mut t = t.clone();
    let n: usize = shape.iter().product();
    t.insert(name.into(), (Dtype::F32, shape, vec![0; 4 * n]));
    t
}

#[test]
fn smallcnn_with_inconsistent_shapes() {
    let f = fixture();
    let good = smallcnn_tensors(&f.dir);
    let p = f.dir.join("bad-smallcnn.safetensors");

    // conv2 takes 4 channels but conv1 gives 8: no SmallCNN, and the message says why.
    write(&p, &reshaped(&good, "conv2.weight", vec![16, 4, 3, 3]));
    let err = Model::load(&p).err().unwrap();
    assert!(matches!(err, Error::UnknownArchitecture { .. }), "{err}");
    let msg = err.to_string();
    for part in [
        "conv2.weight",
        "[16, 4, 3, 3]",
        "[c2, 8, 3, 3]",
        &p.display().to_string(),
    ] {
        assert!(msg.contains(part), "{part:?} not in: {msg}");
    }
    // Loaded into a `smallcnn` it is a shape mismatch naming the tensor.
    let mut model = Model::new("smallcnn".parse().unwrap()).unwrap();
    let err = model.load_weights(&p).unwrap_err();
    assert!(
        matches!(&err, Error::ShapeMismatch { name, expected, found, .. }
            if name == "conv2.weight" && expected == &[16, 8, 3, 3] && found == &[16, 4, 3, 3]),
        "{err}"
    );

    // A linear layer that does not take c2·8·8 features.
    write(&p, &reshaped(&good, "fc.weight", vec![10, 16 * 7 * 7]));
    let err = Model::load(&p).err().unwrap();
    assert!(
        err.to_string().contains("fc.weight") && err.to_string().contains("[classes, 1024]"),
        "{err}"
    );
    // A first convolution on 1-channel input.
    write(&p, &reshaped(&good, "conv1.weight", vec![8, 1, 3, 3]));
    let err = Model::load(&p).err().unwrap();
    assert!(err.to_string().contains("[c1, 3, 3, 3]"), "{err}");
    // conv2 missing altogether.
    let mut t = good.clone();
    t.remove("conv2.weight");
    write(&p, &t);
    let err = Model::load(&p).err().unwrap();
    assert!(
        matches!(err, Error::UnknownArchitecture { .. }) && err.to_string().contains("`conv2.weight` is missing"),
        "{err}"
    );
    // BN statistics of the wrong width get past inference and stop at the strict copy.
    write(&p, &reshaped(&good, "bn2.running_mean", vec![8]));
    let err = Model::load(&p).err().unwrap();
    assert!(
        matches!(&err, Error::ShapeMismatch { name, .. } if name == "bn2.running_mean"),
        "{err}"
    );

    // Consistent other widths load as what they are.
    let mut t = reshaped(&good, "conv1.weight", vec![4, 3, 3, 3]);
    for (name, shape) in [
        ("bn1.weight", vec![4]),
        ("bn1.bias", vec![4]),
        ("bn1.running_mean", vec![4]),
        ("bn1.running_var", vec![4]),
        ("conv2.weight", vec![16, 4, 3, 3]),
    ] {
        t = reshaped(&t, name, shape);
    }
    write(&p, &t);
    let model = Model::load(&p).unwrap();
    assert_eq!(model.architecture().to_string(), "smallcnn4x16");
}

#[test]
fn nan_or_infinite_weights_are_refused_with_tensor_and_index() {
    let f = fixture();
    for (bad, shown) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf"), (f32::NEG_INFINITY, "-inf")] {
        let mut t = f.tensors.clone();
        let (dtype, _, bytes) = t.get_mut("layer2.1.conv1.weight").unwrap();
        assert_eq!(*dtype, Dtype::F32);
        bytes[4 * 7..4 * 8].copy_from_slice(&bad.to_le_bytes());
        let p = f.dir.join("nonfinite.safetensors");
        write(&p, &t);
        let err = load_err(&p);
        match &err {
            Error::NonFinite { name, index, .. } => {
                assert_eq!(name, "layer2.1.conv1.weight");
                assert_eq!(*index, 7);
            }
            other => panic!("expected NonFinite, got {other}"),
        }
        assert!(err.to_string().contains(shown), "{err}");
        assert!(Model::load(&p).is_err(), "Model::load must refuse it too");
    }
}

#[test]
fn io_errors_name_the_cause_once() {
    let f = fixture();
    let err = load_err(&f.dir);
    let chain = anyhow_like(&err);
    assert_eq!(chain.matches("Is a directory").count(), 1, "{chain}");
}

/// Formats an error with its whole `source()` chain, as the CLI's `{:#}` does.
fn anyhow_like(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s += &format!(": {c}");
        cur = c.source();
    }
    s
}
