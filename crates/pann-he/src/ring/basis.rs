//! Changes of RNS basis: rescaling (exact division by the last prime, rounded), and the fast basis extension
//! and reduction of hybrid key switching (Han–Ki 2020; Bajard et al. 2016).
//!
//! Fast basis conversion of `x` given modulo `A = a_0⋯a_(k−1)` to a prime `t`:
//! `x ≡ Σ_i [x_i·Â_i^-1]_(a_i) · Â_i (mod t)` with `Â_i = A/a_i` — exact up to an added `u·A`, `0 ≤ u < k`,
//! which key switching tolerates: in the extension the term vanishes modulo `Q·P` against the gadget, in the
//! reduction it adds `u < K` after division by `P`.

use rayon::prelude::*;

use super::context::RingContext;
use super::modulus::Modulus;
use super::poly::{Basis, RnsPoly};

/// `(Â_i^-1 mod a_i, [Â_i mod t for each target t])` for a source list of moduli.
fn conversion_constants(src: &[Modulus], targets: &[Modulus]) -> (Vec<u64>, Vec<Vec<u64>>) {
    let hat_inv = src
        .iter()
        .enumerate()
        .map(|(i, mi)| {
            let prod = src
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != i)
                .fold(1u64, |acc, (_, mk)| mi.mul(acc, mi.reduce(mk.value())));
            mi.inv(prod)
        })
        .collect();
    let hat_mod_t = targets
        .iter()
        .map(|mt| {
            (0..src.len())
                .map(|i| {
                    src.iter()
                        .enumerate()
                        .filter(|&(k, _)| k != i)
                        .fold(1u64, |acc, (_, mk)| mt.mul(acc, mt.reduce(mk.value())))
                })
                .collect()
        })
        .collect();
    (hat_inv, hat_mod_t)
}

/// Fast basis conversion of coefficient rows `y` (already multiplied by `Â_i^-1`) to one target modulus.
fn convert_row(y: &[&[u64]], hat_mod_t: &[u64], mt: &Modulus, out: &mut [u64]) {
    super::ntt::with_avx2(
        #[inline(always)]
        || convert_row_portable(y, hat_mod_t, mt, out),
    )
}

#[inline(always)]
fn convert_row_portable(y: &[&[u64]], hat_mod_t: &[u64], mt: &Modulus, out: &mut [u64]) {
    if let [row] = y {
        // One source prime: `Â = 1`, the conversion is a plain reduction of residues below that prime.
        for (o, &x) in out.iter_mut().zip(row.iter()) {
            *o = mt.reduce(x);
        }
        return;
    }
    for (x, o) in out.iter_mut().enumerate() {
        let mut acc: u128 = 0;
        for (row, &h) in y.iter().zip(hat_mod_t) {
            acc += row[x] as u128 * h as u128;
        }
        *o = mt.reduce_wide(acc);
    }
}

impl RingContext {
    /// `P mod q_i`, `P` the product of the special primes: the factor hybrid key switching multiplies by
    /// (switching keys, [`crate::bootstrap::lintrans`]) and [`Self::mod_down`] divides by.
    pub fn special_product_mod_q(&self, i: usize) -> u64 {
        let m = self.q(i);
        (0..self.special_count()).fold(1u64, |acc, k| m.mul(acc, m.reduce(self.p(k).value())))
    }

