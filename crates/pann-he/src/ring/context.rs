//! [`RingContext`]: the primes of a parameter set, their NTT tables, and the element-wise operations on
//! [`RnsPoly`]. Rows are independent, so every operation runs its rows in parallel (rayon); with one thread it
//! is a plain loop.

use rayon::prelude::*;

use super::modulus::Modulus;
use super::ntt::{bit_reverse, with_avx2, NttTable};
use super::poly::{Basis, RnsPoly};
use crate::error::{Error, Result};

/// The ring `Z[X]/(X^N + 1)` with ciphertext primes `q_0 … q_L` and special primes `p_0 … p_(K−1)`.
#[derive(Debug)]
pub struct RingContext {
    log_n: u32,
    n: usize,
    /// `q_0 … q_L` then `p_0 … p_(K−1)`.
    moduli: Vec<Modulus>,
    tables: Vec<NttTable>,
    q_count: usize,
}

impl RingContext {
    /// A ring of degree `2^log_n` over the given primes (each `≡ 1 mod 2N`, distinct).
    pub fn new(log_n: u32, q: &[u64], p: &[u64]) -> Result<Self> {
        if !(1..=17).contains(&log_n) {
            return Err(Error::InvalidParameters(format!("log N = {log_n} outside 1..=17")));
        }
        let all: Vec<u64> = q.iter().chain(p).copied().collect();
        for (i, &x) in all.iter().enumerate() {
            if all[..i].contains(&x) {
                return Err(Error::InvalidParameters(format!("prime {x} appears twice")));
            }
        }
        let mut moduli = Vec::with_capacity(all.len());
        let mut tables = Vec::with_capacity(all.len());
        for &x in &all {
            let m = Modulus::new(x)
                .filter(|_| super::primes::is_prime(x))
                .ok_or_else(|| Error::InvalidParameters(format!("{x} is not an odd prime below 2^61")))?;
            let t = NttTable::new(m, log_n).ok_or_else(|| {
                Error::InvalidParameters(format!("prime {x} is not 1 mod 2N = {}", 1u64 << (log_n + 1)))
            })?;
            moduli.push(m);
            tables.push(t);
        }
        if q.is_empty() {
            return Err(Error::InvalidParameters("no ciphertext prime".into()));
        }
        Ok(Self {
            log_n,
            n: 1 << log_n,
            moduli,
            tables,
            q_count: q.len(),
        })
    }

    /// `log2 N`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// `N`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Highest level `L` (number of ciphertext primes minus one).
    pub fn max_level(&self) -> usize {
        self.q_count - 1
    }

    /// Number of special primes `K`.
    pub fn special_count(&self) -> usize {
        self.moduli.len() - self.q_count
    }

    /// Ciphertext prime `q_i`.
    pub fn q(&self, i: usize) -> &Modulus {
        &self.moduli[i]
    }

    /// Special prime `p_k`.
    pub fn p(&self, k: usize) -> &Modulus {
        &self.moduli[self.q_count + k]
    }

    /// Number of rows of a polynomial in `basis`.
    pub fn rows(&self, basis: Basis) -> usize {
        basis.q + if basis.special { self.special_count() } else { 0 }
    }

    /// Index into the prime list of row `j` of `basis`.
    #[inline]
    pub fn prime_index(&self, basis: Basis, j: usize) -> usize {
        if j < basis.q {
            j
        } else {
            self.q_count + (j - basis.q)
        }
    }

    /// The modulus of row `j` of `basis`.
    #[inline]
    pub fn modulus_of(&self, basis: Basis, j: usize) -> &Modulus {
        &self.moduli[self.prime_index(basis, j)]
    }

    /// The NTT table of row `j` of `basis`.
    #[inline]
    pub fn table_of(&self, basis: Basis, j: usize) -> &NttTable {
        &self.tables[self.prime_index(basis, j)]
    }

    /// A zero polynomial in `basis`.
    pub fn zero(&self, basis: Basis, ntt: bool) -> RnsPoly {
        RnsPoly::zero(self.n, basis, self.rows(basis), ntt)
    }

    /// Builds a polynomial from one signed integer coefficient vector, reduced modulo every prime of `basis`.
    pub fn from_signed(&self, coeffs: &[i64], basis: Basis) -> RnsPoly {
        let mut p = self.zero(basis, false);
        p.data.par_chunks_exact_mut(self.n).enumerate().for_each(|(j, row)| {
            let m = self.modulus_of(basis, j);
            for (r, &c) in row.iter_mut().zip(coeffs) {
                *r = m.from_i64(c);
            }
        });
        p
    }

