//! A ResNet through the whole pipeline with bootstrapping, on an insecure small ring (DISCLAIMER: not secure,
//! tests only): a random CIFAR-style ResNet-8 on 8×8 images written as pann-nn writes ResNets, loaded, calibrated,
//! compiled with planned bootstraps, keys made once, images encrypted, run and decrypted against the plaintext
//! mirror; results appended to a JSON-lines file and a resumed run that skips them.

use std::collections::HashMap;

use pann_data::Dataset;
use pann_encrypted::results::{read, run_resumable};
use pann_encrypted::{EncryptedInferenceConfig, ImageResult, Network, Observer, Setup};
use safetensors::tensor::TensorView;
use safetensors::Dtype;

/// Deterministic pseudo-random values in `[lo, hi)`.
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

/// Named `f32` tensors with pseudo-random values.
#[derive(Default)]
struct Tensors {
    list: Vec<(String, Vec<usize>, Vec<f32>)>,
    seed: u64,
}

impl Tensors {
    fn add(&mut self, name: &str, shape: Vec<usize>, lo: f32, hi: f32) {
        self.seed += 1;
        let n = shape.iter().product();
        self.list.push((name.to_string(), shape, values(n, self.seed, lo, hi)));
    }

    fn conv_bn(&mut self, conv: &str, bn: &str, cin: usize, cout: usize) {
        let r = 1.0 / (9.0 * cin as f32).sqrt();
        self.add(&format!("{conv}.weight"), vec![cout, cin, 3, 3], -r, r);
        self.add(&format!("{bn}.weight"), vec![cout], 0.8, 1.2);
        self.add(&format!("{bn}.bias"), vec![cout], -0.2, 0.2);
        self.add(&format!("{bn}.running_mean"), vec![cout], -0.1, 0.1);
        self.add(&format!("{bn}.running_var"), vec![cout], 0.8, 1.2);
    }
}

/// A ResNet-8 (one block per stage, option A) with channels 4, 8, 16 on 3×8×8 inputs.
fn write_resnet8(path: &std::path::Path) {
    let mut t = Tensors::default();
    t.conv_bn("conv1", "bn1", 3, 4);
    let mut cin = 4;
    for (stage, planes) in [4usize, 8, 16].into_iter().enumerate() {
        let q = format!("layer{}.0", stage + 1);
        t.conv_bn(&format!("{q}.conv1"), &format!("{q}.bn1"), cin, planes);
        t.conv_bn(&format!("{q}.conv2"), &format!("{q}.bn2"), planes, planes);
        cin = planes;
    }
    t.add("linear.weight", vec![10, 16], -1.0, 1.0);
    t.add("linear.bias", vec![10], -0.1, 0.1);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = t
        .list
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), b).unwrap()))
        .collect();
    let meta: HashMap<String, String> = [("input_shape".to_string(), "3,8,8".to_string())].into();
    safetensors::serialize_to_file(views, Some(meta), path).unwrap();
}

/// `n` deterministic pseudo-random 3×8×8 images with labels `i mod 10`.
fn synthetic(n: usize) -> Dataset {
    let len = n * 3 * 64;
    Dataset {
        images: (0..len).map(|i| ((i * 2654435761) >> 7) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        n,
        channels: 3,
        height: 8,
        width: 8,
        num_classes: 10,
    }
}

#[derive(Default)]
struct Recorder {
    setups: Vec<Setup>,
    resumed: Vec<usize>,
    images: Vec<ImageResult>,
}

impl Observer for Recorder {
    fn ready(&mut self, setup: &Setup) {
        self.setups.push(setup.clone());
    }
    fn resumed(&mut self, done: usize) {
        self.resumed.push(done);
    }
    fn image(&mut self, result: &ImageResult) {
        self.images.push(result.clone());
    }
}

#[test]
fn a_resnet_runs_encrypted_with_bootstraps_and_resumes_from_its_results_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("resnet8.safetensors");
    write_resnet8(&model);
    let net = Network::load(&model).unwrap();
    assert_eq!(
        (net.name(), net.relu_layers(), net.input_shape()),
        ("resnet", 7, [3, 8, 8])
    );
    let config = EncryptedInferenceConfig {
        alpha: 5,
        images: 2,
        calib_images: 20,
        insecure_bootstrap_log_n: Some(10),
        ..Default::default()
    };
    let (test, calib) = (synthetic(3), synthetic(20));
    let results = dir.path().join("results.jsonl");
    let mut first = Recorder::default();
    // First run: one image, then the second run resumes with it done.
    let one = EncryptedInferenceConfig {
        images: 1,
        ..config.clone()
    };
    let report = run_resumable(&one, &net, &calib, &test, &results, &mut first).unwrap();
    let setup = &first.setups[0];
    assert!(setup.bootstraps_per_image > 0, "{setup:?}");
    assert!(setup.rotations_per_image > 0 && setup.keys_bytes > 0);
    assert_eq!(report.bootstraps_per_image, setup.bootstraps_per_image);
    let r = &first.images[0];
    assert!(r.decryption_failure.is_none(), "{r:?}");
    let err = r.max_logit_error.unwrap();
    eprintln!("logit error after {} bootstraps: {err:.2e}", setup.bootstraps_per_image);
    // Measured 4·10^-8 (bootstrapping at this ring keeps about 25 bits); the bound leaves a factor 250.
    assert!(err < 1e-5, "logit error {err:e}");
    assert_eq!(r.encrypted, Some(r.plaintext_pann));
    assert_eq!(read(&results).unwrap(), first.images);

    let mut second = Recorder::default();
    let report = run_resumable(&config, &net, &calib, &test, &results, &mut second).unwrap();
    assert_eq!(second.resumed, [1]);
    assert_eq!(
        second.images.iter().map(|r| r.index).collect::<Vec<_>>(),
        [1],
        "image 0 is not run again"
    );
    assert_eq!(report.images, 2);
    assert_eq!(read(&results).unwrap().len(), 2);
    // A results file that is not one result per line is an error naming the file and the line.
    std::fs::write(&results, "{\"index\": 0}\n").unwrap();
    let e = run_resumable(&config, &net, &calib, &test, &results, &mut Recorder::default()).unwrap_err();
    assert!(
        e.to_string().contains("results.jsonl") && e.to_string().contains("line 1"),
        "{e}"
    );
}

#[test]
fn a_broken_resnet_file_is_an_error_naming_the_file_and_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("resnet8.safetensors");
    write_resnet8(&good);
    // The same tensors without one of the third stage's: refused, naming it.
    let bytes = std::fs::read(&good).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<(String, TensorView<'_>)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "layer3.0.bn2.running_var")
        .collect();
    let meta: HashMap<String, String> = [("input_shape".to_string(), "3,8,8".to_string())].into();
    let broken = dir.path().join("broken.safetensors");
    safetensors::serialize_to_file(kept, Some(meta), &broken).unwrap();
    let e = Network::load(&broken).unwrap_err().to_string();
    assert!(
        e.contains("broken.safetensors") && e.contains("layer3.0.bn2.running_var"),
        "{e}"
    );
}
