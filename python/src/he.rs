//! `pann.he`: pann-he's RNS-CKKS from Python — a context from the named presets, keys, encryption of NumPy
//! vectors, the homomorphic operations, bootstrapping and the PANN ReLU.
//!
//! Every check of the Rust side stays in force (levels and scales carried by each ciphertext, the wrap-around
//! check at decryption, the file format's magic, kind, parameter fingerprint, length and CRC) and comes out as
//! `pann.PannError` with the Rust message. The secret key has no file format and prints as `<redacted>`; it
//! cannot be pickled.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pann_approx::CompositeSign;
use pann_he::bootstrap::{self, BootstrapKeys, BootstrapParameters, Bootstrapper};
use pann_he::circuits::poly_eval::eval_odd_poly;
use pann_he::ckks::{presets, Ciphertext, Decryptor, Encoder, Encryptor, Evaluator, Parameters, Security};
use pann_he::rlwe::GaloisKeys;
use pann_he::rlwe::{KeyGenerator, PublicKey, RelinKey, SecretKey};
use pann_he::serialize;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::approx::design;
use crate::error::{he_err, PannError};

/// CKKS parameters, an encoder and the bootstrapping shape when the preset has one.
#[pyclass(name = "Context", module = "pann.he", frozen)]
pub struct PyContext {
    params: Arc<Parameters>,
    encoder: Arc<Encoder>,
    boot: Option<BootstrapParameters>,
    preset: String,
    encryptor: Mutex<Encryptor>,
}

impl PyContext {
    fn check_ct(&self, ct: &PyCiphertext) -> PyResult<()> {
        if ct.fingerprint != self.params.fingerprint() {
            return Err(PannError::new_err(
                "incompatible operands: the ciphertext was made under other parameters",
            ));
        }
        Ok(())
    }

    fn wrap(&self, ct: Ciphertext) -> PyCiphertext {
        PyCiphertext {
            ct,
            fingerprint: self.params.fingerprint(),
            default_scale: self.params.default_scale(),
        }
    }
}

const PRESETS: &str = "pn14_qp400, pn15_qp881, pn16_qp1500, for_levels, n16_bootstrap (128-bit); \
                       test_insecure, test_insecure_bootstrap (toy rings, not secure)";

#[pymethods]
impl PyContext {
    /// Context(preset="pn14_qp400", *, log_n=None, levels=None, seed=None)
    ///
    /// Presets (pann he params prints them): `pn14_qp400`, `pn15_qp881`, `pn16_qp1500`, `for_levels` (the
    /// smallest secure ring with `levels` levels, `N ≥ 2^log_n`), `n16_bootstrap` (N = 2^16, bootstrapping);
    /// `test_insecure` (N = 2^log_n, `levels` levels) and `test_insecure_bootstrap` (N = 2^log_n, `levels` levels
    /// left after bootstrapping) are toy sets for tests — DISCLAIMER: not secure. `seed` makes encryption
    /// deterministic (tests only).
    #[new]
    #[pyo3(signature = (preset="pn14_qp400", *, log_n=None, levels=None, seed=None))]
    fn new(preset: &str, log_n: Option<u32>, levels: Option<usize>, seed: Option<u64>) -> PyResult<Self> {
        let (literal, boot) = match preset {
            "pn14_qp400" => (presets::pn14_qp400(), None),
            "pn15_qp881" => (presets::pn15_qp881(), None),
            "pn16_qp1500" => (presets::pn16_qp1500(), None),
            "for_levels" => {
                let levels = levels.ok_or_else(|| PannError::new_err("preset for_levels needs levels="))?;
                let lit = presets::for_levels(log_n.unwrap_or(10), levels, 40).ok_or_else(|| {
                    PannError::new_err(format!(
                        "no secure ring up to N = 2^16 holds {levels} levels of 40 bits"
                    ))
                })?;
                (lit, None)
            }
            "test_insecure" => (presets::test_insecure(log_n.unwrap_or(12), levels.unwrap_or(8)), None),
            "n16_bootstrap" => {
                let p = bootstrap::params::n16_full();
                (p.literal, Some(p.boot))
            }
            "test_insecure_bootstrap" => {
                let p = bootstrap::params::test_insecure(log_n.unwrap_or(10), levels.unwrap_or(2));
                (p.literal, Some(p.boot))
            }
            other => {
                return Err(PannError::new_err(format!(
                    "unknown preset '{other}'; one of {PRESETS}"
                )))
            }
        };
        let params = Arc::new(Parameters::new(literal).map_err(he_err)?);
        let encoder = Arc::new(Encoder::new(params.n()));
        let encryptor = match seed {
            Some(s) => Encryptor::with_seed(params.clone(), encoder.clone(), s),
            None => Encryptor::new(params.clone(), encoder.clone()),
        };
        Ok(Self {
            params,
            encoder,
            boot,
            preset: preset.to_string(),
            encryptor: Mutex::new(encryptor),
        })
    }

