//! The sweep CI keeps: a few fresh seeds of every suite hold, and a sweep over a
//! broken replica lists its failing seeds with commands that replay them.

use testnet::sim::{run_seed, SimOptions};
use testnet::sweep::{all_suites, sweep, Suite};

#[test]
fn a_short_sweep_of_fresh_seeds_holds_in_every_suite() {
    let suites = all_suites();
    let mut progress_lines = 0;
    let results = sweep(7_000_000, 2, 2, &suites, |_| progress_lines += 1);
    assert_eq!(results.len(), suites.len());
    assert_eq!(progress_lines, suites.len(), "one chunk per suite");
    for r in &results {
        assert_eq!(r.seeds, 2);
        assert!(
            r.failing.is_empty(),
            "{}: {:?}\nreplay: {:?}",
            r.name,
            r.failing.iter().map(|f| &f.violations).collect::<Vec<_>>(),
            r.replays
        );
    }
}

#[test]
fn a_sweep_lists_each_failing_seed_with_its_replay() {
    let broken = Suite {
        name: "broken".into(),
        options: SimOptions {
            broken_replica: true,
            ..SimOptions::default()
        },
    };
    let results = sweep(0, 40, 2, std::slice::from_ref(&broken), |_| {});
    let r = &results[0];
    assert!(
        !r.failing.is_empty(),
        "40 seeds catch a replica that commits on q - 1"
    );
    assert_eq!(r.failing.len(), r.replays.len());
    for (report, replay) in r.failing.iter().zip(&r.replays) {
        assert!(
            replay.contains(&format!("--seed {} ", report.seed)),
            "{replay}"
        );
        // The seed fails again when replayed with the suite's options.
        assert!(!run_seed(report.seed, &broken.options).violations.is_empty());
    }
}