    /// Divides by the last prime `q_ℓ` with rounding and drops its row: `a ← ⌊a / q_ℓ⌉` modulo `Q_(ℓ−1)`.
    /// Works in either representation. Panics never; the caller checks that `ℓ ≥ 1`.
    pub fn rescale(&self, a: &mut RnsPoly) {
        let l = a.basis.q - 1;
        debug_assert!(l >= 1 && !a.basis.special);
        let n = self.n();
        let ntt = a.ntt;
        let mut last = a.row(l).to_vec();
        if ntt {
            self.table_of(a.basis, l).inverse(&mut last);
        }
        let ql = *self.q(l);
        let half = ql.value() / 2;
        a.data[..l * n]
            .par_chunks_exact_mut(n)
            .enumerate()
            .for_each(|(i, row)| {
                let mi = self.q(i);
                let ql_mod = mi.reduce(ql.value());
                let inv = mi.inv(ql_mod);
                let inv_s = mi.shoup(inv);
                // The centred residue of the last row, modulo q_i.
                let mut t: Vec<u64> = last
                    .iter()
                    .map(|&x| {
                        if x > half {
                            mi.sub(mi.reduce(x), ql_mod)
                        } else {
                            mi.reduce(x)
                        }
                    })
                    .collect();
                if ntt {
                    self.tables_q(i).forward(&mut t);
                }
                for (x, &s) in row.iter_mut().zip(&t) {
                    *x = mi.mul_shoup(mi.sub(*x, s), inv, inv_s);
                }
            });
        a.truncate(l);
    }

    fn tables_q(&self, i: usize) -> &super::ntt::NttTable {
        self.table_of(Basis::level(i), i)
    }

    /// Extends digit rows `lo..hi` of `c` (coefficient form, level `ℓ`) to the whole extended basis `Q_ℓ·P`, in
    /// NTT form. Rows of the digit itself are copied from `c_ntt`, the NTT form of `c`.
    pub fn mod_up_digit(&self, c: &RnsPoly, c_ntt: &RnsPoly, lo: usize, hi: usize) -> RnsPoly {
        let level = c.basis.q - 1;
        let basis = Basis::extended(level);
        let n = self.n();
        let src: Vec<Modulus> = (lo..hi).map(|i| *self.q(i)).collect();
        let rows = self.rows(basis);
        let targets: Vec<Modulus> = (0..rows).map(|j| *self.modulus_of(basis, j)).collect();
        let (hat_inv, hat_mod_t) = conversion_constants(&src, &targets);
        let y: Vec<Vec<u64>> = (lo..hi)
            .map(|i| {
                let m = self.q(i);
                let (h, hs) = (hat_inv[i - lo], m.shoup(hat_inv[i - lo]));
                c.row(i).iter().map(|&x| m.mul_shoup(x, h, hs)).collect()
            })
            .collect();
        let y_refs: Vec<&[u64]> = y.iter().map(|v| v.as_slice()).collect();
        let mut out = self.zero(basis, true);
        out.data.par_chunks_exact_mut(n).enumerate().for_each(|(j, row)| {
            if (lo..hi).contains(&j) {
                row.copy_from_slice(c_ntt.row(j));
            } else {
                convert_row(&y_refs, &hat_mod_t[j], &targets[j], row);
                self.table_of(basis, j).forward(row);
            }
        });
        out
    }