    /// Ring degree N.
    #[getter]
    fn n(&self) -> usize {
        self.params.n()
    }

    /// Slots per ciphertext (N/2).
    #[getter]
    fn slots(&self) -> usize {
        self.params.slots()
    }

    /// Levels of a fresh ciphertext.
    #[getter]
    fn max_level(&self) -> usize {
        self.params.max_level()
    }

    /// log2 of the whole modulus QP.
    #[getter]
    fn log_qp(&self) -> f64 {
        self.params.log_qp()
    }

    /// The default scale Δ.
    #[getter]
    fn default_scale(&self) -> f64 {
        self.params.default_scale()
    }

    /// Whether the set meets 128-bit security by the HE Standard's table.
    #[getter]
    fn secure(&self) -> bool {
        self.params.literal().security == Security::Bits128
    }

    /// Whether the preset supports bootstrapping.
    #[getter]
    fn bootstrappable(&self) -> bool {
        self.boot.is_some()
    }

    /// Levels left after a bootstrap (None without bootstrapping).
    #[getter]
    fn bootstrap_output_level(&self) -> Option<usize> {
        self.boot.as_ref().map(|b| self.params.max_level() - b.levels())
    }

    /// keygen(rotations=(), seed=None)
    ///
    /// Secret, public and relinearisation keys, rotation keys for `rotations` (slots, left if positive) and, on
    /// a bootstrapping preset, the bootstrapping keys. `seed`: deterministic keys, for tests only.
    #[pyo3(signature = (rotations=Vec::new(), seed=None))]
    fn keygen(&self, py: Python<'_>, rotations: Vec<i64>, seed: Option<u64>) -> PyResult<PyKeySet> {
        let params = self.params.clone();
        let boot = self.boot.clone();
        let (sk, pk, rlk, gk, boot_keys) = py.detach(move || {
            let mut kg = match seed {
                Some(s) => KeyGenerator::with_seed(params.clone(), s),
                None => KeyGenerator::new(params.clone()),
            };
            let sk = kg.secret_key();
            let pk = kg.public_key(&sk);
            let rlk = kg.relin_key(&sk);
            let ring = params.ring();
            let mut elements: Vec<u64> = rotations.iter().map(|&k| ring.galois_element(k)).collect();
            elements.retain(|&g| g != 1);
            elements.sort_unstable();
            elements.dedup();
            let gk = kg.galois_keys_for_elements(&sk, &elements);
            // pann-he's own generator for the bootstrapping keys (compressed rotation keys: half the memory).
            let boot_keys = boot
                .map(|b| bootstrap::keys::generate(&mut kg, &sk, &params, &b).into_result())
                .transpose();
            (sk, pk, rlk, gk, boot_keys)
        });
        let boot_keys = boot_keys.map_err(he_err)?;
        let fp = self.params.fingerprint();
        Ok(PyKeySet {
            secret_key: Py::new(py, PySecretKey { sk, fingerprint: fp })?,
            public_key: Py::new(py, PyPublicKey { pk, fingerprint: fp })?,
            relin_key: Py::new(py, PyRelinKey { rlk, fingerprint: fp })?,
            galois_keys: Py::new(py, PyGaloisKeys { gk, fingerprint: fp })?,
            boot_keys,
        })
    }

