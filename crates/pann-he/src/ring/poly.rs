//! RNS polynomials: one row of `N` residues per prime, rows stored one after the other.

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

/// A polynomial of `R` in RNS form, in coefficient or NTT (evaluation) representation.
#[derive(Clone, Debug, PartialEq, Eq)]
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
            data: vec![0; n * rows],
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

    /// Keeps the first `q` ciphertext rows (a modulus drop, exact for the value mod the smaller modulus).
    /// Only for polynomials without special rows.
    pub fn truncate(&mut self, q: usize) {
        debug_assert!(!self.basis.special && q <= self.basis.q);
        self.data.truncate(q * self.n);
        self.basis.q = q;
    }
}
