//! Arithmetic modulo one word-sized prime `q < 2^62`.
//!
//! Two reductions, each where it pays:
//! - **Barrett** for the product of two arbitrary residues (`mul`): `⌊2^128/q⌋` is precomputed and the quotient of
//!   the 128-bit product is estimated from its two words; at most two corrections follow.
//! - **Shoup** for the product with a fixed operand `w` (twiddles, key and plaintext constants): with
//!   `w' = ⌊w·2^64/q⌋`, `x·w − ⌊x·w'/2^64⌋·q` lies in `[0, 2q)` for every 64-bit `x`, one high multiply and no
//!   correction until the caller wants `[0, q)`. The NTT keeps its values lazily in `[0, 4q)` on this basis
//!   (Harvey, "Faster arithmetic for number-theoretic transforms", 2014), hence `q < 2^62`.

/// Largest supported modulus bit size: lazy NTT values reach `4q`, which must fit in 64 bits.
pub const MAX_MODULUS_BITS: u32 = 61;

/// A prime modulus with its reduction constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulus {
    q: u64,
    /// `⌊2^128 / q⌋` as (high, low) words.
    ratio: (u64, u64),
    /// `⌊2^64 / q⌋`, for reducing single words.
    ratio64: u64,
}

impl Modulus {
    /// The modulus `q` (odd, `2 < q < 2^61`); `None` otherwise.
    pub fn new(q: u64) -> Option<Self> {
        if q < 3 || q.is_multiple_of(2) || q >> MAX_MODULUS_BITS != 0 {
            return None;
        }
        // 2^128 / q by long division of (1, 0, 0) in base 2^64.
        let hi = u128::MAX / q as u128; // ⌊(2^128 − 1)/q⌋ equals ⌊2^128/q⌋ because q is odd and > 1.
        Some(Self {
            q,
            ratio: ((hi >> 64) as u64, hi as u64),
            ratio64: u64::MAX / q,
        })
    }

