//! The `config.json` of every committed model still reads as a [`TrainConfig`]: the data set names
//! (`cifar10`, `fashion-mnist`) are those of `pann_data::DatasetKind`, which the trainer now shares
//! with every command.

use pann_data::DatasetKind;
use pann_train::TrainConfig;

#[test]
fn committed_configs_still_load_with_their_data_sets() {
    let models = pann_data::test_utils::repo_dir().join("models");
    let mut read = 0;
    for entry in std::fs::read_dir(&models).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".config.json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg: TrainConfig = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = if name.starts_with("smallcnn-fashion-mnist") {
            DatasetKind::FashionMnist
        } else {
            DatasetKind::Cifar10
        };
        assert_eq!(cfg.dataset, want, "{name}");
        cfg.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        // Written back, the data set keeps the name it was read under.
        let again = serde_json::to_value(&cfg).unwrap();
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(again["dataset"], original["dataset"], "{name}");
        read += 1;
    }
    assert_eq!(read, 8, "one config per committed model");
}
