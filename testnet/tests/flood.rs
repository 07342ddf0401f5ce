//! Bad input at the fetch door (issue: twice the load it can carry): a process
//! holding a validator's key speaks real libp2p to three real `rbft` nodes and
//! floods them with the largest fetches there are (10,000 committed transaction
//! bodies spread over every block, 256 blocks, the stable checkpoint), many at
//! once, while an honest load goes on.
//!
//! Each answer must be bounded (committed bodies from at most
//! `MAX_SERVED_BLOCKS` blocks, blocks within their byte budget), fetches past a
//! node's limits must be refused as busy, and the three honest nodes (a quorum
//! of four) must keep committing every transfer they accept.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use crypto::{BoundedVec, Canonical, Hash};
use node::config::Home;
use node::net::{self, NetConfig, NetEvent};
use node::serve::MAX_SERVED_BLOCKS;
use node::wire::{
    FetchRequest, FetchResponse, FETCH_BLOCKS_BUDGET_BYTES, MAX_FETCH_BLOCKS, MAX_FETCH_TXS,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use testnet::bench::{self, BenchOptions, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::procs::{find_rbft_bin_or_beside, Network};

/// The honest load while the flood runs.
const HONEST_PER_S: u64 = 300;
const FLOOD: Duration = Duration::from_secs(15);
/// Fetches of each kind in flight to each node at once.
const IN_FLIGHT: usize = 16;

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// What the flooding peer got back.
#[derive(Debug, Default)]
struct Tally {
    txs_answers: u64,
    blocks_answers: u64,
    checkpoint_answers: u64,
    busy: u64,
    failed: u64,
    /// The most distinct blocks the committed bodies of one answer came from.
    most_blocks_in_a_txs_answer: usize,
    largest_blocks_answer: usize,
}

#[test]
fn a_peer_flooding_fetches_gets_bounded_answers_and_refusals_while_the_others_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 200,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    let senders = layout.client_keys().expect("the client keys");
    let mut network = Network::start(layout.clone(), &rbft_bin()).unwrap();
    network
        .wait_for_first_block(Duration::from_secs(60))
        .expect("the testnet commits");
    let honest = |network: &Network, per_s: u64, duration: Duration| {
        let mut target = BenchTarget::of(network);
        target.submit_urls.truncate(3);
        let options = BenchOptions {
            rate: Some(per_s),
            duration,
            window: 16,
            progress: false,
            ..BenchOptions::default()
        };
        bench::run(&target, &senders[..100], &options, &AtomicBool::new(false))
            .expect("the honest load runs")
    };

    // Blocks full of transactions to ask for.
    let first = honest(&network, 2_000, Duration::from_secs(4));
    assert_eq!(first.committed, first.submitted, "{first:?}");
    let client = network.client(0);
    let tip = client.status().unwrap().height;
    let mut height_of: HashMap<Hash, u64> = HashMap::new();
    for height in 1..=tip {
        for hash in client.block(&height.to_string()).unwrap().tx_hashes {
            height_of.insert(hash, height);
        }
    }
    let blocks_with_txs: HashSet<u64> = height_of.values().copied().collect();
    assert!(
        blocks_with_txs.len() > MAX_SERVED_BLOCKS,
        "the flood asks for bodies of more blocks than one answer may decode"
    );
    // Hashes spread over every block, padded with unknown ones.
    let mut asked: Vec<Hash> = height_of.keys().copied().collect();
    asked.truncate(MAX_FETCH_TXS);
    let mut pad = 0u64;
    while asked.len() < MAX_FETCH_TXS {
        pad += 1;
        asked.push(crypto::sha256(&pad.to_be_bytes()));
    }

    // Node 3 goes; the flooder takes its key (a validator of the set).
    network.stop_node(3);
    let home = Home::load(&layout.nodes[3].home).expect("node 3's home");
    let roster: Vec<(crypto::PublicKey, String)> = home
        .genesis
        .validators
        .iter()
        .map(|v| (v.public_key, v.p2p_addr.to_string()))
        .collect();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (tally, honest_report) = std::thread::scope(|scope| {
        let load = scope.spawn(|| honest(&network, HONEST_PER_S, FLOOD));
        let tally = runtime.block_on(flood(home, roster, asked, &height_of));
        (tally, load.join().expect("the honest load"))
    });
    eprintln!("flood: {tally:?}");
    eprintln!("flood: honest load {honest_report:?}");

    assert!(tally.txs_answers > 0 && tally.blocks_answers > 0 && tally.checkpoint_answers > 0);
    assert!(tally.busy > 0, "no fetch was refused as busy: {tally:?}");
    assert!(
        tally.most_blocks_in_a_txs_answer <= MAX_SERVED_BLOCKS,
        "an answer decoded {} blocks",
        tally.most_blocks_in_a_txs_answer
    );
    assert!(tally.largest_blocks_answer <= MAX_FETCH_BLOCKS);
    // The honest load kept committing, everything it got accepted.
    assert!(honest_report.committed > 0);
    assert_eq!(
        honest_report.committed, honest_report.submitted,
        "{honest_report:?}"
    );
    assert!(
        honest_report.committed_tps >= 0.8 * HONEST_PER_S as f64,
        "the honest load slowed under the flood: {honest_report:?}"
    );
    let exited = network.exited();
    assert!(
        exited.is_empty(),
        "nodes exited during the flood: {exited:?}"
    );
}

/// Connects as node 3 and floods nodes 0-2 for [`FLOOD`].
async fn flood(
    home: Home,
    roster: Vec<(crypto::PublicKey, String)>,
    asked: Vec<Hash>,
    height_of: &HashMap<Hash, u64>,
) -> Tally {
    let mut config = NetConfig::new(
        home.key.clone(),
        roster,
        home.config.p2p_listen.clone(),
        home.genesis.hash(),
    );
    config.dial = (0..3).map(consensus::ReplicaId).collect();
    config.max_request_bytes = <FetchRequest as Canonical>::MAX_ENCODED_LEN;
    config.max_response_bytes = 64 << 20;
    config.request_timeout = Duration::from_secs(20);
    let (net, mut events) = net::start(config).await.expect("the flooder's network");
    let mut connected = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while connected.len() < 3 {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Connected(peer))) => {
                connected.insert(peer);
            }
            Ok(Some(_)) => {}
            _ => panic!("the flooder connected to {connected:?} only"),
        }
    }
    // The others' consensus messages are read and thrown away.
    tokio::spawn(async move { while events.recv().await.is_some() {} });

    let txs = FetchRequest::Txs(BoundedVec::new(asked).unwrap()).to_canonical_bytes();
    let blocks = FetchRequest::Blocks {
        from: 1,
        count: MAX_FETCH_BLOCKS as u32,
    }
    .to_canonical_bytes();
    let checkpoint = FetchRequest::StableCheckpoint.to_canonical_bytes();
    let mut tally = Tally::default();
    let until = Instant::now() + FLOOD;
    while Instant::now() < until {
        let mut fetches = Vec::new();
        for peer in 0..3 {
            let to = consensus::ReplicaId(peer);
            for _ in 0..IN_FLIGHT {
                for request in [&txs, &blocks, &checkpoint] {
                    let net = net.clone();
                    let request = request.clone();
                    fetches.push(async move { net.request(to, request).await });
                }
            }
        }
        for answer in futures::future::join_all(fetches).await {
            let Ok(bytes) = answer else {
                tally.failed += 1;
                continue;
            };
            match FetchResponse::from_canonical_bytes(&bytes).expect("a well-formed answer") {
                FetchResponse::Busy => tally.busy += 1,
                FetchResponse::Txs(found) => {
                    tally.txs_answers += 1;
                    let heights: HashSet<u64> = found
                        .iter()
                        .filter_map(|tx| height_of.get(&tx.hash()).copied())
                        .collect();
                    tally.most_blocks_in_a_txs_answer =
                        tally.most_blocks_in_a_txs_answer.max(heights.len());
                }
                FetchResponse::Blocks(served) => {
                    tally.blocks_answers += 1;
                    let bytes: usize = served
                        .iter()
                        .map(|b| b.block.to_canonical_bytes().len())
                        .sum();
                    let largest = served
                        .iter()
                        .map(|b| b.block.to_canonical_bytes().len())
                        .max()
                        .unwrap_or(0);
                    assert!(
                        bytes <= FETCH_BLOCKS_BUDGET_BYTES + largest + 64 * 1024 * served.len(),
                        "a blocks answer of {bytes} bytes"
                    );
                    tally.largest_blocks_answer = tally.largest_blocks_answer.max(served.len());
                }
                FetchResponse::StableCheckpoint(_) => tally.checkpoint_answers += 1,
            }
        }
    }
    net.shutdown();
    tally
}
