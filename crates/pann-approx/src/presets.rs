//! Published degree lists, for comparison (degrees only: pann computes every coefficient itself).

/// Lee et al. (arXiv:2105.10879) composite sign degrees per α, for α = 4..=14.
pub const LEE_DEGREES: &[(u32, &[usize])] = &[
    (4, &[5]),
    (5, &[13]),
    (6, &[3, 7]),
    (7, &[7, 7]),
    (8, &[7, 15]),
    (9, &[15, 15]),
    (10, &[7, 7, 13]),
    (11, &[7, 7, 27]),
    (12, &[7, 15, 27]),
    (13, &[15, 15, 27]),
    (14, &[15, 27, 29]),
];

/// Lee et al.'s degrees for α, if published.
pub fn lee_degrees(alpha: u32) -> Option<&'static [usize]> {
    LEE_DEGREES.iter().find(|(a, _)| *a == alpha).map(|(_, d)| *d)
}