    /// The value of `q`.
    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.q
    }

    /// Bit length of `q`.
    pub fn bits(&self) -> u32 {
        64 - self.q.leading_zeros()
    }

    /// `x mod q` for a 128-bit `x < q·2^64`.
    #[inline(always)]
    pub fn reduce_u128(&self, x: u128) -> u64 {
        let (xh, xl) = ((x >> 64) as u64, x as u64);
        let (rh, rl) = self.ratio;
        // ⌊x·r / 2^128⌋ without the lowest partial product's carry: an under-estimate by at most 2.
        let mid = (xl as u128 * rh as u128) + (xh as u128 * rl as u128) + ((xl as u128 * rl as u128) >> 64);
        let quot = (xh as u128 * rh as u128) + (mid >> 64);
        let mut r = (x.wrapping_sub(quot.wrapping_mul(self.q as u128))) as u64;
        if r >= self.q {
            r -= self.q;
        }
        if r >= self.q {
            r -= self.q;
        }
        r
    }

    /// `x mod q` for any 128-bit `x` (two Barrett steps: the high word first).
    #[inline(always)]
    pub fn reduce_wide(&self, x: u128) -> u64 {
        let hi = self.reduce((x >> 64) as u64);
        self.reduce_u128(((hi as u128) << 64) | (x as u64 as u128))
    }

    /// `x mod q` for any 64-bit `x`.
    #[inline(always)]
    pub fn reduce(&self, x: u64) -> u64 {
        // ⌊x·⌊2^64/q⌋/2^64⌋ under-estimates ⌊x/q⌋ by at most 1.
        let quot = ((x as u128 * self.ratio64 as u128) >> 64) as u64;
        let r = x - quot * self.q;
        if r >= self.q {
            r - self.q
        } else {
            r
        }
    }

    /// `a·b mod q` for `a, b < q`.
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    /// `a + b mod q` for `a, b < q`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= self.q {
            s - self.q
        } else {
            s
        }
    }

    /// `a − b mod q` for `a, b < q`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        if a >= b {
            a - b
        } else {
            a + self.q - b
        }
    }

    /// `−a mod q` for `a < q`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        if a == 0 {
            0
        } else {
            self.q - a
        }
    }

    /// Shoup's precomputed companion `⌊w·2^64/q⌋` of a fixed operand `w < q`.
    #[inline(always)]
    pub fn shoup(&self, w: u64) -> u64 {
        (((w as u128) << 64) / self.q as u128) as u64
    }

    /// `x·w mod q` in `[0, 2q)` for any 64-bit `x`, given `w' = shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, x: u64, w: u64, w_shoup: u64) -> u64 {
        let quot = ((x as u128 * w_shoup as u128) >> 64) as u64;
        x.wrapping_mul(w).wrapping_sub(quot.wrapping_mul(self.q))
    }

    /// `x·w mod q` in `[0, q)`, given `w' = shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup(&self, x: u64, w: u64, w_shoup: u64) -> u64 {
        let r = self.mul_shoup_lazy(x, w, w_shoup);
        if r >= self.q {
            r - self.q
        } else {
            r
        }
    }

    /// `a^e mod q`.
    pub fn pow(&self, mut a: u64, mut e: u64) -> u64 {
        let mut r = 1 % self.q;
        a = self.reduce(a);
        while e > 0 {
            if e & 1 == 1 {
                r = self.mul(r, a);
            }
            a = self.mul(a, a);
            e >>= 1;
        }
        r
    }

    /// `a^-1 mod q` (q prime, `a ≠ 0 mod q`).
    pub fn inv(&self, a: u64) -> u64 {
        self.pow(a, self.q - 2)
    }

    /// The residue of a signed integer.
    #[inline(always)]
    pub fn from_i64(&self, x: i64) -> u64 {
        if x >= 0 {
            self.reduce(x as u64)
        } else {
            self.neg(self.reduce(x.unsigned_abs()))
        }
    }

    /// The residue of a signed 128-bit integer.
    pub fn from_i128(&self, x: i128) -> u64 {
        let r = self.reduce_wide(x.unsigned_abs());
        if x < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// The centred representative of a residue, in `(−q/2, q/2]`.
    #[inline(always)]
    pub fn centered(&self, a: u64) -> i64 {
        if a > self.q / 2 {
            -((self.q - a) as i64)
        } else {
            a as i64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRIMES: [u64; 3] = [2_305_843_009_213_693_951, 1_152_921_504_606_584_833, 1_099_511_922_689];

    proptest! {
        #[test]
        fn barrett_matches_u128_remainder(a in any::<u64>(), b in any::<u64>(), k in 0usize..3) {
            let m = Modulus::new(PRIMES[k]).unwrap();
            let q = m.value();
            let (a, b) = (a % q, b % q);
            prop_assert_eq!(m.mul(a, b), ((a as u128 * b as u128) % q as u128) as u64);
            prop_assert_eq!(m.reduce(a.wrapping_mul(b)), a.wrapping_mul(b) % q);
            let wide = (a as u128) << 64 | b as u128;
            prop_assert_eq!(m.reduce_wide(wide), (wide % q as u128) as u64);
            prop_assert_eq!(m.reduce_wide(u128::MAX - wide), ((u128::MAX - wide) % q as u128) as u64);
        }

        #[test]
        fn shoup_matches_u128_remainder(x in any::<u64>(), w in any::<u64>(), k in 0usize..3) {
            let m = Modulus::new(PRIMES[k]).unwrap();
            let q = m.value();
            let w = w % q;
            let lazy = m.mul_shoup_lazy(x, w, m.shoup(w));
            prop_assert!(lazy < 2 * q);
            prop_assert_eq!(lazy % q, ((x as u128 * w as u128) % q as u128) as u64);
        }

        #[test]
        fn signed_residues_are_consistent(x in any::<i64>(), y in any::<i128>()) {
            let m = Modulus::new(PRIMES[2]).unwrap();
            let q = m.value() as i128;
            prop_assert_eq!(m.from_i64(x) as i128, (x as i128).rem_euclid(q));
            prop_assert_eq!(m.from_i128(y) as i128, y.rem_euclid(q));
        }
    }

    #[test]
    fn inverse_and_rejects_bad_moduli() {
        let m = Modulus::new(PRIMES[1]).unwrap();
        for a in [1u64, 2, 12345, m.value() - 1] {
            assert_eq!(m.mul(a, m.inv(a)), 1);
        }
        assert!(Modulus::new(0).is_none());
        assert!(Modulus::new(1 << 40).is_none());
        assert!(Modulus::new((1 << 62) + 1).is_none());
    }
}