    /// encrypt(values, public_key, level=None, scale=None)
    ///
    /// A 1-D vector (at most `slots` real values) encrypted under `public_key` at `level` (default: the top) and
    /// `scale` (default: Δ).
    #[pyo3(signature = (values, public_key, level=None, scale=None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        values: &Bound<'_, PyAny>,
        public_key: &PyPublicKey,
        level: Option<usize>,
        scale: Option<f64>,
    ) -> PyResult<PyCiphertext> {
        if public_key.fingerprint != self.params.fingerprint() {
            return Err(PannError::new_err("the public key was made under other parameters"));
        }
        let values = vector(values)?;
        let level = level.unwrap_or(self.params.max_level());
        let scale = scale.unwrap_or(self.params.default_scale());
        let ct = py
            .detach(|| {
                let mut enc = self.encryptor.lock().expect("encryptor poisoned");
                let pt = enc.encode(&values, level, scale)?;
                Ok(enc.encrypt_pk(&pt, &public_key.pk))
            })
            .map_err(he_err)?;
        Ok(self.wrap(ct))
    }

    /// decrypt(ct, secret_key, count=None)
    ///
    /// The real parts of the first `count` slots (default: all) as a float64 array; refuses a message that
    /// wrapped around the modulus.
    #[pyo3(signature = (ct, secret_key, count=None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        ct: &PyCiphertext,
        secret_key: &PySecretKey,
        count: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        self.check_ct(ct)?;
        if secret_key.fingerprint != self.params.fingerprint() {
            return Err(PannError::new_err("the secret key was made under other parameters"));
        }
        let count = count.unwrap_or(self.params.slots()).min(self.params.slots());
        let dec = Decryptor::new(self.params.clone(), self.encoder.clone(), secret_key.sk.clone());
        let v = py.detach(|| dec.decrypt_values(&ct.ct, count)).map_err(he_err)?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// evaluator(keys=None, *, relin_key=None, galois_keys=None)
    ///
    /// The homomorphic operations with `keys` (a `KeySet`) or loaded keys. On a bootstrapping preset it also
    /// builds the bootstrapping plan (encodes its diagonals; needs the keys `keygen` made for it).
    #[pyo3(signature = (keys=None, *, relin_key=None, galois_keys=None))]
    fn evaluator(
        &self,
        py: Python<'_>,
        keys: Option<&PyKeySet>,
        relin_key: Option<&PyRelinKey>,
        galois_keys: Option<&PyGaloisKeys>,
    ) -> PyResult<PyEvaluator> {
        let rlk = keys
            .map(|k| k.relin_key.get().rlk.clone())
            .or(relin_key.map(|r| r.rlk.clone()));
        let gk = keys
            .map(|k| k.galois_keys.get().gk.clone())
            .or(galois_keys.map(|g| g.gk.clone()));
        let fp = self.params.fingerprint();
        let foreign = keys.is_some_and(|k| k.relin_key.get().fingerprint != fp)
            || relin_key.is_some_and(|r| r.fingerprint != fp)
            || galois_keys.is_some_and(|g| g.fingerprint != fp);
        if foreign {
            return Err(PannError::new_err("keys made under other parameters"));
        }
        let (params, encoder) = (self.params.clone(), self.encoder.clone());
        let plain = Evaluator::new(params.clone(), encoder.clone(), rlk, gk.unwrap_or_default());
        let boot_keys = keys.and_then(|k| k.boot_keys.clone());
        let bootstrapper = match (&self.boot, boot_keys) {
            (Some(boot), Some(bk)) => {
                let boot = boot.clone();
                let b = py
                    .detach(move || Bootstrapper::new(params, encoder, boot, bk))
                    .map_err(he_err)?;
                Some(Box::new(b))
            }
            _ => None,
        };
        let inner = Inner { plain, bootstrapper };
        Ok(PyEvaluator {
            inner,
            fingerprint: fp,
            default_scale: self.params.default_scale(),
        })
    }

    /// load_ciphertext(path): a ciphertext file, checked (magic, version, kind, parameters, length, CRC).
    fn load_ciphertext(&self, path: PathBuf) -> PyResult<PyCiphertext> {
        let ct: Ciphertext = serialize::load(&self.params, &path).map_err(he_err)?;
        Ok(self.wrap(ct))
    }

    /// load_public_key(path)
    fn load_public_key(&self, path: PathBuf) -> PyResult<PyPublicKey> {
        Ok(PyPublicKey {
            pk: serialize::load(&self.params, &path).map_err(he_err)?,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// load_relin_key(path)
    fn load_relin_key(&self, path: PathBuf) -> PyResult<PyRelinKey> {
        Ok(PyRelinKey {
            rlk: serialize::load(&self.params, &path).map_err(he_err)?,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// load_galois_keys(path)
    fn load_galois_keys(&self, path: PathBuf) -> PyResult<PyGaloisKeys> {
        Ok(PyGaloisKeys {
            gk: serialize::load(&self.params, &path).map_err(he_err)?,
            fingerprint: self.params.fingerprint(),
        })
    }

    /// save(obj, path): a ciphertext or an evaluation key, in pann-he's checked format (no secret keys).
    fn save(&self, obj: &Bound<'_, PyAny>, path: PathBuf) -> PyResult<()> {
        let p = &self.params;
        let fp = p.fingerprint();
        let r = if let Ok(c) = obj.cast::<PyCiphertext>() {
            self.check_ct(c.get())?;
            serialize::save(&c.get().ct, p, &path)
        } else if let Ok(k) = obj.cast::<PyPublicKey>() {
            same(k.get().fingerprint, fp)?;
            serialize::save(&k.get().pk, p, &path)
        } else if let Ok(k) = obj.cast::<PyRelinKey>() {
            same(k.get().fingerprint, fp)?;
            serialize::save(&k.get().rlk, p, &path)
        } else if let Ok(k) = obj.cast::<PyGaloisKeys>() {
            same(k.get().fingerprint, fp)?;
            serialize::save(&k.get().gk, p, &path)
        } else if obj.cast::<PySecretKey>().is_ok() {
            return Err(PyTypeError::new_err("secret keys have no file format, on purpose"));
        } else {
            return Err(PyTypeError::new_err(
                "save takes a Ciphertext, PublicKey, RelinKey or GaloisKeys",
            ));
        };
        r.map_err(he_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "Context(preset='{}', N=2^{}, log_qp={:.0}, levels={}, scale=2^{}, {}{})",
            self.preset,
            self.params.log_n(),
            self.params.log_qp(),
            self.params.max_level(),
            self.params.literal().log_scale,
            if self.secure() { "128-bit" } else { "INSECURE" },
            if self.boot.is_some() { ", bootstrapping" } else { "" }
        )
    }
}

/// `bootstrap::keys::generate` returns the keys, or a `Result` once key generation can fail (pann-he's sparse-secret
/// encapsulation work, in progress as this was written): both are accepted.
trait IntoKeysResult {
    fn into_result(self) -> pann_he::Result<BootstrapKeys>;
}

impl IntoKeysResult for BootstrapKeys {
    fn into_result(self) -> pann_he::Result<BootstrapKeys> {
        Ok(self)
    }
}

impl IntoKeysResult for pann_he::Result<BootstrapKeys> {
    fn into_result(self) -> pann_he::Result<BootstrapKeys> {
        self
    }
}

fn same(a: u64, b: u64) -> PyResult<()> {
    if a == b {
        Ok(())
    } else {
        Err(PannError::new_err("made under other parameters"))
    }
}

/// A 1-D float vector from a NumPy array or any sequence of numbers.
fn vector(values: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    if let Ok(a) = values.extract::<PyReadonlyArrayDyn<'_, f64>>() {
        if a.ndim() != 1 {
            return Err(PannError::new_err(format!(
                "encrypt takes a 1-D vector, got shape {:?}",
                a.shape()
            )));
        }
        return Ok(a.as_array().iter().copied().collect());
    }
    if let Ok(a) = values.extract::<PyReadonlyArrayDyn<'_, f32>>() {
        if a.ndim() != 1 {
            return Err(PannError::new_err(format!(
                "encrypt takes a 1-D vector, got shape {:?}",
                a.shape()
            )));
        }
        return Ok(a.as_array().iter().map(|&v| v as f64).collect());
    }
    values
        .extract::<Vec<f64>>()
        .map_err(|_| PyTypeError::new_err("values must be a 1-D float array or a sequence of numbers"))
}

/// The secret key: no file format, never printed, never pickled.
#[pyclass(name = "SecretKey", module = "pann.he", frozen)]
pub struct PySecretKey {
    sk: SecretKey,
    fingerprint: u64,
}

#[pymethods]
impl PySecretKey {
    fn __repr__(&self) -> String {
        format!("{:?}", self.sk)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err("secret keys cannot be pickled or saved"))
    }
}

/// The public encryption key.
#[pyclass(name = "PublicKey", module = "pann.he", frozen)]
pub struct PyPublicKey {
    pk: PublicKey,
    fingerprint: u64,
}

#[pymethods]
impl PyPublicKey {
    fn __repr__(&self) -> String {
        "PublicKey(...)".into()
    }
}

/// The relinearisation key.
#[pyclass(name = "RelinKey", module = "pann.he", frozen)]
pub struct PyRelinKey {
    rlk: RelinKey,
    fingerprint: u64,
}

#[pymethods]
impl PyRelinKey {
    fn __repr__(&self) -> String {
        "RelinKey(...)".into()
    }
}

/// Rotation (Galois) keys.
#[pyclass(name = "GaloisKeys", module = "pann.he", frozen)]
pub struct PyGaloisKeys {
    gk: GaloisKeys,
    fingerprint: u64,
}

#[pymethods]
impl PyGaloisKeys {
    fn __len__(&self) -> usize {
        self.gk.len()
    }

    fn __repr__(&self) -> String {
        format!("GaloisKeys({} keys, {} bytes)", self.gk.len(), self.gk.bytes())
    }
}

/// The keys `Context.keygen` made.
#[pyclass(name = "KeySet", module = "pann.he", frozen)]
pub struct PyKeySet {
    /// The secret key (prints redacted).
    #[pyo3(get)]
    secret_key: Py<PySecretKey>,
    /// The public key.
    #[pyo3(get)]
    public_key: Py<PyPublicKey>,
    /// The relinearisation key.
    #[pyo3(get)]
    relin_key: Py<PyRelinKey>,
    /// Rotation keys (and the bootstrapping ones on a bootstrapping preset).
    #[pyo3(get)]
    galois_keys: Py<PyGaloisKeys>,
    /// The bootstrapping keys on a bootstrapping preset (pann-he's own set; not saved by this package).
    boot_keys: Option<BootstrapKeys>,
}

#[pymethods]
impl PyKeySet {
    fn __repr__(&self) -> String {
        format!(
            "KeySet(secret_key=<redacted>, public_key, relin_key, {} rotation keys)",
            self.galois_keys.get().gk.len()
        )
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "a KeySet holds the secret key and cannot be pickled",
        ))
    }
}

