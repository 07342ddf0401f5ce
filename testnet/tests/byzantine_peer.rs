//! Hostile input from a validator (issue 20): `testnet byzantine-peer`, a real
//! process holding validator 0's key, speaks real libp2p to three real `rbft`
//! nodes. It is the primary of view 0 and equivocates; all along it signs votes
//! for digests nobody proposed, messages for old and far-future views, replays
//! the others' frames, floods them, and sends broken and oversized frames.
//!
//! The three honest nodes (a quorum of four) must keep committing an honest load
//! sent to them, lose none of it, agree on every block, disconnect the peer for
//! its broken frames, answer `/health` throughout, and keep the evidence of the
//! equivocation (both signed pre-prepares, checkable against validator 0's key),
//! counted, served at `/evidence`, and still there after a restart.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use consensus::{Message, MessageKind};
use crypto::Canonical;
use node::client::{Client, Next};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testnet::bench::{self, BenchOptions, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::probe::probe_health;
use testnet::procs::{find_rbft_bin_or_beside, ChildProcess, Network};

/// How long the peer attacks, and the honest load meanwhile.
const ATTACK_S: u64 = 30;
const HONEST_PER_S: u64 = 100;
const LOAD: Duration = Duration::from_secs(ATTACK_S - 5);
const HEALTH_WITHIN: Duration = Duration::from_secs(1);
const HONEST: [usize; 3] = [1, 2, 3];

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Waits until node `i`'s API answers.
fn wait_answering(client: &Client, i: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.health().is_err() {
        assert!(Instant::now() < deadline, "node {i}'s API did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The counter `name{label}` in a node's metrics (0 when absent).
fn counter(client: &Client, series: &str) -> f64 {
    let text = client.metrics_text().expect("metrics");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn three_honest_validators_outlast_a_byzantine_peer_process() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 100,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    let senders = layout.client_keys().expect("the client keys");
    let byzantine_key = node::config::Home::load(&layout.nodes[0].home)
        .expect("node 0's home")
        .key
        .public_key();
    let mut network = Network::new(layout.clone(), &rbft_bin());
    for i in HONEST {
        network.start_node(i).expect("an honest node starts");
    }
    for i in HONEST {
        wait_answering(&network.client(i), i);
    }

    let log = tmp.path().join("byzantine.log");
    let mut peer_command = Command::new(env!("CARGO_BIN_EXE_testnet"));
    peer_command
        .args(["byzantine-peer", "--node", "0", "--seed", "7"])
        .args(["--seconds", &ATTACK_S.to_string()])
        .arg("--dir")
        .arg(tmp.path());
    let mut peer = ChildProcess::spawn("byzantine peer", peer_command, &log).unwrap();

    let mut target = BenchTarget::of(&network);
    target.submit_urls.remove(0);
    target.watch_url = target.submit_urls[0].clone();
    target.also_watch = target.submit_urls.clone();
    // Node 2's live events over the attack: the view change away from the
    // attacker, the new view and the evidence must be announced.
    let mut events = network
        .client(2)
        .events(None, Some(Duration::from_secs(ATTACK_S + 20)))
        .expect("node 2's events");
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (load, health, announced) = std::thread::scope(|scope| {
        // The prober stops however this closure ends (a panic included).
        let _stop = StopOnDrop(&stop);
        let prober = scope.spawn(|| {
            probe_health(
                &target.submit_urls,
                HEALTH_WITHIN,
                Duration::from_millis(200),
                &stop,
            )
        });
        // The load starts with the attack: the first seconds are view 0, whose
        // primary is the attacker.
        let options = BenchOptions {
            rate: Some(HONEST_PER_S),
            duration: LOAD,
            window: 16,
            drain_timeout: Duration::from_secs(60),
            progress: false,
            ..BenchOptions::default()
        };
        let announced = scope.spawn(move || {
            let mut names = std::collections::BTreeSet::new();
            while let Ok(Next::Event(event)) = events.next_event() {
                names.insert(event.name());
                if ["view_change", "new_view", "evidence", "block"]
                    .iter()
                    .all(|n| names.contains(n))
                {
                    break;
                }
            }
            names
        });
        let load = bench::run(&target, &senders, &options, &AtomicBool::new(false))
            .expect("the honest load runs");
        stop.store(true, Ordering::SeqCst);
        let announced = announced.join().expect("the events reader");
        (load, prober.join().expect("the prober"), announced)
    });
    for name in ["view_change", "new_view", "evidence", "block"] {
        assert!(
            announced.contains(name),
            "node 2 announced no {name} event: {announced:?}"
        );
    }
    let status = peer
        .wait_until(Instant::now() + Duration::from_secs(ATTACK_S + 30))
        .expect("the Byzantine peer stops after its attack");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "the Byzantine peer failed: {log_text}");
    let report: Value = serde_json::from_str(log_text.lines().last().unwrap())
        .unwrap_or_else(|e| panic!("its report: {e}: {log_text}"));
    eprintln!("byzantine peer: {report}");
    eprintln!(
        "byzantine peer: honest load {load:?} over {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (i, record) in HONEST.iter().zip(&health) {
        eprintln!(
            "byzantine peer: node {i}: {} /health probes, slowest {:?}",
            record.probes, record.slowest
        );
    }

    // It attacked as described, and its broken frames cost it its connections.
    for attack in [
        "equivocating_pre_prepare_pairs",
        "prepare_unproposed_digest",
        "commit_unproposed_digest",
        "prepare_old_view",
        "prepare_future_view",
        "replay",
        "flood_prepare",
        "garbage_frame",
        "bad_signature_frame",
        "oversized_frame",
    ] {
        assert!(
            report["sent"][attack].as_u64().unwrap_or(0) > 0,
            "the peer never sent {attack}: {report}"
        );
    }
    assert!(
        report["disconnects"].as_u64().unwrap() >= 3,
        "broken frames did not get the peer disconnected: {report}"
    );

    // The honest load: every accepted transfer committed, at its rate.
    assert!(
        load.committed > 0 && load.committed == load.submitted,
        "{load:?}"
    );
    assert_eq!(load.rejected + load.errors, 0, "{load:?}");
    for (i, record) in HONEST.iter().zip(&health) {
        assert!(
            record.failures.is_empty(),
            "node {i}'s /health: {:?}",
            record.failures
        );
    }

    // One chain: the same block at every height on the three.
    let clients: Vec<Client> = HONEST.iter().map(|&i| network.client(i)).collect();
    let tip = clients
        .iter()
        .map(|c| c.status().expect("status").height)
        .min()
        .unwrap();
    assert!(tip > 0);
    for height in 1..=tip {
        let hashes: Vec<_> = clients
            .iter()
            .map(|c| c.block(&height.to_string()).expect("a block").hash)
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "height {height}: {hashes:?}"
        );
    }

    // Every honest node kept the proof of the equivocation, checkable by anyone
    // with validator 0's key, and counted it.
    let chain_id = layout.chain_id.clone();
    let proof = |client: &Client, i: usize| -> Vec<u64> {
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = client.evidence_list(before).expect("evidence");
            all.extend(page.evidence);
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        let ids: Vec<u64> = all
            .iter()
            .filter(|e| e.kind == "equivocating_primary")
            .map(|e| e.id)
            .collect();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(|e| e.kind.as_str()).collect();
        eprintln!(
            "byzantine peer: node {i}: {} evidence records, kinds {kinds:?}",
            all.len()
        );
        assert!(!ids.is_empty(), "node {i} kept no equivocation: {all:?}");
        assert!(all.iter().all(|e| e.accused == 0), "{all:?}");
        let record = client.evidence(ids[0]).expect("the record");
        assert_eq!(record.summary.accused, 0);
        assert_eq!(record.summary.accused_key, Some(byzantine_key));
        assert_eq!(record.messages.len(), 2);
        let mut digests = Vec::new();
        for m in &record.messages {
            let payload = hex::decode(&m.payload).unwrap();
            byzantine_key
                .verify(
                    MessageKind::PrePrepare.domain(&chain_id),
                    &payload,
                    &m.signature,
                )
                .expect("the accused's own signature");
            let Message::PrePrepare(pp) = Message::from_canonical_bytes(&payload).unwrap() else {
                panic!("node {i}: not a pre-prepare");
            };
            digests.push((pp.view, pp.seq, pp.digest));
        }
        assert_eq!((digests[0].0, digests[0].1), (digests[1].0, digests[1].1));
        assert_ne!(
            digests[0].2, digests[1].2,
            "node {i}: the same pre-prepare twice"
        );
        ids
    };
    let mut kept = Vec::new();
    for (client, &i) in clients.iter().zip(&HONEST) {
        kept.push(proof(client, i));
        // Counted since the node started (a restart starts the counters anew).
        let faults = counter(client, "rbft_faults_total{kind=\"equivocating_primary\"}");
        assert!(faults >= 1.0, "node {i} counted {faults} equivocations");
        eprintln!(
            "byzantine peer: node {i}: evidence {:?}, faults {}, ignored prepares for future views {}",
            kept.last().unwrap(),
            counter(client, "rbft_faults_total{kind=\"equivocating_primary\"}"),
            counter(client, "rbft_ignored_messages_total{reason=\"wrong_view\"}"),
        );
    }

    // The evidence survives a restart (the same records, read from the store).
    network.restart_node(1).expect("node 1 restarts");
    let client = network.client(1);
    wait_answering(&client, 1);
    assert_eq!(proof(&client, 1), kept[0]);
    let exited = network.exited();
    assert!(exited.is_empty(), "nodes exited: {exited:?}");
}
