//! Property-based fuzzing, on stable Rust, of every parser that reads what strangers send
//! (`fuzz_targets`): arbitrary bytes and mutated valid inputs give events or a clear error,
//! never a panic. `cargo bench --bench fuzz_parsers` runs a million cases of each.

use std::sync::LazyLock;

use proptest::collection::vec;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fuzz_targets::{Target, mutate, targets};

static TARGETS: LazyLock<Vec<Target>> = LazyLock::new(targets);

#[test]
fn every_valid_seed_is_read() {
    for target in TARGETS.iter() {
        for seed in &target.seeds {
            let read = (target.parse)(seed);
            assert!(matches!(read, Ok(n) if n > 0), "{}: {read:?}", target.name);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_read_or_refused_clearly(bytes in vec(any::<u8>(), 0..4096)) {
        for target in TARGETS.iter() {
            let _ = (target.parse)(&bytes);
        }
    }

    #[test]
    fn mutated_valid_inputs_are_read_or_refused_clearly(seed in any::<u64>()) {
        let mut rng = StdRng::seed_from_u64(seed);
        for target in TARGETS.iter() {
            for valid in &target.seeds {
                let _ = (target.parse)(&mutate(valid, &mut rng));
            }
        }
    }
}
