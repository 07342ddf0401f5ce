//! End to end (issue: the node): a 4-node testnet of real `rbft` processes on free
//! ports in a temporary directory, transfers sent with the `rbft` command line, the
//! primary killed with SIGKILL, and the killed node restarted.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use node::api::types::TxStatus;
use node::client::Client;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::procs::{find_rbft_bin_or_beside, Network};

const WAIT: Duration = Duration::from_secs(60);

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// `rbft tx send --wait --json` from client `from` to client `to` through `node`;
/// returns the transaction hash and the height it committed at.
fn send(network: &Network, node: usize, from: usize, to: usize, amount: u64) -> (String, u64) {
    let layout = &network.layout;
    let output = Command::new(rbft_bin())
        .args(["tx", "send", "--wait", "--json", "--timeout", "30"])
        .arg("--key")
        .arg(&layout.clients[from].path)
        .args(["--to", &layout.clients[to].address.to_string()])
        .args(["--amount", &amount.to_string()])
        .args(["--node", &layout.nodes[node].api_url()])
        .output()
        .expect("rbft runs");
    assert!(
        output.status.success(),
        "rbft tx send through node {node}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(printed["status"], "committed", "{printed}");
    (
        printed["hash"].as_str().expect("hash").to_owned(),
        printed["height"].as_u64().expect("height"),
    )
}

/// Every running node in `nodes` reports the transaction committed in the same
/// block (same height, same block hash).
fn same_block_everywhere(network: &Network, nodes: &[usize], hash: &str, height: u64) {
    let hash: crypto::Hash = hash.parse().expect("a hash");
    let mut block_hashes = Vec::new();
    for &i in nodes {
        let client = network.client(i);
        let deadline = Instant::now() + WAIT;
        let info = loop {
            match client.tx(&hash) {
                Ok(info) if info.status == TxStatus::Committed => break info,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                other => panic!("node {i}: transaction {hash} not committed: {other:?}"),
            }
        };
        assert_eq!(info.height, Some(height), "node {i}");
        let block = client.block(&height.to_string()).expect("the block");
        assert_eq!(Some(block.hash), info.block_hash, "node {i}");
        assert!(
            block.tx_hashes.contains(&hash),
            "node {i}: block {height} holds it"
        );
        block_hashes.push(block.hash);
    }
    block_hashes.dedup();
    assert_eq!(block_hashes.len(), 1, "one block for {hash} on every node");
}

fn tip(client: &Client) -> Option<(u64, crypto::Hash)> {
    client.status().ok().map(|s| (s.height, s.tip_hash))
}

#[test]
fn a_testnet_commits_transfers_survives_its_primary_and_takes_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 8,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    let mut network = Network::start(layout, &rbft_bin()).unwrap();
    network
        .wait_for_first_block(WAIT)
        .expect("the testnet commits");

    // Transfers through the command line, one through each node.
    let all = [0, 1, 2, 3];
    for node in all {
        let (hash, height) = send(&network, node, node, 4 + node, 10 + node as u64);
        same_block_everywhere(&network, &all, &hash, height);
    }

    // Kill the primary; the others change view and go on committing.
    let status = network.client(0).status().unwrap();
    let primary = status.primary as usize;
    let view_before = status.view;
    network.kill_node(primary).expect("the primary was running");
    let live: Vec<usize> = all.iter().copied().filter(|i| *i != primary).collect();
    let (hash, height) = send(&network, live[0], 5, 6, 7);
    same_block_everywhere(&network, &live, &hash, height);
    for &i in &live {
        let view = network.client(i).status().unwrap().view;
        assert!(
            view > view_before,
            "node {i} left view {view_before} (now {view})"
        );
    }
    // More work while it is down: it has to catch up past it.
    for round in 0..3 {
        send(&network, live[round % live.len()], round, 7, 1);
    }

    // The killed node restarts from its disk and reaches the same tip.
    network.start_node(primary).unwrap();
    let deadline = Instant::now() + WAIT;
    let mut nudges = 0;
    loop {
        let tips: Vec<_> = all.iter().map(|i| tip(&network.client(*i))).collect();
        if tips.iter().all(|t| t.is_some() && *t == tips[0]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted node {primary} did not reach the others' tip: {tips:?}"
        );
        // A quiet network gives a lagging node nothing to notice; keep it busy.
        if nudges < 30 {
            send(&network, live[nudges % live.len()], 4 + nudges % 4, 0, 1);
            nudges += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // And it votes again: a transfer through it commits on every node.
    let (hash, height) = send(&network, primary, 3, 2, 1);
    same_block_everywhere(&network, &all, &hash, height);

    let stopped = network.stop();
    assert_eq!(stopped.len(), 4);
    for (i, status) in stopped {
        assert!(
            status.success(),
            "node {i} stopped cleanly on SIGTERM: {status}"
        );
    }
}
