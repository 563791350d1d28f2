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

/// Whether this CPU has AVX2 and BMI2 (checked once, cached by the standard library).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("bmi2")
}

/// Runs `f` in a function compiled for AVX2 and BMI2 when the CPU has them, so that the inlined body of `f`
/// (mark it `#[inline(always)]`) is vectorised; on other CPUs runs it as it is.
#[inline(always)]
pub(crate) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        #[target_feature(enable = "avx2,bmi2")]
        unsafe fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the features were detected at run time.
        return unsafe { run(f) };
    }
    f()
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

    /// One forward butterfly: `(x, y) ← (x + w·y, x − w·y)`, inputs and outputs in `[0, 4q)`.
    #[inline(always)]
    fn fwd_butterfly(&self, x: &mut u64, y: &mut u64, w: u64, ws: u64, two_q: u64) {
        let mut u = *x;
        if u >= two_q {
            u -= two_q;
        }
        let v = self.m.mul_shoup_lazy(*y, w, ws);
        *x = u + v;
        *y = u + two_q - v;
    }

    /// One inverse butterfly: `(x, y) ← (x + y, w·(x − y))`, inputs and outputs in `[0, 2q)`.
    #[inline(always)]
    fn inv_butterfly(&self, x: &mut u64, y: &mut u64, w: u64, ws: u64, two_q: u64) {
        let (u, v) = (*x, *y);
        let mut s = u + v;
        if s >= two_q {
            s -= two_q;
        }
        *x = s;
        *y = self.m.mul_shoup_lazy(u + two_q - v, w, ws);
    }

    /// In-place forward transform; input and output in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: AVX2 and BMI2 were detected on this CPU at run time.
            unsafe { self.forward_avx2(a) };
            return;
        }
        self.forward_portable(a);
    }

    /// In-place inverse transform; input and output in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as in `forward`.
            unsafe { self.inverse_avx2(a) };
            return;
        }
        self.inverse_portable(a);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi2")]
    unsafe fn forward_avx2(&self, a: &mut [u64]) {
        self.forward_portable(a)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi2")]
    unsafe fn inverse_avx2(&self, a: &mut [u64]) {
        self.inverse_portable(a)
    }

    /// The forward transform in portable Rust; [`Self::forward`] compiles the same code a second time for AVX2
    /// and BMI2 (about twice as fast: LLVM vectorises the long stages) and picks one at run time.
    ///
    /// Stage `m` (`m = 1, 2, 4, …`) splits the array into `m` blocks of `2t` values, block `i` using twiddle
    /// `fwd[m + i]`; iterating blocks and twiddles together keeps the short late stages free of index
    /// arithmetic, and the last stage (`t = 1`) is written out pairwise.
    #[inline(always)]
    fn forward_portable(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n);
        let q = self.m.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut t = n;
        let mut m = 1;
        while m < n {
            t >>= 1;
            let tw = self.fwd[m..2 * m].iter().zip(&self.fwd_shoup[m..2 * m]);
            if t == 1 {
                for (pair, (&w, &ws)) in a.chunks_exact_mut(2).zip(tw) {
                    if let [x, y] = pair {
                        self.fwd_butterfly(x, y, w, ws, two_q);
                    }
                }
            } else {
                for (block, (&w, &ws)) in a.chunks_exact_mut(2 * t).zip(tw) {
                    let (lo, hi) = block.split_at_mut(t);
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        self.fwd_butterfly(x, y, w, ws, two_q);
                    }
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

    /// The inverse transform in portable Rust (see [`Self::forward_portable`]).
    #[inline(always)]
    fn inverse_portable(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n);
        let q = self.m.value();
        let two_q = 2 * q;
        let n = self.n;
        let mut t = 1;
        let mut m = n;
        while m > 2 {
            let h = m >> 1;
            let tw = self.inv[h..2 * h].iter().zip(&self.inv_shoup[h..2 * h]);
            if t == 1 {
                for (pair, (&w, &ws)) in a.chunks_exact_mut(2).zip(tw) {
                    if let [x, y] = pair {
                        self.inv_butterfly(x, y, w, ws, two_q);
                    }
                }
            } else {
                for (block, (&w, &ws)) in a.chunks_exact_mut(2 * t).zip(tw) {
                    let (lo, hi) = block.split_at_mut(t);
                    for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                        self.inv_butterfly(x, y, w, ws, two_q);
                    }
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
        for (i, &ai) in a.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                let p = m.mul(ai, bj);
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
