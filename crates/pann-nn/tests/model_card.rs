//! Model cards in saved files: written with the weights, read back, absent from files without one,
//! and files byte-identical for identical weights (the safetensors crate alone orders the metadata
//! differently from one write to the next).

use pann_data::DatasetKind;
use pann_nn::{Model, ModelCard};

#[test]
fn saved_card_round_trips_and_weights_load_unchanged() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let model = Model::new("smallcnn".parse()?)?;
    let card = ModelCard::new(model.architecture(), DatasetKind::FashionMnist, "imagenet")?;
    let with = dir.path().join("with.safetensors");
    model.save_with_card(&with, &card)?;
    assert_eq!(ModelCard::read(&with)?, Some(card.clone()));
    assert_eq!(card.input_shape, [3, 32, 32]);
    let back = Model::load(&with)?;
    assert_eq!(back.architecture(), model.architecture());
    let (a, b) = (model.var_store().variables(), back.var_store().variables());
    for (name, t) in &a {
        assert!(t.equal(&b[name]), "{name} differs after a round trip");
    }
    // Without a card, there is none to read (what pann wrote before cards, and PyTorch exports).
    let without = dir.path().join("without.safetensors");
    model.save(&without)?;
    assert_eq!(ModelCard::read(&without)?, None);
    // A card of another architecture is refused rather than written.
    let resnet = ModelCard::new("resnet20".parse()?, DatasetKind::Cifar10, "imagenet")?;
    let err = model
        .save_with_card(&dir.path().join("x.safetensors"), &resnet)
        .unwrap_err();
    assert!(err.to_string().contains("resnet20"), "{err}");
    Ok(())
}

#[test]
fn identical_weights_give_identical_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let model = Model::new("smallcnn".parse()?)?;
    let card = ModelCard::new(model.architecture(), DatasetKind::Cifar10, "cifar")?;
    let mut files = Vec::new();
    // Each write builds its metadata afresh; a hash map's order would differ between them.
    for i in 0..4 {
        let p = dir.path().join(format!("m{i}.safetensors"));
        model.save_with_card(&p, &card)?;
        files.push(std::fs::read(&p)?);
    }
    assert!(files.windows(2).all(|w| w[0] == w[1]), "the files differ");
    Ok(())
}

#[test]
fn reading_a_card_fails_as_reading_the_weights_does() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let whole = dir.path().join("whole.safetensors");
    let model = Model::new("smallcnn".parse()?)?;
    model.save_with_card(
        &whole,
        &ModelCard::new(model.architecture(), DatasetKind::Cifar10, "imagenet")?,
    )?;
    let bytes = std::fs::read(&whole)?;
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2])?;
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a model")?;
    for bad in [cut, junk] {
        let (card, weights) = (
            ModelCard::read(&bad).unwrap_err().to_string(),
            Model::load(&bad).err().unwrap().to_string(),
        );
        assert_eq!(card, weights);
    }
    assert!(ModelCard::read(&dir.path().join("cut.safetensors"))
        .unwrap_err()
        .to_string()
        .contains("truncated"));
    Ok(())
}