    /// Forward NTT of every row (no-op if already in NTT form).
    pub fn ntt(&self, p: &mut RnsPoly) {
        if p.ntt {
            return;
        }
        let basis = p.basis;
        p.data
            .par_chunks_exact_mut(self.n)
            .enumerate()
            .for_each(|(j, row)| self.table_of(basis, j).forward(row));
        p.ntt = true;
    }

    /// Inverse NTT of every row (no-op if already in coefficient form).
    pub fn intt(&self, p: &mut RnsPoly) {
        if !p.ntt {
            return;
        }
        let basis = p.basis;
        p.data
            .par_chunks_exact_mut(self.n)
            .enumerate()
            .for_each(|(j, row)| self.table_of(basis, j).inverse(row));
        p.ntt = false;
    }

    #[inline(always)]
    fn zip_rows(&self, a: &mut RnsPoly, b: &RnsPoly, f: impl Fn(&Modulus, &mut u64, u64) + Sync) {
        debug_assert_eq!(a.ntt, b.ntt);
        let basis = a.basis;
        let rows = self.rows(basis);
        // `b` may carry more rows (a higher level: its first rows are `a`'s primes), never fewer: the rows of `a`
        // past the end of `b` would be left untouched without a word.
        assert!(
            b.rows() >= rows,
            "ring operation on {rows} rows with an operand of {} rows",
            b.rows()
        );
        a.data[..rows * self.n]
            .par_chunks_exact_mut(self.n)
            .zip(b.data[..rows * self.n].par_chunks_exact(self.n))
            .enumerate()
            .for_each(|(j, (ra, rb))| {
                let m = self.modulus_of(basis, j);
                with_avx2(
                    #[inline(always)]
                    || {
                        for (x, &y) in ra.iter_mut().zip(rb) {
                            f(m, x, y);
                        }
                    },
                );
            });
    }

    /// `a += b` (rows of `b` beyond those of `a` are ignored: `b` may sit at a higher level).
    pub fn add_assign(&self, a: &mut RnsPoly, b: &RnsPoly) {
        self.zip_rows(a, b, |m, x, y| *x = m.add(*x, y));
    }

    /// `a −= b`.
    pub fn sub_assign(&self, a: &mut RnsPoly, b: &RnsPoly) {
        self.zip_rows(a, b, |m, x, y| *x = m.sub(*x, y));
    }

    /// `a ⊙= b` (NTT form: the ring product).
    pub fn mul_assign(&self, a: &mut RnsPoly, b: &RnsPoly) {
        debug_assert!(a.ntt && b.ntt);
        self.zip_rows(a, b, |m, x, y| *x = m.mul(*x, y));
    }

    /// `acc += a ⊙ b`.
    pub fn mul_add_assign(&self, acc: &mut RnsPoly, a: &RnsPoly, b: &RnsPoly) {
        debug_assert!(acc.ntt && a.ntt && b.ntt);
        let basis = acc.basis;
        let n = self.n;
        acc.data.par_chunks_exact_mut(n).enumerate().for_each(|(j, racc)| {
            let m = self.modulus_of(basis, j);
            let (ra, rb) = (&a.data[j * n..(j + 1) * n], &b.data[j * n..(j + 1) * n]);
            with_avx2(
                #[inline(always)]
                || {
                    for ((x, &u), &v) in racc.iter_mut().zip(ra).zip(rb) {
                        *x = m.add(*x, m.mul(u, v));
                    }
                },
            );
        });
    }

    /// `a = −a`.
    pub fn neg_assign(&self, a: &mut RnsPoly) {
        let basis = a.basis;
        a.data.par_chunks_exact_mut(self.n).enumerate().for_each(|(j, row)| {
            let m = self.modulus_of(basis, j);
            for x in row.iter_mut() {
                *x = m.neg(*x);
            }
        });
    }

    /// `a ·= c_j` row by row, with `c_j < p_j` the constant's residue modulo row `j`'s prime.
    pub fn mul_residues_assign(&self, a: &mut RnsPoly, residues: &[u64]) {
        let basis = a.basis;
        a.data.par_chunks_exact_mut(self.n).enumerate().for_each(|(j, row)| {
            let m = self.modulus_of(basis, j);
            let c = residues[j];
            let cs = m.shoup(c);
            for x in row.iter_mut() {
                *x = m.mul_shoup(*x, c, cs);
            }
        });
    }

