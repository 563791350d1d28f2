//! NTT-friendly primes: `q ≡ 1 (mod 2N)`, so that `Z_q` holds a primitive `2N`-th root of unity and
//! `X^N + 1` splits into linear factors.
//!
//! CKKS wants the rescaling primes as close as possible to the scale `Δ = 2^b`: each rescale divides the scale by
//! `q_i`, so `q_i ≈ Δ` keeps it near `Δ`. [`ntt_primes_near`] hands out the primes nearest to `2^b`, alternating
//! above and below it so that consecutive quotients `Δ/q_i` partly cancel (as Lattigo's generator does).

use super::modulus::Modulus;

/// Deterministic Miller–Rabin for 64-bit integers (the first twelve primes as bases suffice below 3.3·10^24).
pub fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mulmod = |a: u64, b: u64| ((a as u128 * b as u128) % n as u128) as u64;
    let powmod = |mut a: u64, mut e: u64| {
        let mut r = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                r = mulmod(r, a);
            }
            a = mulmod(a, a);
            e >>= 1;
        }
        r
    };
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'witness: for a in BASES {
        let mut x = powmod(a, d);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mulmod(x, x);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// `count` distinct primes `q ≡ 1 (mod 2^(log_n+1))` nearest to `2^bits`, alternating above and below, none
/// of them in `exclude`. `None` if the range runs out (bits too small for the ring degree).
pub fn ntt_primes_near(bits: u32, log_n: u32, count: usize, exclude: &[u64]) -> Option<Vec<u64>> {
    let step = 1u64 << (log_n + 1);
    let center = 1u64 << bits;
    let (mut up, mut down) = (center + 1, center + 1 - step);
    let mut out = Vec::with_capacity(count);
    let mut take_up = true;
    let lo = 1u64 << (bits - 1);
    let hi = (1u64 << (bits + 1)).min(1 << super::modulus::MAX_MODULUS_BITS);
    while out.len() < count {
        let (can_up, can_down) = (up < hi, down > lo);
        if !can_up && !can_down {
            return None;
        }
        let cand = if (take_up && can_up) || !can_down {
            let c = up;
            up += step;
            c
        } else {
            let c = down;
            down -= step;
            c
        };
        if is_prime(cand) && !exclude.contains(&cand) && !out.contains(&cand) {
            out.push(cand);
            take_up = !take_up;
        }
    }
    Some(out)
}

/// The smallest primitive `2N`-th root of unity `ψ` modulo `q` (`ψ^N = −1`), found deterministically.
pub fn primitive_root_2n(m: &Modulus, log_n: u32) -> Option<u64> {
    let q = m.value();
    let two_n = 1u64 << (log_n + 1);
    if !(q - 1).is_multiple_of(two_n) {
        return None;
    }
    let n = two_n / 2;
    (2..q.min(1 << 20)).find_map(|g| {
        let psi = m.pow(g, (q - 1) / two_n);
        (m.pow(psi, n) == q - 1).then_some(psi)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miller_rabin_agrees_with_trial_division() {
        let trial = |n: u64| n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d));
        for n in 0..20_000u64 {
            assert_eq!(is_prime(n), trial(n), "{n}");
        }
        // Strong pseudoprimes to several bases and a 61-bit prime.
        assert!(!is_prime(3_215_031_751));
        assert!(!is_prime(3_825_123_056_546_413_051));
        assert!(is_prime(2_305_843_009_213_693_951));
    }

    #[test]
    fn ntt_primes_are_congruent_distinct_and_near_the_target() {
        let ps = ntt_primes_near(40, 14, 10, &[]).unwrap();
        assert_eq!(ps.len(), 10);
        for (i, &p) in ps.iter().enumerate() {
            assert!(is_prime(p));
            assert_eq!(p % (1 << 15), 1);
            assert!((p as f64 / 2f64.powi(40) - 1.0).abs() < 1e-3);
            assert!(!ps[..i].contains(&p));
        }
        // Alternating around 2^40.
        assert!(ps[0] > 1 << 40 && ps[1] < 1 << 40);
        let more = ntt_primes_near(40, 14, 2, &ps).unwrap();
        assert!(more.iter().all(|p| !ps.contains(p)));
    }

    #[test]
    fn root_of_unity_has_order_2n() {
        let q = ntt_primes_near(50, 12, 1, &[]).unwrap()[0];
        let m = Modulus::new(q).unwrap();
        let psi = primitive_root_2n(&m, 12).unwrap();
        assert_eq!(m.pow(psi, 1 << 12), q - 1);
        assert_eq!(m.pow(psi, 1 << 13), 1);
    }
}
