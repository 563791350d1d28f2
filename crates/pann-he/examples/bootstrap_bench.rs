//! Full-slot bootstrapping bench: `cargo run --release -p pann-he --example bootstrap_bench -- --log-n 16 --json`.
//!
//! Prints `pann_he::bootstrap::bench`'s report: precision (bits, min and mean over real and imaginary parts of
//! uniform random values in [−1, 1]), seconds of one bootstrap, levels, key bytes, peak RSS. `--log-n 16` is
//! the 128-bit preset; 10..=15 use the insecure test preset (DISCLAIMER: not secure, for timing only).
//! `--shape-n16` uses the N = 2^16 preset's shape at any `--log-n` (insecure below 16): stage costs and
//! precision scale predictably from it, so presets are tuned there; `PANN_BOOTSTRAP_STAGES=1` prints wall and
//! CPU seconds per stage on stderr (CPU time is the steadier figure on a shared machine).

fn main() {
    let mut log_n = 16u32;
    let mut json = false;
    let mut slots = None;
    let mut seed = 1u64;
    let mut shape16 = false;
    let (mut stored, mut dense) = (pann_he::bootstrap::bench::STORED_KEYS, false);
    let (mut ratio, mut stc_scale, mut eval_mod) = (None, None, None);
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
            // Rotation keys compressed: masks regenerated from a seed at each use (half the key memory).
            "--compressed-keys" => stored = false,
            // The dense-secret N = 2^16 preset's shape (no sparse-secret encapsulation), for comparison.
            "--dense" => dense = true,
            // The N = 2^16 preset's shape at a smaller ring (insecure; for tuning).
            "--shape-n16" => shape16 = true,
            // Variations of that shape (tuning only): log2(q_0/Δ'), log2 of the SlotsToCoeffs scale, EvalMod's
            // double angles and Chebyshev degree ("R,D"; the level count must stay the same).
            "--ratio" => {
                ratio = Some(
                    value("--ratio")
                        .parse()
                        .unwrap_or_else(|_| fail("--ratio: not a number")),
                )
            }
            "--stc-scale" => {
                stc_scale = Some(
                    value("--stc-scale")
                        .parse()
                        .unwrap_or_else(|_| fail("--stc-scale: not a number")),
                )
            }
            "--eval-mod" => {
                let v = value("--eval-mod");
                let (r, d) = v.split_once(',').unwrap_or_else(|| fail("--eval-mod R,D"));
                eval_mod = Some((
                    r.parse().unwrap_or_else(|_| fail("--eval-mod: R not a number")),
                    d.parse().unwrap_or_else(|_| fail("--eval-mod: D not a number")),
                ));
            }
            "-h" | "--help" => {
                println!("bootstrap_bench [--log-n 10..=16] [--slots N/2] [--seed S] [--json] [--compressed-keys] [--shape-n16 [--dense] [--ratio R] [--stc-scale S] [--eval-mod R,D]]");
                return;
            }
            other => fail(&format!("unknown argument {other}")),
        }
    }
    let report = if shape16 {
        let mut p = if dense {
            let mut p = pann_he::bootstrap::params::n16_dense();
            if log_n != 16 {
                p.literal.log_n = log_n;
                p.literal.security = pann_he::ckks::Security::Insecure;
                p.boot.log_slots = log_n - 1;
            }
            p
        } else {
            pann_he::bootstrap::params::n16_shape(log_n)
        };
        p.boot.log_message_ratio = ratio.unwrap_or(p.boot.log_message_ratio);
        p.boot.log_stc_scale = stc_scale.unwrap_or(p.boot.log_stc_scale);
        if let Some((r, d)) = eval_mod {
            (p.boot.double_angle, p.boot.cos_degree) = (r, d);
        }
        pann_he::bootstrap::bench::bench_preset_with(p, slots, seed, stored)
    } else {
        pann_he::bootstrap::bench::bench_preset_with(
            match pann_he::bootstrap::bench::preset_for(log_n) {
                Ok(p) => p,
                Err(e) => fail(&e.to_string()),
            },
            slots,
            seed,
            stored,
        )
    };
    match report {
        Ok(r) if json => println!("{}", serde_json::to_string(&r).expect("report serialises")),
        Ok(r) => println!("{r}"),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(2)
}
