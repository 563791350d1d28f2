//! One image end to end: the client encrypts it, the server runs the circuit, the client decrypts the logits;
//! the same image through the plaintext PANN (the same program on `f64` slots) and the exact network gives the
//! predictions to compare with.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::keys::Keys;
use crate::network::{Circuit, Network};

/// What one image gave. Serialisable, so that a long run can append one line per image and resume from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    /// Index of the image in the test set.
    pub index: usize,
    /// Its label.
    pub label: usize,
    /// Class predicted by the decrypted logits; `None` when decryption failed.
    pub encrypted: Option<usize>,
    /// Class predicted by the plaintext PANN.
    pub plaintext_pann: usize,
    /// Class predicted by the exact network.
    pub exact: usize,
    /// Decrypted logits; `None` when decryption failed.
    pub logits_encrypted: Option<Vec<f64>>,
    /// Logits of the plaintext PANN.
    pub logits_plaintext_pann: Vec<f64>,
    /// Largest `|encrypted − plaintext PANN|` over the logits; `None` when decryption failed.
    pub max_logit_error: Option<f64>,
    /// Why decryption failed (the message wrapped around the modulus: a ReLU input far beyond its bound).
    pub decryption_failure: Option<String>,
    /// ReLU inputs of the plaintext PANN outside their bound.
    pub relu_input_overflows: usize,
    /// Seconds of the server's work (the encrypted circuit).
    pub eval_seconds: f64,
    /// Seconds from the start of the encrypted circuit to the comparison done (with decryption).
    pub seconds: f64,
}

/// The index of the largest value (the first of equal ones).
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) },
        )
        .0
}

/// Runs image `index` (normalised CHW, label `label`) encrypted and in plaintext.
pub fn run_image(
    net: &Network,
    circuit: &Circuit,
    keys: &mut Keys,
    index: usize,
    image: &[f64],
    label: usize,
) -> Result<ImageResult> {
    let (plain, overflows) = circuit.run_plain(image)?;
    let exact = net.exact_logits(image);
    let level = circuit.input_level(keys.params().max_level());
    let ct = keys.encrypt(&circuit.input_slots(image)?, level)?;
    let t = Instant::now();
    let out = circuit.run(keys, &ct)?;
    let eval_seconds = t.elapsed().as_secs_f64();
    // A failed decryption is reported with the image, not as an error of the run: the other images still count.
    let (decrypted, decryption_failure) = match keys.decrypt(&out) {
        Ok(v) => (
            Some(circuit.logit_slots().iter().map(|&s| v[s]).collect::<Vec<f64>>()),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    let max_logit_error = decrypted.as_ref().map(|logits| {
        logits
            .iter()
            .zip(&plain)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    });
    Ok(ImageResult {
        index,
        label,
        encrypted: decrypted.as_deref().map(argmax),
        plaintext_pann: argmax(&plain),
        exact: argmax(&exact),
        logits_encrypted: decrypted,
        logits_plaintext_pann: plain,
        max_logit_error,
        decryption_failure,
        relu_input_overflows: overflows,
        eval_seconds,
        seconds: t.elapsed().as_secs_f64(),
    })
}
