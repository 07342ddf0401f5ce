//! Recovery end to end (issue 6, DESIGN.md section 5.2): a 4-node testnet of real
//! `rbft` processes under load from the benchmark's generator, one backup crashed
//! with SIGKILL and restarted, or crashed and restarted with its data directory
//! wiped. Afterwards every node has the same tip, every block from 1 to the tip is
//! the same on every node, every account holds the same balance and nonce, and
//! every transfer a node accepted is committed, and served by the node that came
//! back at the height the others have it at.
//!
//! The tests check behaviour only (tips, blocks, accounts, transactions), not how
//! the node recovers, so they hold for any recovery protocol.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

mod checks;

use crypto::SigningKey;
use ledger::Address;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testnet::bench::tracked::{run_tracked, TrackedRun};
use testnet::bench::{BenchOptions, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec, CLIENT_BALANCE};
use testnet::procs::{find_rbft_bin_or_beside, Network};

const NODES: usize = 4;
/// Funded clients, all of them senders: at the default window of 2 transfers in
/// flight each, enough to offer the rate below with commits taking a few 100 ms.
const SENDERS: usize = 200;
/// Transfers per second offered: modest, for a debug build on two shared cores.
const RATE_TX_PER_S: u64 = 500;
/// The load runs until the test stops it; this only bounds what is signed ahead.
const LOAD_BOUND: Duration = Duration::from_secs(150);
/// How long the killed backup stays down.
const DOWN: Duration = Duration::from_secs(30);
/// How long the load runs before a node is crashed...
const WARM_UP: Duration = Duration::from_secs(5);
/// ...in which the chain grows at least this much.
const WARM_UP_HEIGHTS: u64 = 20;
/// How long the load runs before a node is wiped, in which the chain must grow
/// past several checkpoints (every 10 heights by default), so that what the wiped
/// node lacks is well below the others' stable one.
const HISTORY: Duration = Duration::from_secs(15);
const HISTORY_HEIGHTS: u64 = 80;
/// Load kept on after the node came back, so it also keeps up, not only catches up.
const AFTER_CATCH_UP: Duration = Duration::from_secs(3);
const START_WAIT: Duration = Duration::from_secs(60);
const LOAD_WAIT: Duration = Duration::from_secs(60);
const CATCH_UP_WAIT: Duration = Duration::from_secs(90);
const SETTLE_WAIT: Duration = Duration::from_secs(60);

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// A fresh 4-node testnet in `dir` on free ports, committing.
fn start_network(dir: &Path) -> Network {
    let spec = LayoutSpec {
        nodes: NODES,
        base_port: free_base_port(NODES).expect("free ports"),
        clients: SENDERS,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(dir, &spec).expect("a testnet directory");
    let mut network = Network::start(layout, &rbft_bin()).expect("the nodes start");
    network
        .wait_for_first_block(START_WAIT)
        .expect("the testnet commits");
    network
}

/// A temporary directory for a testnet, kept (and named on stderr) when the test
/// fails, for the nodes' logs.
struct Workdir(Option<tempfile::TempDir>);

impl Workdir {
    fn new() -> Workdir {
        Workdir(Some(tempfile::tempdir().expect("a temporary directory")))
    }

    fn path(&self) -> &Path {
        self.0.as_ref().expect("until dropped").path()
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!("recovery: the testnet is kept in {}", dir.keep().display());
            }
        }
    }
}

/// The backup to crash: the last in the primary rotation, so that a view change,
/// should one happen, does not make it the primary.
fn backup_of(primary: usize) -> usize {
    (primary + NODES - 1) % NODES
}

/// Sets the flag when dropped: a test that panics stops its load generator, which
/// the thread scope would otherwise wait for.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The benchmark's load generator, sending to every node but `victim` (a node
/// that is down would hold its senders' transfers) and following `reference`.
struct Load {
    target: BenchTarget,
    keys: Vec<SigningKey>,
    options: BenchOptions,
}

