//! Membership end to end (issue 7, DESIGN.md section 6): a 4-node testnet of real
//! `rbft` processes under load from the benchmark's generator grows to 5 with
//! `testnet add-node`; the new validator appears in `/validators` on every node and
//! signs later commit certificates; with any one of the five killed the others keep
//! committing; a sixth joins while the fifth is a member (its sync crosses the
//! fifth's epoch); then `testnet remove-node` takes both out again and the four
//! keep committing. Around each change the longest gap between consecutive commits is
//! measured, printed, and must stay within 2 s. At the end `testnet check` must find
//! one valid ledger: every certificate by the validator set of its height, and
//! `rbft block verify` of the tip must pass from the genesis file alone.
//!
//! Needs the `rbft` and `testnet` binaries (cargo builds both for the workspace's
//! tests). Every process it starts is stopped when it ends, also on a failure.

use node::api::types::{CommitInfo, StatusInfo, ValidatorsInfo};
use node::client::{Client, Timeouts};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testnet::bench::tracked::{run_tracked, TrackedRun};
use testnet::bench::{BenchOptions, BenchTarget};
use testnet::check::{check_network, CheckOptions, NodeApi};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::procs::{find_rbft_bin_or_beside, log_tail, Network};

const GENESIS_NODES: usize = 4;
const SENDERS: usize = 100;
/// Transfers per second offered: modest, for a debug build on two shared cores.
const RATE_TX_PER_S: u64 = 300;
const LOAD_BOUND: Duration = Duration::from_secs(300);
/// The longest a membership change may stop commits (issue 7).
const MAX_GAP: Duration = Duration::from_secs(2);
/// How long after a change took effect its window of measured gaps runs on.
const AFTER_SWITCH: Duration = Duration::from_secs(3);
/// Heights the others must commit while one node is down.
const WHILE_DOWN_HEIGHTS: u64 = 20;
const START_WAIT: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);
/// How often the commit monitor samples the heights.
const SAMPLE: Duration = Duration::from_millis(20);

fn client(url: &str) -> Client {
    Client::with_timeouts(
        url,
        Timeouts {
            connect: Duration::from_millis(500),
            call: Duration::from_secs(2),
        },
    )
}

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// A temporary directory kept (and named) when the test fails, for the logs.
struct Workdir(Option<tempfile::TempDir>);

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!(
                    "membership: the testnet is kept in {}",
                    dir.keep().display()
                );
            }
        }
    }
}

/// Stops the nodes `testnet add-node` started (not our children) when dropped.
struct AddedNodes(PathBuf);

impl Drop for AddedNodes {
    fn drop(&mut self) {
        if let Ok(layout) = Layout::open(&self.0) {
            for node in layout.nodes.iter().skip(GENESIS_NODES) {
                testnet::membership::stop_node_process(node);
            }
        }
    }
}