/// A CKKS ciphertext: its level and exact scale travel with it.
#[pyclass(name = "Ciphertext", module = "pann.he", frozen)]
pub struct PyCiphertext {
    ct: Ciphertext,
    fingerprint: u64,
    default_scale: f64,
}

#[pymethods]
impl PyCiphertext {
    /// Rescalings left.
    #[getter]
    fn level(&self) -> usize {
        self.ct.level()
    }

    /// The scale Δ.
    #[getter]
    fn scale(&self) -> f64 {
        self.ct.scale()
    }

    fn __repr__(&self) -> String {
        let ratio = self.ct.scale() / self.default_scale;
        format!(
            "Ciphertext(N={}, level={}, scale=2^{:.2}{})",
            self.ct.n(),
            self.ct.level(),
            self.ct.scale().log2(),
            if (ratio - 1.0).abs() < 1e-9 { " (default)" } else { "" }
        )
    }
}

/// The evaluator with the keys the user asked for, and the bootstrapper with its own keys.
struct Inner {
    plain: Evaluator,
    bootstrapper: Option<Box<Bootstrapper>>,
}

/// Homomorphic operations (and bootstrapping on a bootstrapping preset). The heavy ones run without the GIL.
#[pyclass(name = "Evaluator", module = "pann.he", frozen)]
pub struct PyEvaluator {
    inner: Inner,
    fingerprint: u64,
    default_scale: f64,
}

