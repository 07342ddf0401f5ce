//! Four hosts, each in its own network namespace with its own address and DNS
//! name (the cards carry names, which each host resolves), built with the
//! operators' commands (`rbft init`, `rbft keygen`, `rbft genesis build` and
//! `check`, `rbft start`), under load from the benchmark's generator, through 2%
//! loss on every link, a partition that cuts the primary off and heals, a 2|2
//! split that heals, a backup killed with SIGKILL and restarted, and one wiped.
//! The chaos run ([`testnet::chaos`]) does the faults and measures; this test holds
//! it to: commits resume within 10 s of each heal, and the ledger checker finds
//! every node on the same chain with valid certificates, the supply intact and
//! every transfer a node accepted on it exactly once.
//!
//! Needs root (network namespaces, nftables): CI runs as root. Without it the test
//! fails and says why; it does not skip.

use std::path::{Path, PathBuf};
use std::time::Duration;
use testnet::chaos::{run_chaos, ChaosOptions, Step};
use testnet::hosts::build::BuildSpec;
use testnet::hosts::Hosts;
use testnet::layout::CLIENT_BALANCE;
use testnet::procs::find_rbft_bin_or_beside;

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build --workspace)")
}

/// Commits must resume this soon after each heal (issue 16).
const RESUME_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn four_namespaced_hosts_survive_partitions_loss_a_kill_and_a_wipe() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let _keep = KeepOnPanic(dir.path().to_owned());
    let spec = BuildSpec {
        chain_id: "hosts".into(),
        clients: 100,
        client_balance: CLIENT_BALANCE,
        params: Vec::new(),
        // Peers dial each other by name, as operators on real machines would.
        dns_names: true,
    };
    let mut hosts = Hosts::up(dir.path(), 4, &rbft_bin(), &spec).unwrap_or_else(|e| {
        panic!("the namespaced network could not be made (this test needs root): {e}")
    });
    let options = ChaosOptions {
        rate: 200,
        loss_basis_points: 200,
        steps: vec![
            Step::Settle(Duration::from_secs(5)),
            Step::IsolatePrimary(Duration::from_secs(8)),
            Step::Settle(Duration::from_secs(4)),
            Step::Split(Duration::from_secs(6)),
            Step::Settle(Duration::from_secs(4)),
            Step::Kill(Duration::from_secs(6)),
            Step::Settle(Duration::from_secs(4)),
            Step::Wipe,
            Step::Settle(Duration::from_secs(4)),
        ],
        duration: None,
        progress: true,
        ..ChaosOptions::default()
    };
    let report = run_chaos(&mut hosts, &options).expect("the chaos run finishes");
    println!("{}", serde_json::to_string(&report).unwrap());
    assert!(report.check_ok, "the ledger checker: {:?}", report.problems);
    assert!(report.certificates_checked > 0, "{report:#?}");
    assert_eq!(report.bad_certificates, 0, "{report:#?}");
    assert_eq!(report.divergent_heights, 0, "{report:#?}");
    assert_eq!(report.lost, 0, "{report:#?}");
    assert!(report.committed > 500, "the load committed: {report:#?}");
    assert!(
        report.converged,
        "every node reached the same tip: {report:#?}"
    );
    let heals: Vec<_> = report.heals.iter().collect();
    assert_eq!(heals.len(), 4, "isolate, split, kill, wipe: {report:#?}");
    for heal in heals {
        let resumed = heal
            .resumed_after_ms
            .unwrap_or_else(|| panic!("commits never resumed after {heal:?}"));
        assert!(
            resumed <= RESUME_LIMIT.as_millis() as u64,
            "commits resumed {resumed} ms after {heal:?}"
        );
    }
}

/// Names the network's directory on stderr when the test fails, and keeps it for
/// the nodes' logs.
struct KeepOnPanic(PathBuf);

impl Drop for KeepOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let kept = self.0.with_extension("kept");
            if std::fs::rename(&self.0, &kept).is_ok() {
                eprintln!(
                    "hosts: the network's directory is kept in {}",
                    kept.display()
                );
            }
        }
    }
}
