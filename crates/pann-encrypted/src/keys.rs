//! Keys, generated once per run and reused for every image, and the two parties that hold them: the client
//! (public key to encrypt, secret key to decrypt) and the server (the evaluator with the relinearisation and
//! rotation keys, never the secret key). Both live in one process here; the split is kept so that the secret
//! key is reachable only through [`Keys::decrypt`]. A network that bootstraps gets one evaluator, the
//! bootstrapper's, holding the bootstrapping keys and the circuit's rotation keys together (each key once).

use std::sync::Arc;
use std::time::Instant;

use pann_he::bootstrap::{keys as boot_keys, BootstrapParameters, Bootstrapper};
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
    eval: Option<Evaluator>,
    boot: Option<Bootstrapper>,
    rotation_keys: usize,
    bytes: usize,
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
        // The relinearisation key is one switching key at the top level.
        let bytes = params.switching_key_bytes() + gks.bytes();
        let eval = Evaluator::new(params.clone(), encoder.clone(), Some(rlk), gks);
        let enc = Encryptor::new(params.clone(), encoder.clone());
        let dec = Decryptor::new(params.clone(), encoder, sk);
        Self {
            params,
            pk,
            enc,
            dec,
            eval: Some(eval),
            boot: None,
            rotation_keys: rotations.len(),
            bytes,
            seconds,
        }
    }

    /// Generates the secret, public and relinearisation keys, the bootstrapping keys of `boot` and the rotation
    /// keys `rotations` not among them, and builds the [`Bootstrapper`] (whose evaluator runs the circuit).
    pub fn generate_bootstrapping(
        params: Arc<Parameters>,
        boot: &BootstrapParameters,
        rotations: &[i64],
    ) -> Result<Self> {
        let t0 = Instant::now();
        let encoder = Arc::new(Encoder::new(params.n()));
        let mut kg = KeyGenerator::new(params.clone());
        let sk = kg.secret_key();
        let pk = kg.public_key(&sk);
        let ring = params.ring();
        let extra: Vec<u64> = rotations.iter().map(|&k| ring.galois_element(k)).collect();
        // Rotation keys stored whole, as pann-he's bootstrapping keys: with 4 key-switching digits they fit
        // (about 6.5 GB at N = 2^16), and regenerating compressed masks would double the bootstrap's time.
        let keys = boot_keys::generate_with(&mut kg, &sk, &params, boot, &extra, false)?;
        let mut elements = boot_keys::galois_elements(&params, boot);
        elements.extend_from_slice(&extra);
        elements.sort_unstable();
        elements.dedup();
        let bytes = keys.bytes();
        let bootstrapper = Bootstrapper::new(params.clone(), encoder.clone(), boot.clone(), keys)?;
        let seconds = t0.elapsed().as_secs_f64();
        let enc = Encryptor::new(params.clone(), encoder.clone());
        let dec = Decryptor::new(params.clone(), encoder, sk);
        Ok(Self {
            params,
            pk,
            enc,
            dec,
            eval: None,
            boot: Some(bootstrapper),
            rotation_keys: elements.len(),
            bytes,
            seconds,
        })
    }

    /// The bootstrapper, for a network that bootstraps.
    pub fn bootstrapper(&self) -> Option<&Bootstrapper> {
        self.boot.as_ref()
    }

    /// Bytes of the evaluation keys (relinearisation, rotations, conjugation).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The parameters the keys are for.
    pub fn params(&self) -> &Arc<Parameters> {
        &self.params
    }

    /// Seconds key generation took.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Number of rotation keys (Galois keys, with the conjugation key when bootstrapping).
    pub fn rotation_keys(&self) -> usize {
        self.rotation_keys
    }

    /// Client: encodes `slots` at `level` and the default scale and encrypts them with the public key.
    pub fn encrypt(&mut self, slots: &[f64], level: usize) -> Result<Ciphertext> {
        let pt = self.enc.encode(slots, level, self.params.default_scale())?;
        Ok(self.enc.encrypt_pk(&pt, &self.pk))
    }

    /// Server: the back end a circuit runs on (the bootstrapper's evaluator when there is one).
    pub fn server(&self) -> EncryptedSlots<'_> {
        let eval = match (&self.eval, &self.boot) {
            (Some(e), _) => e,
            (None, Some(b)) => b.evaluator(),
            (None, None) => unreachable!("keys are generated with an evaluator or a bootstrapper"),
        };
        EncryptedSlots { eval }
    }

    /// Client: decrypts and decodes all slots (an error if the message wrapped around the modulus).
    pub fn decrypt(&self, ct: &Ciphertext) -> Result<Vec<f64>> {
        Ok(self.dec.decrypt_values(ct, self.params.slots())?)
    }
}
