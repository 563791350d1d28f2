//! The evaluation keys bootstrapping needs, and only those: the relinearisation key (EvalMod's products), the
//! rotation keys of the baby and giant steps of every CoeffsToSlots/SlotsToCoeffs layer, and the conjugation
//! key (`X → X^(2N−1)`, the real/imaginary split). Each key is `dnum·2·(L+1+K)·N·8` bytes, so the count matters:
//! [`BootstrapKeys::bytes`] reports the total. They are ordinary [`RelinKey`]/[`GaloisKeys`], saved and loaded
//! with [`crate::serialize`] and its checks.

use super::coeffs_to_slots::coeffs_to_slots_layers;
use super::encapsulation::Encapsulation;
use super::lintrans::rotations_for;
use super::params::BootstrapParameters;
use super::slots_to_coeffs::slots_to_coeffs_layers;
use crate::ckks::Parameters;
use crate::error::Result;
use crate::rlwe::{GaloisKeys, KeyGenerator, RelinKey, SecretKey};

/// Relinearisation and Galois keys for one bootstrapping plan.
#[derive(Clone, Debug)]
pub struct BootstrapKeys {
    /// The relinearisation key.
    pub relin: RelinKey,
    /// Rotation and conjugation keys.
    pub galois: GaloisKeys,
    /// The sparse-secret encapsulation keys, if the plan raises under an ephemeral secret.
    pub encapsulation: Option<Encapsulation>,
}

impl BootstrapKeys {
    /// Bytes of all key residues.
    pub fn bytes(&self) -> usize {
        self.relin.0.bytes() + self.galois.bytes() + self.encapsulation.as_ref().map_or(0, Encapsulation::bytes)
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

/// Generates the keys of the plan of `boot`, the rotation keys stored whole. [`generate_with`] can compress
/// them instead (their uniform masks regenerated from a seed at each use): half the key memory for about the
/// same time with 4 digits (measured at `N = 2^16`, one after the other: 24.6 s stored, 25.3 s compressed, peak
/// 10.9 against 8.2 GB).
///
/// # Errors
/// Only from the encapsulation keys ([`Encapsulation::generate`]): an ephemeral weight above `N`.
pub fn generate(
    kg: &mut KeyGenerator,
    sk: &SecretKey,
    params: &Parameters,
    boot: &BootstrapParameters,
) -> Result<BootstrapKeys> {
    generate_with(kg, sk, params, boot, &[], false)
}

/// [`generate`] with keys for the extra Galois elements `extra` (a circuit's own rotations), choosing whether
/// the rotation keys are compressed.
pub fn generate_with(
    kg: &mut KeyGenerator,
    sk: &SecretKey,
    params: &Parameters,
    boot: &BootstrapParameters,
    extra: &[u64],
    compressed: bool,
) -> Result<BootstrapKeys> {
    let mut elements = galois_elements(params, boot);
    elements.extend_from_slice(extra);
    elements.sort_unstable();
    elements.dedup();
    let encapsulation = match boot.ephemeral_weight {
        0 => None,
        h => Some(Encapsulation::generate(kg, sk, params, h)?),
    };
    Ok(BootstrapKeys {
        relin: kg.relin_key(sk),
        galois: if compressed {
            kg.galois_keys_compressed(sk, &elements)
        } else {
            kg.galois_keys_for_elements(sk, &elements)
        },
        encapsulation,
    })
}