impl PyEvaluator {
    fn ev(&self) -> &Evaluator {
        &self.inner.plain
    }

    fn check(&self, c: &PyCiphertext) -> PyResult<()> {
        if c.fingerprint != self.fingerprint {
            return Err(PannError::new_err(
                "incompatible operands: the ciphertext was made under other parameters",
            ));
        }
        Ok(())
    }

    fn wrap(&self, ct: Ciphertext) -> PyCiphertext {
        PyCiphertext {
            ct,
            fingerprint: self.fingerprint,
            default_scale: self.default_scale,
        }
    }
}

/// `ReLU(x)` for the ciphertext `x`: `x·(1 + p(x/B))/2` with the composite `sign` of the PANN, the output at
/// `x`'s scale.
///
/// Depth: `p` runs the depth-optimal plans of pann-approx's cost model (`sign.depth()` levels), the product with
/// `x` one more, so `relu_depth` levels in all — plus one for `x/B` when `B ≠ 1` (in a network the factor `1/B`
/// folds into the previous linear layer, here there is none). The halving is folded into the last component's
/// coefficients and `(1 + p)/2` is formed before the product, so the result stays at `x`'s exact scale (pann-he's
/// `eval_relu` instead doubles the scale, which a network folds into its next layer).
pub fn relu_ct(ev: &Evaluator, x: &Ciphertext, sign: &CompositeSign, bound: f64) -> pann_he::Result<Ciphertext> {
    let default = ev.params().default_scale();
    let y = if bound == 1.0 {
        x.clone()
    } else {
        ev.mul_const_to_scale(x, 1.0 / bound, default)?
    };
    let depth = sign.depth() as usize;
    if y.level() < depth + 1 {
        return Err(pann_he::Error::LevelExhausted {
            op: "polynomial ReLU",
            needed: depth + 1 + usize::from(bound != 1.0),
            level: x.level(),
        });
    }
    let p_level = y.level() - depth;
    // (1 + p)/2 lands at scale q_(p_level), so that x·(1 + p)/2 rescaled by that prime has exactly x's scale.
    let q = ev.params().q()[p_level] as f64;
    let mut lists = sign.coefficient_lists();
    let k = lists.len();
    for c in &mut lists[k - 1] {
        *c *= 0.5;
    }
    let mut p = y;
    for (i, c) in lists.iter().enumerate() {
        let target = if i + 1 == k { q } else { default };
        p = eval_odd_poly(ev, &p, c, target)?;
    }
    let half = ev.add_const(&p, 0.5)?;
    let x_low = ev.at_level(x, p_level)?;
    let mut prod = ev.mul(&x_low, &half)?;
    prod.set_scale(x.scale() * q)?;
    ev.rescale_assign(&mut prod)?;
    prod.set_scale(x.scale())?;
    Ok(prod)
}

