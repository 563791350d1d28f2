//! Full-slot bootstrapping bench: `cargo run --release -p pann-he --example bootstrap_bench -- --log-n 16 --json`.
//!
//! Prints `pann_he::bootstrap::bench`'s report: precision (bits, min and mean over real and imaginary parts of
//! uniform random values in [−1, 1]), seconds of one bootstrap, levels, key bytes, peak RSS. `--log-n 16` is
//! the 128-bit preset; 10..=15 use the insecure test preset (DISCLAIMER: not secure, for timing only).

fn main() {
    let mut log_n = 16u32;
    let mut json = false;
    let mut slots = None;
    let mut seed = 1u64;
    let mut shape16 = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().unwrap_or_else(|| fail(&format!("{name} needs a value")));
        match a.as_str() {
            "--log-n" => {
                log_n = value("--log-n")
                    .parse()
                    .unwrap_or_else(|_| fail("--log-n: not a number"))
            }
            "--slots" => {
                slots = Some(
                    value("--slots")
                        .parse()
                        .unwrap_or_else(|_| fail("--slots: not a number")),
                )
            }
            "--seed" => seed = value("--seed").parse().unwrap_or_else(|_| fail("--seed: not a number")),
            "--json" => json = true,
            // The N = 2^16 preset's shape at a smaller ring (insecure; for tuning).
            "--shape-n16" => shape16 = true,
            "-h" | "--help" => {
                println!("bootstrap_bench [--log-n 10..=16] [--slots N/2] [--seed S] [--json] [--shape-n16]");
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let report = if shape16 {
        pann_he::bootstrap::bench::bench_preset(pann_he::bootstrap::params::n16_shape(log_n), slots, seed)
    } else {
        pann_he::bootstrap::bench(log_n, slots, seed)
    };
    match report {
        Ok(r) if json => println!("{}", serde_json::to_string(&r).expect("report serialises")),
        Ok(r) => println!(
            "N = 2^{}, log QP = {:.1}, {} slots: level {} → {}, precision {:.1} bits min / {:.1} mean, {:.2} s on {} \
             threads, keys {:.2} GB, peak RSS {:.2} GB",
            r.log_n,
            r.log_qp,
            r.slots,
            r.levels_before,
            r.levels_after,
            r.precision_bits_min,
            r.precision_bits_mean,
            r.seconds,
            r.threads,
            r.keys_bytes as f64 / 1e9,
            r.peak_rss_bytes as f64 / 1e9
        ),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}
