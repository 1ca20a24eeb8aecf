//! A million fuzz cases for each parser that reads what strangers send (id_token claims,
//! Caliper, xAPI, accumulator CSV, Moodle log, Loop zip): half arbitrary bytes, half
//! mutated valid inputs, each caught if it panics. Prints the cases and crashes per parser.
//!
//! Run: `cargo bench --bench fuzz_parsers` (`BENCH_CASES` sets the cases, default 1,000,000)

#[path = "../tests/api/fuzz_targets.rs"]
mod fuzz_targets;
#[path = "support.rs"]
mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn main() {
    let cases: u64 = std::env::var("BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // Panics are counted, not printed a million times.
    std::panic::set_hook(Box::new(|_| {}));
    for target in fuzz_targets::targets() {
        let mut rng = StdRng::seed_from_u64(0xC100_u64 ^ target.name.len() as u64);
        let (mut crashes, mut read, mut refused) = (0u64, 0u64, 0u64);
        let started = Instant::now();
        for case in 0..cases {
            let input = if case % 2 == 0 {
                let len = rng.random_range(0..=2048);
                (0..len).map(|_| rng.random()).collect()
            } else {
                let seed = &target.seeds[rng.random_range(0..target.seeds.len())];
                fuzz_targets::mutate(seed, &mut rng)
            };
            match catch_unwind(AssertUnwindSafe(|| (target.parse)(&input))) {
                Ok(Ok(_)) => read += 1,
                Ok(Err(_)) => refused += 1,
                Err(_) => crashes += 1,
            }
        }
        println!(
            "fuzz {}: {cases} cases in {:.1}s: {read} read, {refused} refused clearly, {crashes} crashes",
            target.name,
            started.elapsed().as_secs_f64()
        );
        support::table_row(
            &format!("fuzzing the {} parser", target.name),
            &format!("{cases} cases, {crashes} crashes"),
            &format!("{read} read, {refused} refused"),
            "≥ 1,000,000 cases, 0 crashes",
            crashes == 0 && cases >= 1_000_000,
        );
    }
}