#[pymethods]
impl PyEvaluator {
    /// a + b (levels aligned to the lower; equal scales required).
    fn add(&self, a: &PyCiphertext, b: &PyCiphertext) -> PyResult<PyCiphertext> {
        self.check(a)?;
        self.check(b)?;
        Ok(self.wrap(self.ev().add(&a.ct, &b.ct).map_err(he_err)?))
    }

    /// a − b.
    fn sub(&self, a: &PyCiphertext, b: &PyCiphertext) -> PyResult<PyCiphertext> {
        self.check(a)?;
        self.check(b)?;
        Ok(self.wrap(self.ev().sub(&a.ct, &b.ct).map_err(he_err)?))
    }

    /// −a.
    fn negate(&self, a: &PyCiphertext) -> PyResult<PyCiphertext> {
        self.check(a)?;
        Ok(self.wrap(self.ev().neg(&a.ct)))
    }

    /// a + c for a real constant c.
    fn add_const(&self, a: &PyCiphertext, c: f64) -> PyResult<PyCiphertext> {
        self.check(a)?;
        Ok(self.wrap(self.ev().add_const(&a.ct, c).map_err(he_err)?))
    }

    /// a · c for a real constant, rescaled to the default scale (one level).
    fn mul_const(&self, a: &PyCiphertext, c: f64) -> PyResult<PyCiphertext> {
        self.check(a)?;
        Ok(self.wrap(
            self.ev()
                .mul_const_to_scale(&a.ct, c, self.default_scale)
                .map_err(he_err)?,
        ))
    }

