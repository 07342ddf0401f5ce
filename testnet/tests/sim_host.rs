//! The simulator runs the node's own host core (`node::host`): a bug planted in
//! that code is caught by some seed, and the same seed without the bug holds every
//! property.

use node::host::faults::HostFaults;
use testnet::sim::{run_seed, SimOptions};

/// Finds the first seed below `seeds` whose run with `planted` reports a
/// violation starting with `prefix`, and checks that the same seed holds with the
/// host as it is.
fn caught(options: SimOptions, planted: HostFaults, seeds: u64, prefix: &str) {
    let broken = SimOptions {
        host_faults: planted,
        ..options.clone()
    };
    let report = (0..seeds)
        .map(|seed| run_seed(seed, &broken))
        .find(|r| r.violations.iter().any(|v| v.starts_with(prefix)))
        .unwrap_or_else(|| {
            panic!("within {seeds} seeds a check starting {prefix:?} catches {planted:?}")
        });
    eprintln!(
        "caught at seed {}: {}",
        report.seed,
        report
            .violations
            .iter()
            .find(|v| v.starts_with(prefix))
            .expect("found")
    );
    let fine = run_seed(report.seed, &options);
    assert!(
        fine.violations.is_empty(),
        "seed {} without the planted bug: {:?}",
        fine.seed,
        fine.violations
    );
}

#[test]
fn a_host_that_keeps_stale_transactions_in_its_pool_is_caught() {
    let planted = HostFaults {
        keep_stale: true,
        ..HostFaults::default()
    };
    caught(SimOptions::default(), planted, 20, "pool: node");
}

#[test]
fn a_host_that_builds_on_the_committed_tip_above_speculative_blocks_is_caught() {
    let planted = HostFaults {
        parent_is_tip: true,
        ..HostFaults::default()
    };
    caught(SimOptions::default(), planted, 20, "");
}