    /// `⌊a / P⌉`-ish: maps `a` in NTT form over `Q_ℓ·P` to `(a − [a]_P)/P` over `Q_ℓ`, in NTT form.
    pub fn mod_down(&self, a: &RnsPoly) -> RnsPoly {
        debug_assert!(a.basis.special && a.ntt);
        let level = a.basis.q - 1;
        let n = self.n();
        let k = self.special_count();
        let src: Vec<Modulus> = (0..k).map(|i| *self.p(i)).collect();
        let targets: Vec<Modulus> = (0..=level).map(|i| *self.q(i)).collect();
        let (hat_inv, hat_mod_t) = conversion_constants(&src, &targets);
        let p_rows: Vec<Vec<u64>> = (0..k)
            .into_par_iter()
            .map(|i| {
                let mut r = a.row(level + 1 + i).to_vec();
                self.table_of(a.basis, level + 1 + i).inverse(&mut r);
                let m = &src[i];
                let (h, hs) = (hat_inv[i], m.shoup(hat_inv[i]));
                r.iter_mut().for_each(|x| *x = m.mul_shoup(*x, h, hs));
                r
            })
            .collect();
        let refs: Vec<&[u64]> = p_rows.iter().map(|v| v.as_slice()).collect();
        let mut out = self.zero(Basis::level(level), true);
        out.data.par_chunks_exact_mut(n).enumerate().for_each(|(i, row)| {
            let mi = &targets[i];
            convert_row(&refs, &hat_mod_t[i], mi, row);
            self.tables_q(i).forward(row);
            let p_inv = mi.inv(self.special_product_mod_q(i));
            let p_inv_s = mi.shoup(p_inv);
            for (o, &x) in row.iter_mut().zip(a.row(i)) {
                *o = mi.mul_shoup(mi.sub(x, *o), p_inv, p_inv_s);
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::primes::ntt_primes_near;

    fn crt_value(ctx: &RingContext, p: &RnsPoly, x: usize) -> i128 {
        // Small values only: read them off the first prime, checked against the second.
        let a = ctx.q(0).centered(p.row(0)[x]) as i128;
        if p.rows() > 1 {
            assert_eq!(ctx.q(1).centered(p.row(1)[x]) as i128, a, "rows disagree at {x}");
        }
        a
    }

    #[test]
    fn rescale_divides_and_rounds() {
        let log_n = 5;
        let q = ntt_primes_near(30, log_n, 3, &[]).unwrap();
        let ctx = RingContext::new(log_n, &q, &[]).unwrap();
        let ql = q[2] as i128;
        let values: Vec<i128> = (0..32)
            .map(|i| (i as i128 - 16) * ql * 1000 + (i as i128 * 7919) % ql - ql / 2)
            .collect();
        // Build the residues of these (large) values.
        let mut a = ctx.zero(Basis::level(2), false);
        for j in 0..3 {
            let m = *ctx.q(j);
            for (x, &v) in a.row_mut(j).iter_mut().zip(&values) {
                *x = m.from_i128(v);
            }
        }
        for ntt in [false, true] {
            let mut b = a.clone();
            if ntt {
                ctx.ntt(&mut b);
            }
            ctx.rescale(&mut b);
            ctx.intt(&mut b);
            for (x, &v) in values.iter().enumerate() {
                let want = (v as f64 / ql as f64).round() as i128;
                assert_eq!(crt_value(&ctx, &b, x), want, "coefficient {x}, ntt {ntt}");
            }
        }
    }

    #[test]
    fn mod_up_then_mod_down_recovers_the_value_times_p_over_p() {
        let log_n = 5;
        let q = ntt_primes_near(40, log_n, 4, &[]).unwrap();
        let p = ntt_primes_near(45, log_n, 2, &q).unwrap();
        let ctx = RingContext::new(log_n, &q, &p).unwrap();
        let coeffs: Vec<i64> = (0..32).map(|i| (i * 12345 - 99999) as i64).collect();
        let c = ctx.from_signed(&coeffs, Basis::level(3));
        let mut c_ntt = c.clone();
        ctx.ntt(&mut c_ntt);
        // A single digit holding all primes: the extension is exact up to u·Q, and P·ext/P returns c itself.
        let ext = ctx.mod_up_digit(&c, &c_ntt, 0, 4);
        let mut scaled = ext.clone();
        let pp: Vec<u64> = (0..ctx.rows(ext.basis()))
            .map(|j| {
                let m = ctx.modulus_of(ext.basis(), j);
                m.mul(m.reduce(p[0]), m.reduce(p[1]))
            })
            .collect();
        ctx.mul_residues_assign(&mut scaled, &pp);
        let mut back = ctx.mod_down(&scaled);
        ctx.intt(&mut back);
        for (x, &v) in coeffs.iter().enumerate() {
            assert_eq!(crt_value(&ctx, &back, x), v as i128);
        }
        // Extension of a two-prime digit agrees with the value modulo the other primes up to a multiple of the
        // digit modulus.
        let ext = ctx.mod_up_digit(&c, &c_ntt, 1, 3);
        let mut e = ext.clone();
        ctx.intt(&mut e);
        let d = (q[1] as i128) * (q[2] as i128);
        for (x, &v) in coeffs.iter().enumerate() {
            let got = ctx.q(0).centered(e.row(0)[x]) as i128;
            let diff = (got - v as i128).rem_euclid(q[0] as i128);
            let ok = (0..=2).any(|u| (u as i128 * d).rem_euclid(q[0] as i128) == diff);
            assert!(ok, "coefficient {x}");
        }
    }
}