    /// multiply(a, b, rescale=True): a · b relinearised, then rescaled (one level) unless `rescale=False`.
    #[pyo3(signature = (a, b, rescale=true))]
    fn multiply(&self, py: Python<'_>, a: &PyCiphertext, b: &PyCiphertext, rescale: bool) -> PyResult<PyCiphertext> {
        self.check(a)?;
        self.check(b)?;
        let ev = self.ev();
        let ct = py
            .detach(|| {
                if rescale {
                    ev.mul_rescale(&a.ct, &b.ct)
                } else {
                    ev.mul(&a.ct, &b.ct)
                }
            })
            .map_err(he_err)?;
        Ok(self.wrap(ct))
    }

    /// Divides by the last prime: one level down, scale Δ/q.
    fn rescale(&self, a: &PyCiphertext) -> PyResult<PyCiphertext> {
        self.check(a)?;
        Ok(self.wrap(self.ev().rescale(&a.ct).map_err(he_err)?))
    }

    /// A copy of `a` at a lower `level` (exact; the scale is unchanged).
    fn drop_to_level(&self, a: &PyCiphertext, level: usize) -> PyResult<PyCiphertext> {
        self.check(a)?;
        Ok(self.wrap(self.ev().at_level(&a.ct, level).map_err(he_err)?))
    }

    /// Rotates the slots left by `k` (right if negative); needs the rotation key of `k`.
    fn rotate(&self, py: Python<'_>, a: &PyCiphertext, k: i64) -> PyResult<PyCiphertext> {
        self.check(a)?;
        let ev = self.ev();
        Ok(self.wrap(py.detach(|| ev.rotate(&a.ct, k)).map_err(he_err)?))
    }

    /// Bootstraps `a` (any level, default scale) back to the bootstrapping output level; only on a bootstrapping
    /// preset. The message must stay within EvalMod's range (|values| ≤ 1), which encryption cannot check.
    fn bootstrap(&self, py: Python<'_>, a: &PyCiphertext) -> PyResult<PyCiphertext> {
        self.check(a)?;
        let Some(b) = &self.inner.bootstrapper else {
            return Err(PannError::new_err(
                "no bootstrapping here: it needs a bootstrapping preset (n16_bootstrap, test_insecure_bootstrap) \
                 and an evaluator made from its keygen's KeySet",
            ));
        };
        Ok(self.wrap(py.detach(|| b.bootstrap(&a.ct)).map_err(he_err)?))
    }

    /// relu(x, alpha, bound)
    ///
    /// ReLU(x) ≈ x·(1 + p(x/B))/2 for every slot of `x` with |x| ≤ B, at `x`'s scale; `alpha` is a precision or a
    /// `pann.Approx`. Consumes `relu_depth` levels (the cost model's: the composite sign plus one product), and one
    /// more for the product by 1/B when B ≠ 1.
    fn relu(&self, py: Python<'_>, x: &PyCiphertext, alpha: &Bound<'_, PyAny>, bound: f64) -> PyResult<PyCiphertext> {
        self.check(x)?;
        let bound = pann_approx::ops::check_bound(bound).map_err(crate::error::approx_err)?;
        let d = if let Ok(a) = alpha.cast::<crate::approx::PyApprox>() {
            a.get().design.clone()
        } else {
            let a: i64 = alpha
                .extract()
                .map_err(|_| PyTypeError::new_err("alpha must be an integer precision or a pann.Approx"))?;
            design(py, Some(a), None)?
        };
        let ev = self.ev();
        Ok(self.wrap(py.detach(|| relu_ct(ev, &x.ct, &d.sign, bound)).map_err(he_err)?))
    }

    /// Levels a `relu(x, alpha, bound)` consumes.
    #[pyo3(signature = (alpha, bound=1.0))]
    fn relu_levels(&self, py: Python<'_>, alpha: i64, bound: f64) -> PyResult<u32> {
        let d = design(py, Some(alpha), None)?;
        Ok(d.sign.relu_depth() + u32::from(bound != 1.0))
    }

    fn __repr__(&self) -> String {
        format!(
            "Evaluator({} rotation keys{})",
            self.ev().galois_keys().len(),
            if self.inner.bootstrapper.is_some() {
                ", bootstrapping"
            } else {
                ""
            }
        )
    }
}
