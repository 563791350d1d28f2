//! The negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`.
//!
//! `NTT(a)[i] = a(ψ^(2·rev(i)+1))`, with `ψ` a primitive `2N`-th root of unity and `rev` the bit reversal of
//! `log2 N` bits: the `ψ`-twist of the negacyclic product is merged into the butterflies (Longa–Naehrig 2016),
//! so a product in `R_q` is a pointwise product between a forward and an inverse transform.
//!
//! Forward: Cooley–Tukey butterflies with Harvey's lazy reduction, values kept in `[0, 4q)` and twiddles applied
//! by Shoup multiplication; inverse: Gentleman–Sande butterflies in `[0, 2q)`, the factor `N^-1` folded into the
//! last stage. One final pass brings everything to `[0, q)`.

use super::modulus::Modulus;
use super::primes::primitive_root_2n;

/// Twiddle tables of one prime and ring degree.
#[derive(Clone, Debug)]
pub struct NttTable {
    m: Modulus,
    n: usize,
    /// `ψ^rev(k)` and Shoup companions, in the order the forward butterflies read them.
    fwd: Vec<u64>,
    fwd_shoup: Vec<u64>,
    /// `ψ^-rev(k)` and Shoup companions, for the inverse.
    inv: Vec<u64>,
    inv_shoup: Vec<u64>,
    n_inv: u64,
    n_inv_shoup: u64,
    /// `N^-1 · ψ^-rev(1)`: the last inverse stage's twiddle with `N^-1` folded in.
    last: u64,
    last_shoup: u64,
}

/// Reverses the low `bits` bits of `x`.
#[inline]
pub fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

impl NttTable {
    /// Tables for `N = 2^log_n`; `None` if `q ≢ 1 (mod 2N)`.
    pub fn new(m: Modulus, log_n: u32) -> Option<Self> {
        let n = 1usize << log_n;
        let psi = primitive_root_2n(&m, log_n)?;
        let psi_inv = m.inv(psi);
        let mut fwd = vec![0u64; n];
        let mut inv = vec![0u64; n];
        let (mut p, mut pi) = (1u64, 1u64);
        for k in 0..n {
            let r = bit_reverse(k, log_n);
            fwd[r] = p;
            inv[r] = pi;
            p = m.mul(p, psi);
            pi = m.mul(pi, psi_inv);
        }
        let fwd_shoup = fwd.iter().map(|&w| m.shoup(w)).collect();
        let inv_shoup = inv.iter().map(|&w| m.shoup(w)).collect();
        let n_inv = m.inv(n as u64 % m.value());
        let last = m.mul(n_inv, inv[1]);
        Some(Self {
            m,
            n,
            fwd,
            fwd_shoup,
            inv,
            inv_shoup,
            n_inv,
            n_inv_shoup: m.shoup(n_inv),
            last,
            last_shoup: m.shoup(last),
        })
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.m
    }

    /// In-place forward transform; input and output in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n);
        let q = self.m.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut t = n;
        let mut m = 1;
        while m < n {
            t >>= 1;
            for i in 0..m {
                let w = self.fwd[m + i];
                let ws = self.fwd_shoup[m + i];
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let mut u = *x;
                    if u >= two_q {
                        u -= two_q;
                    }
                    let v = self.m.mul_shoup_lazy(*y, w, ws);
                    *x = u + v;
                    *y = u + two_q - v;
                }
            }
            m <<= 1;
        }
        for x in a.iter_mut() {
            let mut v = *x;
            if v >= two_q {
                v -= two_q;
            }
            if v >= q {
                v -= q;
            }
            *x = v;
        }
    }

    /// In-place inverse transform; input and output in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n);
        let q = self.m.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut t = 1;
        let mut m = n;
        while m > 2 {
            let h = m >> 1;
            for i in 0..h {
                let w = self.inv[h + i];
                let ws = self.inv_shoup[h + i];
                let (lo, hi) = a[2 * i * t..2 * i * t + 2 * t].split_at_mut(t);
                for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                    let (u, v) = (*x, *y);
                    let mut s = u + v;
                    if s >= two_q {
                        s -= two_q;
                    }
                    *x = s;
                    *y = self.m.mul_shoup_lazy(u + two_q - v, w, ws);
                }
            }
            t <<= 1;
            m = h;
        }
        // Last stage (m = 2): both outputs also take the factor N^-1.
        let (lo, hi) = a.split_at_mut(n / 2);
        for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
            let (u, v) = (*x, *y);
            let s = u + v;
            *x = self.m.mul_shoup(s, self.n_inv, self.n_inv_shoup);
            *y = self.m.mul_shoup(u + two_q - v, self.last, self.last_shoup);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::primes::ntt_primes_near;
    use rand::{Rng, SeedableRng};

    fn naive_negacyclic(a: &[u64], b: &[u64], m: &Modulus) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for i in 0..n {
            for j in 0..n {
                let p = m.mul(a[i], b[j]);
                let k = i + j;
                if k < n {
                    c[k] = m.add(c[k], p);
                } else {
                    c[k - n] = m.sub(c[k - n], p);
                }
            }
        }
        c
    }

    #[test]
    fn product_matches_the_naive_negacyclic_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for (bits, log_n) in [(30u32, 4u32), (50, 8), (60, 10)] {
            let q = ntt_primes_near(bits, log_n, 1, &[]).unwrap()[0];
            let m = Modulus::new(q).unwrap();
            let t = NttTable::new(m, log_n).unwrap();
            let n = 1 << log_n;
            let a: Vec<u64> = (0..n).map(|_| rng.random_range(0..q)).collect();
            let b: Vec<u64> = (0..n).map(|_| rng.random_range(0..q)).collect();
            let want = naive_negacyclic(&a, &b, &m);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            t.forward(&mut fa);
            t.forward(&mut fb);
            assert!(fa.iter().all(|&x| x < q));
            let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| m.mul(x, y)).collect();
            t.inverse(&mut c);
            assert_eq!(c, want, "q = {q}, N = {n}");
            t.inverse(&mut fa);
            assert_eq!(fa, a);
        }
    }

    #[test]
    fn output_order_is_evaluation_at_bit_reversed_odd_powers() {
        let log_n = 5;
        let q = ntt_primes_near(40, log_n, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let t = NttTable::new(m, log_n).unwrap();
        let psi = primitive_root_2n(&m, log_n).unwrap();
        let n = 1usize << log_n;
        let a: Vec<u64> = (0..n as u64).map(|i| (i * i + 7) % q).collect();
        let mut fa = a.clone();
        t.forward(&mut fa);
        for (i, &v) in fa.iter().enumerate() {
            let root = m.pow(psi, 2 * bit_reverse(i, log_n) as u64 + 1);
            let eval = a.iter().rev().fold(0u64, |acc, &c| m.add(m.mul(acc, root), c));
            assert_eq!(v, eval, "slot {i}");
        }
    }
}
