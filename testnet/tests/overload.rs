//! End to end (issue: twice the load it can carry): a 4-node testnet of real `rbft`
//! processes driven well past what it commits for 30 s, then left to drain.
//!
//! It checks what a user of an overloaded network must be able to count on:
//! every node's API answers `/health` within 1 s throughout, every transfer a
//! node accepted commits within 30 s of the load stopping, every node ends at
//! the same block, and no node's memory grows past a limit.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use node::config::{Home, NodeConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testnet::bench::{self, BenchOptions, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::probe::probe_health;
use testnet::procs::{find_rbft_bin_or_beside, Network};

/// Transfers offered per second: more than the load generator reaches here, and
/// about three times what four debug-built nodes sharing two cores with it commit
/// (4,400 tx/s); the nodes hold it back with 429s once their pools are full.
const OFFERED_PER_S: u64 = 16_000;
const LOAD: Duration = Duration::from_secs(30);
const DRAIN: Duration = Duration::from_secs(30);
/// The slowest `/health` answer allowed.
const HEALTH_WITHIN: Duration = Duration::from_secs(1);
const HEALTH_EVERY: Duration = Duration::from_millis(250);
/// Each node's pool (`mempool.max_txs`).
const POOL_TXS: usize = 10_000;
/// Peak resident memory allowed per node.
const MAX_RSS_MIB: u64 = 400;

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

#[test]
fn an_overloaded_network_stays_answerable_and_commits_everything_it_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 1000,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    // Pools that 30 s of excess load fills (a debug build commits less than a
    // release one, so the default pool would absorb most of the excess): the
    // regime that wedged the network is the one with full pools.
    for node in &layout.nodes {
        let path = node.home.join(Home::CONFIG);
        let mut config = NodeConfig::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config.mempool.max_txs = POOL_TXS;
        std::fs::write(&path, config.to_toml()).unwrap();
    }
    let senders = layout.client_keys().expect("the client keys");
    let mut network = Network::start(layout, &rbft_bin()).unwrap();
    network
        .wait_for_first_block(Duration::from_secs(60))
        .expect("the testnet commits");
    let target = BenchTarget::of(&network);
    let options = BenchOptions {
        rate: Some(OFFERED_PER_S),
        duration: LOAD,
        window: 64,
        drain_timeout: DRAIN,
        drain_idle: DRAIN,
        progress: true,
        ..BenchOptions::default()
    };

    let stop_probing = AtomicBool::new(false);
    let (report, health) = std::thread::scope(|scope| {
        let prober = scope.spawn(|| {
            probe_health(
                &target.submit_urls,
                HEALTH_WITHIN,
                HEALTH_EVERY,
                &stop_probing,
            )
        });
        let interrupt = AtomicBool::new(false);
        let report = bench::run(&target, &senders, &options, &interrupt);
        stop_probing.store(true, Ordering::SeqCst);
        (report, prober.join().expect("the prober"))
    });
    let report = report.expect("the load runs");
    let rss = network.peak_rss_mib();
    eprintln!("overload: {report:?}");
    eprintln!("overload: peak RSS per node (MiB): {rss:?}");
    for (i, record) in health.iter().enumerate() {
        eprintln!(
            "overload: node {i}: {} health probes, slowest {:?}",
            record.probes, record.slowest
        );
    }

    // The load was more than the network commits: it was held back.
    let load_s = LOAD.as_secs_f64();
    let committed_per_s = report.committed as f64 / report.elapsed_s;
    assert!(
        report.throttled > 0 || (report.submitted as f64) < 0.9 * OFFERED_PER_S as f64 * load_s,
        "the offered load was not past capacity: {report:?}"
    );
    assert!(report.committed > 0, "nothing committed: {report:?}");
    // Everything accepted committed within the drain.
    assert_eq!(
        report.committed, report.submitted,
        "accepted transfers left uncommitted {} s after the load stopped ({committed_per_s:.0} tx/s committed)",
        DRAIN.as_secs()
    );
    for (i, record) in health.iter().enumerate() {
        assert!(
            record.failures.is_empty(),
            "node {i}'s /health did not answer within {HEALTH_WITHIN:?}: {:?}",
            record.failures
        );
        assert!(record.probes > 10, "node {i} was hardly probed");
    }
    for (i, peak) in rss.iter().enumerate() {
        let peak = peak.expect("every node runs");
        assert!(
            peak <= MAX_RSS_MIB,
            "node {i} peaked at {peak} MiB (limit {MAX_RSS_MIB})"
        );
    }
    // Every node holds the same chain: the follower's node's tip everywhere.
    let tip = network.client(0).status().expect("node 0 answers");
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 1..network.len() {
        let client = network.client(i);
        loop {
            match client.block(&tip.height.to_string()) {
                Ok(block) => {
                    assert_eq!(block.hash, tip.tip_hash, "node {i} at {}", tip.height);
                    break;
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => panic!("node {i} lacks block {}: {e}", tip.height),
            }
        }
    }
    let exited = network.exited();
    assert!(
        exited.is_empty(),
        "nodes exited during the test: {exited:?}"
    );
}
