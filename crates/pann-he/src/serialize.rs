//! Files for ciphertexts and evaluation keys: a small binary format that refuses anything it cannot vouch for.
//!
//! Layout (little endian): `b"PANNHE\0\0"`, format version `u16`, kind `u8`, parameter fingerprint `u64`
//! ([`Parameters::fingerprint`]: `N` and every prime), payload length `u64`, payload, CRC-32 of everything
//! before it. A polynomial is its number of ciphertext primes `u32`, a special-primes flag `u8`, an NTT flag
//! `u8`, then its residues row by row as `u64`. Reading checks the magic, version, kind, fingerprint, length,
//! checksum, shapes against the parameters, and that every residue is below its prime — so a truncated,
//! corrupted or foreign file is an error naming the file and the problem, never a key that silently decrypts
//! garbage. Secret keys have no file format on purpose.

use std::path::Path;

use crate::bootstrap::encapsulation::Encapsulation;
use crate::ckks::{Ciphertext, Parameters};
use crate::error::{Error, Result};
use crate::ring::{Basis, RnsPoly};
use crate::rlwe::{GaloisKeys, PublicKey, RelinKey, SwitchingKey};

const MAGIC: &[u8; 8] = b"PANNHE\0\0";
const VERSION: u16 = 1;
const HEADER: usize = 8 + 2 + 1 + 8 + 8;

/// Objects with a file format.
pub trait Persist: Sized {
    /// Kind tag in the header.
    const KIND: u8;
    /// Human name of the kind, for errors.
    const NAME: &'static str;
    /// Appends the payload.
    fn write_payload(&self, out: &mut Vec<u8>);
    /// Reads the payload; errors are plain strings, the caller adds the path.
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String>;
}

/// A bounds-checked cursor over a payload.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        if self.data.len() - self.pos < n {
            return Err(format!("payload ends early at byte {} (needs {n} more)", self.pos));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }

    fn poly(&mut self, params: &crate::rlwe::Parameters, want: Basis) -> std::result::Result<RnsPoly, String> {
        let q = self.u32()? as usize;
        let special = self.u8()? == 1;
        let ntt = self.u8()? == 1;
        if q != want.q || special != want.special || !ntt {
            return Err(format!(
                "polynomial over {q} primes (special: {special}, NTT: {ntt}), expected {} (special: {}, NTT)",
                want.q, want.special
            ));
        }
        let ring = params.ring();
        let mut p = ring.zero(want, true);
        let n = ring.n();
        for j in 0..p.rows() {
            let m = ring.modulus_of(want, j).value();
            let bytes = self.take(8 * n)?;
            let row = p.row_mut(j);
            for (x, b) in row.iter_mut().zip(bytes.chunks_exact(8)) {
                let v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
                if v >= m {
                    return Err(format!("residue {v} not below its prime {m}"));
                }
                *x = v;
            }
        }
        Ok(p)
    }

    fn switching_key(&mut self, params: &crate::rlwe::Parameters) -> std::result::Result<SwitchingKey, String> {
        let word = self.u32()?;
        let compressed = word & COMPRESSED != 0;
        let count = (word & !COMPRESSED) as usize;
        if count != params.digit_count() {
            return Err(format!("{count} digits, the parameters have {}", params.digit_count()));
        }
        let mask_seed = if compressed {
            Some(<[u8; 32]>::try_from(self.take(32)?).expect("32 bytes"))
        } else {
            None
        };
        let top = Basis::extended(params.max_level());
        let digits = (0..count)
            .map(|_| {
                let b = self.poly(params, top)?;
                let a = if compressed {
                    RnsPoly::zero(params.n(), top, 0, true)
                } else {
                    self.poly(params, top)?
                };
                Ok([b, a])
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(SwitchingKey { digits, mask_seed })
    }
}

fn put_poly(out: &mut Vec<u8>, p: &RnsPoly) {
    out.extend_from_slice(&(p.basis().q as u32).to_le_bytes());
    out.push(p.basis().special as u8);
    out.push(p.is_ntt() as u8);
    for &x in p.as_slice() {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// High bit of a switching key's digit count: the key is compressed, a 32-byte mask seed follows and only the
/// `b_j` are stored.
const COMPRESSED: u32 = 1 << 31;

fn put_switching_key(out: &mut Vec<u8>, k: &SwitchingKey) {
    match &k.mask_seed {
        None => {
            out.extend_from_slice(&(k.digits.len() as u32).to_le_bytes());
            for [b, a] in &k.digits {
                put_poly(out, b);
                put_poly(out, a);
            }
        }
        Some(seed) => {
            out.extend_from_slice(&(k.digits.len() as u32 | COMPRESSED).to_le_bytes());
            out.extend_from_slice(seed);
            for [b, _] in &k.digits {
                put_poly(out, b);
            }
        }
    }
}

impl Persist for Ciphertext {
    const KIND: u8 = 1;
    const NAME: &'static str = "ciphertext";
    fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.scale.to_bits().to_le_bytes());
        put_poly(out, &self.c[0]);
        put_poly(out, &self.c[1]);
    }
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String> {
        let scale = r.f64()?;
        if !(scale.is_finite() && scale >= 1.0) {
            return Err(format!("scale {scale} is not a finite number ≥ 1"));
        }
        let q = {
            // Peek the level from the first polynomial header.
            let save = r.pos;
            let q = r.u32()? as usize;
            r.pos = save;
            q
        };
        if q == 0 || q > params.max_level() + 1 {
            return Err(format!("level {} outside 0..={}", q as i64 - 1, params.max_level()));
        }
        let basis = Basis::level(q - 1);
        Ok(Ciphertext {
            c: [r.poly(params, basis)?, r.poly(params, basis)?],
            scale,
        })
    }
}

impl Persist for PublicKey {
    const KIND: u8 = 2;
    const NAME: &'static str = "public key";
    fn write_payload(&self, out: &mut Vec<u8>) {
        put_poly(out, &self.b);
        put_poly(out, &self.a);
    }
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String> {
        let basis = Basis::level(params.max_level());
        Ok(PublicKey {
            b: r.poly(params, basis)?,
            a: r.poly(params, basis)?,
        })
    }
}

impl Persist for RelinKey {
    const KIND: u8 = 3;
    const NAME: &'static str = "relinearisation key";
    fn write_payload(&self, out: &mut Vec<u8>) {
        put_switching_key(out, &self.0);
    }
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String> {
        Ok(RelinKey(r.switching_key(params)?))
    }
}

impl Persist for GaloisKeys {
    const KIND: u8 = 4;
    const NAME: &'static str = "rotation keys";
    fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for (g, k) in &self.keys {
            out.extend_from_slice(&g.to_le_bytes());
            put_switching_key(out, k);
        }
    }
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String> {
        let count = r.u32()? as usize;
        let two_n = 2 * params.n() as u64;
        let mut keys = std::collections::BTreeMap::new();
        for _ in 0..count {
            let g = r.u64()?;
            if g % 2 == 0 || g >= two_n {
                return Err(format!("Galois element {g} is not odd and below 2N = {two_n}"));
            }
            keys.insert(g, r.switching_key(params)?);
        }
        Ok(GaloisKeys { keys })
    }
}