    /// `a += c_j` on every coefficient (in NTT form: adds the constant polynomial `c`).
    pub fn add_residues_assign(&self, a: &mut RnsPoly, residues: &[u64]) {
        debug_assert!(a.ntt);
        let basis = a.basis;
        a.data.par_chunks_exact_mut(self.n).enumerate().for_each(|(j, row)| {
            let m = self.modulus_of(basis, j);
            for x in row.iter_mut() {
                *x = m.add(*x, residues[j]);
            }
        });
    }

    /// The residues of a signed 128-bit integer modulo every prime of `basis`.
    pub fn residues_i128(&self, basis: Basis, c: i128) -> Vec<u64> {
        (0..self.rows(basis))
            .map(|j| self.modulus_of(basis, j).from_i128(c))
            .collect()
    }

    /// The Galois element `5^k mod 2N` of a left rotation by `k` slots (`k` may be negative), and
    /// `2N − 1` for complex conjugation.
    pub fn galois_element(&self, k: i64) -> u64 {
        let two_n = 2 * self.n as u64;
        let slots = (self.n / 2) as i64;
        let k = k.rem_euclid(slots) as u64;
        let mut g = 1u64;
        let mut base = 5u64;
        let mut e = k;
        while e > 0 {
            if e & 1 == 1 {
                g = g * base % two_n;
            }
            base = base * base % two_n;
            e >>= 1;
        }
        g
    }

    /// The permutation of NTT slots of the automorphism `X → X^g` (`g` odd): `out[i] = in[perm[i]]`.
    pub fn automorphism_permutation(&self, g: u64) -> Vec<u32> {
        let two_n = 2 * self.n as u64;
        let mask = two_n - 1;
        (0..self.n)
            .map(|i| {
                // Slot i evaluates at ψ^(2·rev(i)+1); φ_g(a) there equals a at ψ^((2·rev(i)+1)·g).
                let e = ((2 * bit_reverse(i, self.log_n) as u64 + 1) * g) & mask;
                bit_reverse(((e - 1) / 2) as usize, self.log_n) as u32
            })
            .collect()
    }

    /// `φ_g(a)` for `a` in NTT form, given [`Self::automorphism_permutation`] of `g`.
    pub fn automorphism_ntt(&self, a: &RnsPoly, perm: &[u32]) -> RnsPoly {
        debug_assert!(a.ntt);
        let mut out = a.clone();
        out.data
            .par_chunks_exact_mut(self.n)
            .zip(a.data.par_chunks_exact(self.n))
            .for_each(|(o, i)| {
                for (x, &p) in o.iter_mut().zip(perm) {
                    *x = i[p as usize];
                }
            });
        out
    }

    /// `φ_g(a)` for `a` in coefficient form: `X^i → ±X^(i·g mod N)`.
    pub fn automorphism_coeff(&self, a: &RnsPoly, g: u64) -> RnsPoly {
        debug_assert!(!a.ntt);
        let n = self.n;
        let basis = a.basis;
        let mut out = a.clone();
        out.data
            .par_chunks_exact_mut(n)
            .zip(a.data.par_chunks_exact(n))
            .enumerate()
            .for_each(|(j, (o, src))| {
                let m = self.modulus_of(basis, j);
                for (i, &c) in src.iter().enumerate() {
                    let e = (i as u64 * g) % (2 * n as u64);
                    if e < n as u64 {
                        o[e as usize] = c;
                    } else {
                        o[(e - n as u64) as usize] = m.neg(c);
                    }
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::primes::ntt_primes_near;

    #[test]
    fn ntt_automorphism_matches_the_coefficient_automorphism() {
        let log_n = 6;
        let q = ntt_primes_near(40, log_n, 2, &[]).unwrap();
        let ctx = RingContext::new(log_n, &q, &[]).unwrap();
        let coeffs: Vec<i64> = (0..64).map(|i| (i * 37 % 11) - 5).collect();
        let a = ctx.from_signed(&coeffs, Basis::level(1));
        for k in [1i64, 2, 5, -1, 31] {
            let g = ctx.galois_element(k);
            let mut want = ctx.automorphism_coeff(&a, g);
            let mut fa = a.clone();
            ctx.ntt(&mut fa);
            let got = ctx.automorphism_ntt(&fa, &ctx.automorphism_permutation(g));
            ctx.ntt(&mut want);
            assert_eq!(got, want, "rotation {k}");
        }
    }

    #[test]
    fn rejects_bad_primes() {
        assert!(RingContext::new(4, &[97, 97], &[]).is_err());
        assert!(RingContext::new(4, &[101], &[]).is_err()); // 101 ≢ 1 mod 32
        assert!(RingContext::new(4, &[], &[]).is_err());
    }
}