impl Load {
    fn new(network: &Network, victim: usize, reference: usize) -> Load {
        let urls: Vec<String> = network.layout.nodes.iter().map(|n| n.api_url()).collect();
        Load {
            target: BenchTarget {
                submit_urls: (0..NODES)
                    .filter(|i| *i != victim)
                    .map(|i| urls[i].clone())
                    .collect(),
                watch_url: urls[reference].clone(),
                also_watch: Vec::new(),
            },
            keys: network.layout.client_keys().expect("the client keys"),
            options: BenchOptions {
                rate: Some(RATE_TX_PER_S),
                duration: LOAD_BOUND,
                progress: false,
                ..BenchOptions::default()
            },
        }
    }

    /// Runs `body` under load, then stops the load.
    fn during<T>(&self, body: impl FnOnce() -> T) -> (T, TrackedRun) {
        let interrupt = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let load =
                scope.spawn(|| run_tracked(&self.target, &self.keys, &self.options, &interrupt));
            let stop = StopOnDrop(&interrupt);
            let out = body();
            drop(stop);
            let run = load
                .join()
                .expect("the load generator panicked")
                .expect("the load generator ran");
            (out, run)
        })
    }
}

/// What a test measured while a node was away and came back.
#[derive(Debug)]
struct Away {
    victim: usize,
    primary: usize,
    /// The highest height when the node was crashed.
    crashed_at: u64,
    /// The others' highest height when it was started again.
    restarted_behind: u64,
    /// When it was started again.
    restarted: Instant,
    /// From then until it reported `restarted_behind`.
    caught_up_in: Duration,
    /// Every node's height as the load stopped.
    load_stopped_at: Vec<Option<u64>>,
}

impl Away {
    fn print(&self, what: &str) {
        println!(
            "recovery ({what}): backup {} (primary {}) crashed at height {}; restarted with the \
             others at {}, which it reached {:.1} s later; heights when the load stopped: {:?}",
            self.victim,
            self.primary,
            self.crashed_at,
            self.restarted_behind,
            self.caught_up_in.as_secs_f64(),
            self.load_stopped_at
        );
    }
}

/// Lets the load run for `time`, in which the chain must grow by `heights`.
fn wait_for_load(network: &Network, reference: usize, time: Duration, heights: u64) {
    let from = checks::max_height(network);
    std::thread::sleep(time);
    checks::wait_for_height(network, reference, from + heights, LOAD_WAIT);
}

/// Starts `victim` again while the others run on; waits until it
/// reaches the height they had when it started.
fn restart_and_catch_up(
    network: &mut Network,
    victim: usize,
    primary: usize,
    crashed_at: u64,
) -> Away {
    let restarted_behind = checks::max_height(network);
    network.start_node(victim).expect("the node starts again");
    let restarted = Instant::now();
    let caught_up_in = checks::wait_for_height(network, victim, restarted_behind, CATCH_UP_WAIT);
    std::thread::sleep(AFTER_CATCH_UP);
    assert!(network.is_running(victim), "node {victim} still runs");
    Away {
        victim,
        primary,
        crashed_at,
        restarted_behind,
        restarted,
        caught_up_in,
        load_stopped_at: checks::heights(network),
    }
}

