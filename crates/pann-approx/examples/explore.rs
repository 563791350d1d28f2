use pann_approx::search::{cheapest_with_tables, ErrorTables, SearchConfig};
use pann_approx::sign::design;
use std::time::Instant;
fn main() {
    let lee: &[(u32, &[usize])] = &[
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
    for (a, d) in lee {
        let t = Instant::now();
        match design(*a, d) {
            Ok(c) => println!(
                "lee a={a} {:?} eps=2^{:.2} relu=2^{:.3} sign=2^{:.3} meas_eps=2^{:.2} t={:?}",
                d,
                c.design_epsilon.log2(),
                c.certificate.max_relu_error.log2(),
                c.certificate.max_sign_error.log2(),
                c.certificate.epsilon.log2(),
                t.elapsed()
            ),
            Err(e) => println!("lee a={a} err {e}"),
        }
    }
    let mut tables = ErrorTables::default();
    let t0 = Instant::now();
    for a in 4..=20 {
        let t = Instant::now();
        match cheapest_with_tables(a, &SearchConfig::default(), &mut tables) {
            Ok(c) => println!(
                "a={a} {:?} depth={} mults={} eps=2^{:.2} relu=2^{:.3} t={:?} runs={}",
                c.degrees,
                c.depth(),
                c.nonscalar_mults(),
                c.design_epsilon.log2(),
                c.certificate.max_relu_error.log2(),
                t.elapsed(),
                tables.remez_runs
            ),
            Err(e) => println!("a={a} err {e}"),
        }
    }
    println!("total {:?}", t0.elapsed());
}