/// Sets the flag when dropped, so a failing test stops its helper threads.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `testnet SUBCOMMAND --dir DIR ARGS`; returns its stdout.
fn testnet_cli(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_testnet"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env("RBFT_BIN", rbft_bin())
        .output()
        .expect("the testnet binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "testnet {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("membership: testnet {}: {}", args[0], stdout.trim());
    stdout
}

/// When each height was first seen on any of the watched nodes.
#[derive(Default)]
struct Commits {
    seen: Vec<(Instant, u64)>,
}

impl Commits {
    /// The longest time between consecutive new heights within `[from, to]`
    /// (counting the gap open at `from`).
    fn longest_gap(&self, from: Instant, to: Instant) -> (Duration, u64) {
        let mut longest = (Duration::ZERO, 0);
        let mut previous = self
            .seen
            .iter()
            .rev()
            .find(|(at, _)| *at <= from)
            .map_or(from, |(at, _)| *at);
        for (at, height) in self.seen.iter().filter(|(at, _)| *at > from && *at <= to) {
            let gap = at.duration_since(previous);
            if gap > longest.0 {
                longest = (gap, *height);
            }
            previous = *at;
        }
        let open = to.duration_since(previous);
        if open > longest.0 {
            longest = (open, 0);
        }
        longest
    }
}

/// Samples the highest height of `urls` until `stop`.
fn monitor(urls: Vec<String>, commits: &Mutex<Commits>, stop: &AtomicBool) {
    let clients: Vec<Client> = urls.iter().map(|u| client(u)).collect();
    let mut best = 0;
    while !stop.load(Ordering::SeqCst) {
        let height = clients
            .iter()
            .filter_map(|c| c.status().ok().map(|s| s.height))
            .max()
            .unwrap_or(0);
        if height > best {
            best = height;
            commits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .seen
                .push((Instant::now(), height));
        }
        std::thread::sleep(SAMPLE);
    }
}

fn status(url: &str) -> Option<StatusInfo> {
    client(url).status().ok()
}

fn max_height(urls: &[String]) -> u64 {
    urls.iter()
        .filter_map(|u| status(u).map(|s| s.height))
        .max()
        .unwrap_or(0)
}

/// Polls `check` until it holds or `timeout` passes; the message names what it saw.
fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if started.elapsed() >= timeout => {
                panic!("{what}: not within {} s (last: {last})", timeout.as_secs())
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Waits until the nodes of `urls` other than `except` commit `heights` more.
fn keeps_committing(urls: &[String], except: Option<usize>, heights: u64, what: &str) {
    let others: Vec<String> = (0..urls.len())
        .filter(|i| Some(*i) != except)
        .map(|i| urls[i].clone())
        .collect();
    let from = max_height(&others);
    wait_until(what, WAIT, || {
        let now = max_height(&others);
        if now >= from + heights {
            Ok(())
        } else {
            Err(format!("height {now}, from {from}"))
        }
    });
}

fn validators(url: &str) -> Result<ValidatorsInfo, String> {
    client(url).validators().map_err(|e| e.to_string())
}

/// Waits until every node of `urls` lists `key` among the validators in force
/// (`member`) or not; returns the height the set in force orders from.
fn wait_in_force(urls: &[String], key: &crypto::PublicKey, member: bool) -> u64 {
    let what = format!(
        "{key} {} on every node",
        if member { "in force" } else { "out" }
    );
    wait_until(&what, WAIT, || {
        let mut since = 0;
        for url in urls {
            let info = validators(url)?;
            let listed = info.validators.iter().any(|v| v.public_key == *key);
            if listed != member {
                return Err(format!("{url}: in force since {}", info.since_height));
            }
            since = since.max(info.since_height);
        }
        Ok(since)
    })
}

fn commit_signers(url: &str, height: u64) -> Result<Vec<u32>, String> {
    let info: CommitInfo = client(url)
        .commit(height)
        .map_err(|e| format!("commit of {height}: {e}"))?;
    Ok(info.signatures.iter().map(|s| s.replica).collect())
}

#[test]
fn a_validator_is_added_and_removed_under_load_and_commits_never_stop_long() {
    let tmp = Workdir(Some(tempfile::tempdir().expect("a temporary directory")));
    let dir = tmp
        .0
        .as_ref()
        .expect("kept until dropped")
        .path()
        .join("net");
    // Free ports for the two nodes `add-node` will write too.
    let spec = LayoutSpec {
        nodes: GENESIS_NODES,
        base_port: free_base_port(GENESIS_NODES + 2).expect("free ports"),
        clients: SENDERS,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(&dir, &spec).expect("a testnet directory");
    let _added = AddedNodes(dir.clone());
    let mut network = Network::start(layout, &rbft_bin()).expect("the nodes start");
    network
        .wait_for_first_block(START_WAIT)
        .expect("the testnet commits");
    let genesis_urls: Vec<String> = network.layout.nodes.iter().map(|n| n.api_url()).collect();

    let keys = network.layout.client_keys().expect("the client keys");
    let target = BenchTarget {
        submit_urls: genesis_urls.clone(),
        watch_url: genesis_urls[0].clone(),
        also_watch: Vec::new(),
    };
    let options = BenchOptions {
        rate: Some(RATE_TX_PER_S),
        duration: LOAD_BOUND,
        progress: false,
        ..BenchOptions::default()
    };
    let interrupt = AtomicBool::new(false);
    let commits = Arc::new(Mutex::new(Commits::default()));
    let (report, run): (Report, TrackedRun) = std::thread::scope(|scope| {
        let load = scope.spawn(|| run_tracked(&target, &keys, &options, &interrupt));
        let watched = genesis_urls[..2].to_vec();
        let monitor_commits = commits.clone();
        let stop_flag = &interrupt;
        let watching = scope.spawn(move || monitor(watched, &monitor_commits, stop_flag));
        let stop = StopOnDrop(&interrupt);
        let report = grow_kill_shrink(&dir, &mut network, &genesis_urls, &commits);
        drop(stop);
        watching.join().expect("the monitor panicked");
        let run = load
            .join()
            .expect("the load generator panicked")
            .expect("the load generator ran");
        (report, run)
    });
    for (change, (gap, height)) in &report.gaps {
        println!(
            "membership: longest gap between commits around {change}: {:.3} s (before height {height})",
            gap.as_secs_f64()
        );
    }
    println!(
        "membership: load {:.0} tx/s offered, {:.0} committed, {} accepted",
        run.report.offered_tps,
        run.report.committed_tps,
        run.accepted.len()
    );
    assert!(
        run.accepted.len() as u64 >= RATE_TX_PER_S,
        "the load ran: {:?}",
        run.report
    );
    assert!(
        report.gaps.iter().all(|(_, (gap, _))| *gap <= MAX_GAP),
        "a membership change stopped commits for more than {} s: {report:?}",
        MAX_GAP.as_secs()
    );

    // The ledger checker over the whole run (issue 16): one chain on the four,
    // every certificate by the set in force at its height through the four
    // changes, the genesis supply, every transfer the load saw committed once.
    let mut last = max_height(&genesis_urls);
    wait_until("the network falls quiet", WAIT, || {
        std::thread::sleep(Duration::from_secs(1));
        let now = max_height(&genesis_urls);
        let quiet = now == last;
        last = now;
        quiet
            .then_some(())
            .ok_or(format!("still committing at {now}"))
    });
    let genesis = ledger::Genesis::load(&dir.join("genesis.json")).expect("the genesis");
    let nodes = NodeApi::of_layout(&Layout::open(&dir).expect("the testnet"));
    let options = CheckOptions {
        txs: run.committed.clone(),
        ..CheckOptions::default()
    };
    let checked = check_network(&nodes, &genesis, &options);
    println!("membership: check {}", checked.summary_json());
    assert!(checked.ok(), "{}", checked.lines().join("\n"));
    assert_eq!(checked.nodes_read, GENESIS_NODES);

    // `rbft block verify` (issue 19) of node 0's tip from the genesis file alone:
    // every block below it, each certificate by the set its height had through
    // the two additions and the two removals.
    let tip = status(&genesis_urls[0]).expect("node 0 answers").height;
    let genesis_file = dir.join("genesis.json");
    let out = Command::new(rbft_bin())
        .args(["block", "verify", &tip.to_string(), "--json", "--node"])
        .arg(&genesis_urls[0])
        .arg("--genesis")
        .arg(&genesis_file)
        .output()
        .expect("rbft runs");
    assert!(
        out.status.success(),
        "rbft block verify {tip}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    println!("membership: rbft block verify {verified}");
    let changes = verified["membership_changes"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(changes >= 2, "the changes were followed: {verified}");
    // And its latest stable checkpoint: the block, then the signed CHECKPOINTs
    // by the set of that height.
    let out = Command::new(rbft_bin())
        .args(["block", "verify", "--checkpoint", "--json", "--node"])
        .arg(&genesis_urls[0])
        .arg("--genesis")
        .arg(&genesis_file)
        .output()
        .expect("rbft runs");
    assert!(
        out.status.success(),
        "rbft block verify --checkpoint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkpoint: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    println!("membership: rbft block verify --checkpoint {checkpoint}");
    assert!(checkpoint["height"].as_u64() > Some(0), "{checkpoint}");
}

/// The longest gap between commits around each change, and the height after it.
#[derive(Debug)]
struct Report {
    gaps: Vec<(&'static str, (Duration, u64))>,
}

fn grow_kill_shrink(
    dir: &Path,
    network: &mut Network,
    genesis_urls: &[String],
    commits: &Mutex<Commits>,
) -> Report {
    keeps_committing(genesis_urls, None, 20, "the load commits");

    // Grow to five.
    let add_started = Instant::now();
    testnet_cli(dir, &["add-node"]);
    network.adopt(Layout::open(dir).expect("the testnet with node 4"));
    let new_node = network.layout.nodes[GENESIS_NODES].clone();
    let new_key = crypto::keyfile::read_key_file(&new_node.home.join("node.key"))
        .expect("node 4's key")
        .public_key();
    let all_urls: Vec<String> = network.layout.nodes.iter().map(|n| n.api_url()).collect();
    let since = wait_in_force(&all_urls, &new_key, true);
    let switched = Instant::now();
    println!(
        "membership: node 4 in force on every node from height {since}, {:.1} s after add-node",
        add_started.elapsed().as_secs_f64()
    );
    std::thread::sleep(AFTER_SWITCH);
    let add_gap = commits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .longest_gap(add_started, switched + AFTER_SWITCH);

    // Its signature is in a later commit certificate.
    let signed_at = wait_until("node 4 signs a commit certificate", WAIT, || {
        let tip = status(&genesis_urls[0]).map_or(0, |s| s.height);
        for height in (since.max(tip.saturating_sub(20))..=tip).rev() {
            if commit_signers(&genesis_urls[0], height)?.contains(&(GENESIS_NODES as u32)) {
                return Ok(height);
            }
        }
        Err(format!("not in the certificates up to {tip}"))
    });
    println!("membership: node 4 signed the commit certificate of height {signed_at}");
    let status4 = status(&all_urls[GENESIS_NODES]).expect("node 4 answers");
    assert_eq!(status4.replica, Some(GENESIS_NODES as u32));
    assert!(status4.member, "node 4 is a member: {status4:?}");

    // Node 4 runs detached (add-node started it): supervise it from here on, so it
    // can be killed and restarted like the others.
    assert!(testnet::membership::stop_node_process(&new_node));
    network
        .start_node(GENESIS_NODES)
        .expect("node 4 starts again");
    keeps_committing(
        &all_urls,
        None,
        10,
        "the five commit after node 4 restarted",
    );

    // With any one node killed, the others keep committing.
    for victim in 0..all_urls.len() {
        network.kill_node(victim).expect("the node was running");
        keeps_committing(
            &all_urls,
            Some(victim),
            WHILE_DOWN_HEIGHTS,
            &format!("the others commit with node {victim} down"),
        );
        network.start_node(victim).expect("the node starts again");
        let others = max_height(&all_urls);
        wait_until(&format!("node {victim} catches up"), WAIT, || {
            let height = status(&all_urls[victim]).map_or(0, |s| s.height);
            if height >= others {
                Ok(())
            } else {
                Err(format!(
                    "at {height}, the others at {others}\n{}",
                    log_tail(&network.layout.nodes[victim].log_path(), 20)
                ))
            }
        });
        println!("membership: node {victim} killed: the others committed on; it caught up");
    }

    // A second validator joins while node 4 is a member: its ledger starts at
    // genesis, so its sync must cross node 4's epoch (checkpoints proven by five).
    let second_started = Instant::now();
    testnet_cli(dir, &["add-node"]);
    network.adopt(Layout::open(dir).expect("the testnet with node 5"));
    let fifth = GENESIS_NODES + 1;
    let fifth_node = network.layout.nodes[fifth].clone();
    let fifth_key = crypto::keyfile::read_key_file(&fifth_node.home.join("node.key"))
        .expect("node 5's key")
        .public_key();
    let six_urls: Vec<String> = network.layout.nodes.iter().map(|n| n.api_url()).collect();
    let since = wait_in_force(&six_urls, &fifth_key, true);
    let switched = Instant::now();
    println!(
        "membership: node 5 in force on every node from height {since}, {:.1} s after add-node",
        second_started.elapsed().as_secs_f64()
    );
    std::thread::sleep(AFTER_SWITCH);
    let second_add_gap = commits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .longest_gap(second_started, switched + AFTER_SWITCH);
    let signed_at = wait_until("node 5 signs a commit certificate", WAIT, || {
        let tip = status(&genesis_urls[0]).map_or(0, |s| s.height);
        for height in (since.max(tip.saturating_sub(20))..=tip).rev() {
            if commit_signers(&genesis_urls[0], height)?.contains(&(fifth as u32)) {
                return Ok(height);
            }
        }
        Err(format!("not in the certificates up to {tip}"))
    });
    println!("membership: node 5 signed the commit certificate of height {signed_at}");

    // Shrink to four again: node 4, then node 5.
    let remove_started = Instant::now();
    testnet_cli(dir, &["remove-node", "--id", "4"]);
    let remaining: Vec<String> = six_urls
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != GENESIS_NODES)
        .map(|(_, u)| u.clone())
        .collect();
    let since = wait_in_force(&remaining, &new_key, false);
    let switched = Instant::now();
    println!(
        "membership: node 4 out on every node from height {since}, {:.1} s after remove-node",
        remove_started.elapsed().as_secs_f64()
    );
    assert!(
        !network.is_running(GENESIS_NODES),
        "remove-node stopped node 4"
    );
    std::thread::sleep(AFTER_SWITCH);
    keeps_committing(
        &remaining,
        None,
        20,
        "the five commit after node 4's removal",
    );
    let remove_gap = commits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .longest_gap(remove_started, switched + AFTER_SWITCH);

    let second_remove_started = Instant::now();
    testnet_cli(dir, &["remove-node", "--id", "5"]);
    let since = wait_in_force(genesis_urls, &fifth_key, false);
    let switched = Instant::now();
    println!(
        "membership: node 5 out on every node from height {since}, {:.1} s after remove-node",
        second_remove_started.elapsed().as_secs_f64()
    );
    // add-node started node 5 detached: remove-node stops it through its pid file.
    assert!(
        testnet::membership::running_pid(&fifth_node).is_none(),
        "remove-node stopped node 5"
    );
    std::thread::sleep(AFTER_SWITCH);
    keeps_committing(genesis_urls, None, 20, "the four commit after the removals");
    let second_remove_gap = commits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .longest_gap(second_remove_started, switched + AFTER_SWITCH);
    let tip = status(&genesis_urls[0]).map_or(0, |s| s.height);
    let signers = commit_signers(&genesis_urls[0], tip).expect("the tip's certificate");
    assert!(
        signers.iter().all(|id| (*id as usize) < GENESIS_NODES),
        "only the four sign after the removals: {signers:?} at {tip}"
    );
    Report {
        gaps: vec![
            ("adding node 4", add_gap),
            ("adding node 5", second_add_gap),
            ("removing node 4", remove_gap),
            ("removing node 5", second_remove_gap),
        ],
    }
}