/// The same tip, blocks, transactions and accounts on every node after `victim`
/// came back under `run`'s load. Prints what it checked.
fn check_recovered(network: &Network, away: &Away, run: &TrackedRun) {
    let (victim, reference) = (away.victim, away.primary);
    let settling = Instant::now();
    let (tip, tip_hash) = checks::wait_for_same_tip(network, victim, SETTLE_WAIT);
    let settled_in = settling.elapsed();
    let since_restart = away.restarted.elapsed();

    let chain = checks::same_blocks_everywhere(network, tip);
    assert_eq!(chain.last().map(|b| b.hash), Some(tip_hash));
    let located = checks::committed_txs(network, reference, &chain);
    assert!(
        run.accepted.len() as u64 >= RATE_TX_PER_S,
        "the load ran: {:?}",
        run.report
    );
    // No transfer a node accepted is lost, nor one the follower saw committed,
    // and the node that came back serves each where the others have it.
    checks::txs_found_on(network, victim, &run.accepted, &located);
    checks::txs_found_on(network, victim, &run.committed, &located);

    let admin = crypto::keyfile::read_key_file(&network.layout.admin_key).expect("the admin key");
    let addresses: Vec<Address> = std::iter::once(Address::of(&admin.public_key()))
        .chain(network.layout.clients.iter().map(|c| c.address))
        .collect();
    let accounts = checks::same_accounts_everywhere(network, &addresses);
    // Transfers move value, never make or burn it; each bumps its signer's nonce.
    let total: u64 = accounts.iter().map(|a| a.balance).sum();
    assert_eq!(total, CLIENT_BALANCE * addresses.len() as u64);
    let nonces: u64 = accounts.iter().map(|a| a.nonce).sum();
    assert_eq!(
        nonces,
        located.len() as u64,
        "one nonce per committed transfer"
    );
    // Nothing moved while we looked.
    for i in 0..NODES {
        let now = checks::status(network, i).map(|s| (s.height, s.tip_hash));
        assert_eq!(now, Some((tip, tip_hash)), "node {i} stayed at the tip");
    }
    println!(
        "recovery: all {NODES} nodes at height {tip} ({tip_hash}) {:.1} s after the load stopped, \
         {:.1} s after node {victim} restarted; checked {} blocks, {} committed transfers ({} \
         accepted by the load), {} accounts on every node",
        settled_in.as_secs_f64(),
        since_restart.as_secs_f64(),
        chain.len(),
        located.len(),
        run.accepted.len(),
        accounts.len()
    );
    println!(
        "recovery: load {:.0} tx/s offered, {:.0} tx/s committed, {} throttled, {} errors",
        run.report.offered_tps, run.report.committed_tps, run.report.throttled, run.report.errors
    );
}

#[test]
fn a_backup_killed_for_30_s_under_load_comes_back_with_the_same_chain_and_state() {
    let dir = Workdir::new();
    let mut network = start_network(dir.path());
    let primary = checks::primary(&network, 0);
    let victim = backup_of(primary);
    let load = Load::new(&network, victim, primary);

    let (away, run) = load.during(|| {
        wait_for_load(&network, primary, WARM_UP, WARM_UP_HEIGHTS);
        let crashed_at = checks::max_height(&network);
        network.kill_node(victim).expect("the backup was running");
        std::thread::sleep(DOWN);
        let away = restart_and_catch_up(&mut network, victim, primary, crashed_at);
        assert!(
            away.restarted_behind > away.crashed_at,
            "the others committed without node {victim}: {away:?}"
        );
        away
    });
    away.print(&format!("kill -9, down {} s", DOWN.as_secs()));
    check_recovered(&network, &away, &run);
}

#[test]
fn a_backup_whose_data_directory_is_wiped_comes_back_with_the_same_chain_and_state() {
    let dir = Workdir::new();
    let mut network = start_network(dir.path());
    let primary = checks::primary(&network, 0);
    let victim = backup_of(primary);
    let load = Load::new(&network, victim, primary);
    let home = network.layout.nodes[victim].home.clone();

    let (away, run) = load.during(|| {
        wait_for_load(&network, primary, HISTORY, HISTORY_HEIGHTS);
        let crashed_at = checks::max_height(&network);
        network.kill_node(victim).expect("the backup was running");
        // `testnet` writes `data_dir = "data"` into every node's config.
        let data = home.join("data");
        assert!(
            data.join("CURRENT").is_file(),
            "{} holds a RocksDB",
            data.display()
        );
        std::fs::remove_dir_all(&data).expect("the data directory is removed");
        for kept in ["config.toml", "node.key", "genesis.json"] {
            assert!(home.join(kept).is_file(), "{kept} stays");
        }
        restart_and_catch_up(&mut network, victim, primary, crashed_at)
    });
    away.print("data directory wiped");
    check_recovered(&network, &away, &run);
}
