//! RNS polynomials: one row of `N` residues per prime, rows stored one after the other.

use std::sync::Mutex;

/// Which primes a polynomial has rows for: `q_0 … q_(q−1)` and, if `special`, then every special prime
/// `p_0 … p_(K−1)` (the extended basis `Q_ℓ·P` of key switching).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Basis {
    /// Number of ciphertext primes, `ℓ + 1` at level `ℓ`.
    pub q: usize,
    /// Whether the special primes follow.
    pub special: bool,
}

impl Basis {
    /// The ciphertext basis `Q_ℓ` of level `ℓ`.
    pub fn level(level: usize) -> Self {
        Self {
            q: level + 1,
            special: false,
        }
    }

    /// The extended basis `Q_ℓ·P`.
    pub fn extended(level: usize) -> Self {
        Self {
            q: level + 1,
            special: true,
        }
    }
}

/// Freed residue buffers of at least [`POOL_MIN_WORDS`] words, kept for the next polynomial of a similar size.
///
/// Why: a bootstrap at `N = 2^16` allocates and frees polynomials of 15–20 MB by the thousand (key-switching
/// digits, products, rotations). glibc returns such blocks to the kernel (`mmap`/trim) and every new one is
/// faulted in again page by page: about 12% of the CPU time went to page faults. Reusing the buffers keeps
/// them resident; the pool is bounded ([`POOL_MAX_BYTES`]), so the memory it holds beyond the live
/// polynomials stays small against the keys.
static POOL: Mutex<Pool> = Mutex::new(Pool {
    bufs: Vec::new(),
    words: 0,
});

/// Buffers below this many words (512 KiB) are left to the allocator.
const POOL_MIN_WORDS: usize = 1 << 16;

/// Most bytes the pool keeps.
const POOL_MAX_BYTES: usize = 384 << 20;

struct Pool {
    bufs: Vec<Vec<u64>>,
    words: usize,
}

/// A buffer of `len` zeros, reused from the pool when one fits (capacity `len` to `2·len`: best fit).
fn pooled_zeros(len: usize) -> Vec<u64> {
    let mut v = pooled(len);
    v.resize(len, 0);
    v
}

/// An empty buffer with capacity for `len` words, reused from the pool when one fits.
fn pooled(len: usize) -> Vec<u64> {
    if len >= POOL_MIN_WORDS {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let best = pool
            .bufs
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len && b.capacity() <= 2 * len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let mut v = pool.bufs.swap_remove(i);
            pool.words -= v.capacity();
            v.clear();
            return v;
        }
    }
    Vec::with_capacity(len)
}

/// Returns a buffer to the pool (dropped instead if small or if the pool is full).
fn recycle(v: Vec<u64>) {
    let cap = v.capacity();
    if cap < POOL_MIN_WORDS {
        return;
    }
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if (pool.words + cap) * 8 <= POOL_MAX_BYTES {
        pool.words += cap;
        pool.bufs.push(v);
    }
}

/// A polynomial of `R` in RNS form, in coefficient or NTT (evaluation) representation.
///
/// Its residue buffer comes from, and returns to, a bounded pool of large buffers ([`POOL`]).
#[derive(Debug, PartialEq, Eq)]
pub struct RnsPoly {
    pub(crate) n: usize,
    pub(crate) basis: Basis,
    /// Row `j` holds the residues modulo the `j`-th prime of the basis.
    pub(crate) data: Vec<u64>,
    pub(crate) ntt: bool,
}

impl RnsPoly {
    /// The zero polynomial.
    pub fn zero(n: usize, basis: Basis, rows: usize, ntt: bool) -> Self {
        Self {
            n,
            basis,
            data: pooled_zeros(n * rows),
            ntt,
        }
    }

    /// Ring degree `N`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The basis.
    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// Whether the rows hold NTT values.
    pub fn is_ntt(&self) -> bool {
        self.ntt
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.n
    }

    /// Row `j`.
    pub fn row(&self, j: usize) -> &[u64] {
        &self.data[j * self.n..(j + 1) * self.n]
    }

    /// Row `j`, mutably.
    pub fn row_mut(&mut self, j: usize) -> &mut [u64] {
        &mut self.data[j * self.n..(j + 1) * self.n]
    }

    /// The raw residues, row after row.
    pub fn as_slice(&self) -> &[u64] {
        &self.data
    }

    /// A copy of the first `q` ciphertext rows (a modulus drop without copying the dropped rows).
    /// Only for polynomials without special rows.
    pub fn prefix(&self, q: usize) -> Self {
        debug_assert!(!self.basis.special && q <= self.basis.q);
        Self {
            n: self.n,
            basis: Basis { q, special: false },
            data: {
                let mut v = pooled(q * self.n);
                v.extend_from_slice(&self.data[..q * self.n]);
                v
            },
            ntt: self.ntt,
        }
    }

    /// Keeps the first `q` ciphertext rows (a modulus drop, exact for the value mod the smaller modulus).
    /// Only for polynomials without special rows.
    pub fn truncate(&mut self, q: usize) {
        debug_assert!(!self.basis.special && q <= self.basis.q);
        self.data.truncate(q * self.n);
        self.basis.q = q;
    }
}

impl Clone for RnsPoly {
    fn clone(&self) -> Self {
        let mut data = pooled(self.data.len());
        data.extend_from_slice(&self.data);
        Self {
            n: self.n,
            basis: self.basis,
            data,
            ntt: self.ntt,
        }
    }
}

impl Drop for RnsPoly {
    fn drop(&mut self) {
        recycle(std::mem::take(&mut self.data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_buffers_come_back_zeroed_and_sized() {
        let n = 1 << 13;
        let basis = Basis::level(9);
        let mut dirty = RnsPoly::zero(n, basis, 10, true);
        dirty.data.iter_mut().for_each(|x| *x = u64::MAX);
        let copy = dirty.clone();
        assert_eq!(copy, dirty);
        drop(dirty);
        drop(copy);
        for rows in [10, 8, 6] {
            let z = RnsPoly::zero(n, Basis::level(rows - 1), rows, true);
            assert_eq!(z.data.len(), n * rows);
            assert!(z.data.iter().all(|&x| x == 0));
        }
    }
}
