//! Keys, generated once per run and reused for every image, and the two parties that hold them: the client
//! (public key to encrypt, secret key to decrypt) and the server (the evaluator with the relinearisation and
//! rotation keys, never the secret key). Both live in one process here; the split is kept so that the secret
//! key is reachable only through [`Keys::decrypt`].

use std::sync::Arc;
use std::time::Instant;

use pann_he::circuits::EncryptedSlots;
use pann_he::ckks::{Ciphertext, Decryptor, Encoder, Encryptor, Evaluator, Parameters};
use pann_he::rlwe::{KeyGenerator, PublicKey};

use crate::error::Result;

/// One run's keys and the objects that use them.
pub struct Keys {
    params: Arc<Parameters>,
    pk: PublicKey,
    enc: Encryptor,
    dec: Decryptor,
    eval: Evaluator,
    rotation_keys: usize,
    seconds: f64,
}

impl Keys {
    /// Generates the secret, public and relinearisation keys and one rotation key per entry of `rotations`
    /// (fresh randomness from the operating system).
    pub fn generate(params: Arc<Parameters>, rotations: &[i64]) -> Self {
        let t0 = Instant::now();
        let encoder = Arc::new(Encoder::new(params.n()));
        let mut kg = KeyGenerator::new(params.clone());
        let sk = kg.secret_key();
        let pk = kg.public_key(&sk);
        let rlk = kg.relin_key(&sk);
        let gks = kg.galois_keys(&sk, rotations);
        let seconds = t0.elapsed().as_secs_f64();
        let eval = Evaluator::new(params.clone(), encoder.clone(), Some(rlk), gks);
        let enc = Encryptor::new(params.clone(), encoder.clone());
        let dec = Decryptor::new(params.clone(), encoder, sk);
        Self {
            params,
            pk,
            enc,
            dec,
            eval,
            rotation_keys: rotations.len(),
            seconds,
        }
    }

    /// The parameters the keys are for.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// Seconds key generation took.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Number of rotation keys.
    pub fn rotation_keys(&self) -> usize {
        self.rotation_keys
    }

    /// Client: encodes `slots` at the top level and default scale and encrypts them with the public key.
    pub fn encrypt(&mut self, slots: &[f64]) -> Result<Ciphertext> {
        let pt = self
            .enc
            .encode(slots, self.params.max_level(), self.params.default_scale())?;
        Ok(self.enc.encrypt_pk(&pt, &self.pk))
    }

    /// Server: the back end a circuit runs on.
    pub fn server(&self) -> EncryptedSlots<'_> {
        EncryptedSlots { eval: &self.eval }
    }

    /// Client: decrypts and decodes all slots (an error if the message wrapped around the modulus).
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Vec<f64>> {
        Ok(self.dec.decrypt_values(ct, self.params.slots())?)
    }
}
