//! The evaluation keys bootstrapping needs, and only those: the relinearisation key (EvalMod's products), the
//! rotation keys of the baby and giant steps of every CoeffsToSlots/SlotsToCoeffs layer, and the conjugation
//! key (`X → X^(2N−1)`, the real/imaginary split). Each key is `dnum·2·(L+1+K)·N·8` bytes, so the count matters:
//! [`BootstrapKeys::bytes`] reports the total. They are ordinary [`RelinKey`]/[`GaloisKeys`], saved and loaded
//! with [`crate::serialize`] and its checks.

use super::coeffs_to_slots::coeffs_to_slots_layers;
use super::lintrans::rotations_for;
use super::params::BootstrapParameters;
use super::slots_to_coeffs::slots_to_coeffs_layers;
use crate::ckks::Parameters;
use crate::rlwe::{GaloisKeys, KeyGenerator, RelinKey, SecretKey};

/// Relinearisation and Galois keys for one bootstrapping plan.
#[derive(Clone, Debug)]
pub struct BootstrapKeys {
    /// The relinearisation key.
    pub relin: RelinKey,
    /// Rotation and conjugation keys.
    pub galois: GaloisKeys,
}

impl BootstrapKeys {
    /// Bytes of all key residues.
    pub fn bytes(&self) -> usize {
        self.relin.0.bytes() + self.galois.bytes()
    }
}

/// The rotations (in slots, sorted, nonzero) the plan of `boot` uses: the transforms' baby and giant steps
/// and, for sparse packing, the partial trace's `n'·2^k`.
pub fn rotations(params: &Parameters, boot: &BootstrapParameters) -> Vec<i64> {
    let n = params.slots();
    let sparse = boot.slots();
    let mut r: Vec<i64> = coeffs_to_slots_layers(sparse, boot.cts_levels)
        .iter()
        .chain(&slots_to_coeffs_layers(sparse, boot.stc_levels))
        .flat_map(|d| rotations_for(&d.keys().copied().collect::<Vec<_>>(), n))
        .collect();
    r.extend(trace_rotations(n, sparse));
    r.sort_unstable();
    r.dedup();
    r
}

/// The rotations of the partial trace from `n` to `sparse` slots: `sparse·2^k` while below `n`.
pub fn trace_rotations(n: usize, sparse: usize) -> Vec<i64> {
    (0..)
        .map(|k| (sparse << k) as i64)
        .take_while(|&r| (r as usize) < n)
        .collect()
}

/// The Galois elements of the plan: its rotations and the conjugation `2N − 1`.
pub fn galois_elements(params: &Parameters, boot: &BootstrapParameters) -> Vec<u64> {
    let ring = params.ring();
    let mut g: Vec<u64> = rotations(params, boot)
        .iter()
        .map(|&k| ring.galois_element(k))
        .collect();
    g.push(2 * params.n() as u64 - 1);
    g.sort_unstable();
    g.dedup();
    g
}

/// Generates the keys of the plan of `boot`, the rotation keys compressed (their uniform masks regenerated
/// from a seed at each use: half the memory — at `N = 2^16` the difference between fitting in 12 GiB or not —
/// for one ChaCha8 stream per digit and row per rotation).
pub fn generate(
    kg: &mut KeyGenerator,
    sk: &SecretKey,
    params: &Parameters,
    boot: &BootstrapParameters,
) -> BootstrapKeys {
    generate_with(kg, sk, params, boot, true)
}

/// [`generate`], choosing whether the rotation keys are compressed.
pub fn generate_with(
    kg: &mut KeyGenerator,
    sk: &SecretKey,
    params: &Parameters,
    boot: &BootstrapParameters,
    compressed: bool,
) -> BootstrapKeys {
    let elements = galois_elements(params, boot);
    BootstrapKeys {
        relin: kg.relin_key(sk),
        galois: if compressed {
            kg.galois_keys_compressed(sk, &elements)
        } else {
            kg.galois_keys_for_elements(sk, &elements)
        },
    }
}