impl Persist for Encapsulation {
    const KIND: u8 = 5;
    const NAME: &'static str = "encapsulation keys";
    fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.weight as u32).to_le_bytes());
        out.extend_from_slice(&self.sparse.p()[0].to_le_bytes());
        put_switching_key(out, &self.dense_to_sparse);
        put_switching_key(out, &self.sparse_to_dense);
    }
    fn read_payload(r: &mut Reader<'_>, params: &Parameters) -> std::result::Result<Self, String> {
        let weight = r.u32()? as usize;
        if weight == 0 || weight > params.n() {
            return Err(format!("ephemeral secret weight {weight} outside 1..={}", params.n()));
        }
        let p0 = r.u64()?;
        if params.rlwe().p().first() != Some(&p0) {
            return Err(format!(
                "sparse-domain prime {p0} is not the parameters' first special prime"
            ));
        }
        let sparse =
            crate::rlwe::Parameters::new(params.log_n(), vec![params.q()[0]], vec![p0]).map_err(|e| e.to_string())?;
        let dense_to_sparse = r.switching_key(&sparse)?;
        let sparse_to_dense = r.switching_key(params)?;
        Ok(Encapsulation {
            sparse,
            weight,
            dense_to_sparse,
            sparse_to_dense,
        })
    }
}

/// Writes `obj` to `path` under `params`.
pub fn save<T: Persist>(obj: &T, params: &Parameters, path: &Path) -> Result<()> {
    let mut payload = Vec::new();
    obj.write_payload(&mut payload);
    let mut out = Vec::with_capacity(HEADER + payload.len() + 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(T::KIND);
    out.extend_from_slice(&params.fingerprint().to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    std::fs::write(path, out).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })
}

/// Reads a `T` written under `params` from `path`.
pub fn load<T: Persist>(params: &Parameters, path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    parse(params, &bytes).map_err(|problem| Error::BadFile {
        path: path.to_path_buf(),
        problem,
    })
}

fn parse<T: Persist>(params: &Parameters, bytes: &[u8]) -> std::result::Result<T, String> {
    if bytes.len() < HEADER + 4 {
        return Err(format!(
            "truncated: {} bytes, shorter than the {}-byte header",
            bytes.len(),
            HEADER + 4
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a pann-he file (bad magic bytes)".into());
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(format!("format version {version}, this build reads {VERSION}"));
    }
    if bytes[10] != T::KIND {
        return Err(format!(
            "holds kind {} where a {} (kind {}) was expected",
            bytes[10],
            T::NAME,
            T::KIND
        ));
    }
    let fp = u64::from_le_bytes(bytes[11..19].try_into().expect("8 bytes"));
    if fp != params.fingerprint() {
        return Err(format!(
            "made under other parameters (fingerprint {fp:016x}, expected {:016x})",
            params.fingerprint()
        ));
    }
    let len = u64::from_le_bytes(bytes[19..27].try_into().expect("8 bytes")) as usize;
    let expected = HEADER.checked_add(len).and_then(|x| x.checked_add(4));
    if expected != Some(bytes.len()) {
        return Err(format!(
            "truncated or padded: {} bytes, the header announces {}",
            bytes.len(),
            expected.map_or_else(|| "an impossible length".to_string(), |e| e.to_string())
        ));
    }
    let body = &bytes[..HEADER + len];
    let crc = u32::from_le_bytes(bytes[HEADER + len..].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch: the file is corrupted".into());
    }
    let mut r = Reader {
        data: &bytes[HEADER..HEADER + len],
        pos: 0,
    };
    let obj = T::read_payload(&mut r, params)?;
    if r.pos != len {
        return Err(format!("{} trailing payload bytes", len - r.pos));
    }
    Ok(obj)
}
