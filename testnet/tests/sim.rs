//! The simulator itself under test (issue: consensus core): it is deterministic, its
//! checks can fail, and a run of 100 seeds holds every property.

use testnet::sim::{run_seed, run_seeds, SimOptions};

#[test]
fn one_seed_run_twice_gives_the_same_trace() {
    let options = SimOptions::default();
    let a = run_seed(7, &options);
    let b = run_seed(7, &options);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.max_tip, b.max_tip);
    assert_eq!(a.violations, b.violations);
    let c = run_seed(8, &options);
    assert_ne!(
        a.trace_hash, c.trace_hash,
        "different seeds, different runs"
    );
}

#[test]
fn a_replica_that_commits_on_q_minus_one_commits_is_caught() {
    let options = SimOptions {
        broken_replica: true,
        ..SimOptions::default()
    };
    let caught = (0..1000u64)
        .map(|seed| run_seed(seed, &options))
        .find(|report| !report.violations.is_empty())
        .expect("within 1,000 seeds the checks catch the broken replica");
    eprintln!(
        "caught at seed {}: {}",
        caught.seed,
        caught.violations.first().map_or("", String::as_str)
    );
    assert!(
        caught
            .violations
            .iter()
            .any(|v| v.starts_with("certificate: node 0")),
        "seed {}: {:?}",
        caught.seed,
        caught.violations
    );
}

#[test]
fn a_hundred_seeds_hold_every_property_and_make_progress() {
    let reports = run_seeds(0, 100, 2, &SimOptions::default());
    assert_eq!(reports.len(), 100);
    for report in &reports {
        assert!(
            report.violations.is_empty(),
            "seed {}: {:?}\nreplay: cargo run --release -p testnet -- sim --seeds 1 --seed {}",
            report.seed,
            report.violations,
            report.seed
        );
        assert!(
            report.quorum_height >= 50,
            "seed {} reached only height {}",
            report.seed,
            report.quorum_height
        );
    }
    assert!(
        reports.iter().map(|r| r.crashes).sum::<usize>() > 50,
        "crashes happen"
    );
    assert!(
        reports.iter().map(|r| r.partitions).sum::<usize>() > 50,
        "partitions happen"
    );
}
