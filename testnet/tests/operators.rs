//! The operator's path end to end, as the README's "Run a network across machines"
//! walks it: four homes made only with `rbft init`, a genesis only with `rbft genesis
//! build` from their cards, four real `rbft start` processes on 127.0.0.1, and a
//! transaction sent with `rbft tx send` and committed. Then: a node started with
//! another genesis is refused by its peers, each side logging both hashes.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use testnet::layout::{free_base_port, ClientKey, Layout, NodeLayout, P2P_PORT_OFFSET};
use testnet::procs::{find_rbft_bin_or_beside, Network};

const WAIT: Duration = Duration::from_secs(60);
const CHAIN_ID: &str = "operators";

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build --workspace)")
}

fn rbft(args: &[&str]) -> Value {
    let output: Output = Command::new(rbft_bin())
        .args(args)
        .output()
        .expect("rbft runs");
    assert!(
        output.status.success(),
        "rbft {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// What the operators made: four homes with their cards, an admin key and a
/// funded client key.
struct Operators {
    layout: Layout,
    cards: Vec<PathBuf>,
    admin_public_key: String,
}

/// Each operator runs `rbft init` on "its machine" (a directory); the admin and a
/// client make their keys with `rbft keygen`.
fn operators(dir: &Path) -> Operators {
    let base = free_base_port(4).expect("free ports on 127.0.0.1");
    let mut nodes = Vec::new();
    let mut cards = Vec::new();
    for i in 0..4u16 {
        let home = dir.join(format!("node{i}"));
        let api = format!("127.0.0.1:{}", base + i);
        let p2p = format!("127.0.0.1:{}", base + P2P_PORT_OFFSET + i);
        let card = rbft(&[
            "init",
            "--home",
            path(&home),
            "--listen",
            &p2p,
            "--api",
            &api,
            "--json",
        ]);
        assert_eq!(
            card["p2p_addr"],
            format!("/ip4/127.0.0.1/tcp/{}", base + P2P_PORT_OFFSET + i)
        );
        cards.push(home.join("validator_card.json"));
        nodes.push(NodeLayout {
            index: i.into(),
            home,
            api_addr: api.parse().unwrap(),
            p2p_addr: card["p2p_addr"].as_str().unwrap().to_owned(),
            removed: false,
        });
    }
    let admin_key = dir.join("admin.key");
    let admin = rbft(&["keygen", "--json", "--out", path(&admin_key)]);
    std::fs::create_dir(dir.join("clients")).unwrap();
    let client_key = dir.join("clients").join("client0.key");
    let client = rbft(&["keygen", "--json", "--out", path(&client_key)]);
    let layout = Layout {
        dir: dir.to_owned(),
        chain_id: CHAIN_ID.to_owned(),
        nodes,
        clients: vec![ClientKey {
            path: client_key,
            address: client["address"].as_str().unwrap().parse().unwrap(),
        }],
        admin_key,
    };
    Operators {
        layout,
        cards,
        admin_public_key: admin["public_key"].as_str().unwrap().to_owned(),
    }
}

impl Operators {
    /// `rbft genesis build` from the four cards; returns the hash it printed.
    fn genesis(&self, chain_id: &str, out: &Path) -> String {
        let client = self.layout.clients[0].address.to_string();
        let mut args = vec![
            "genesis",
            "build",
            "--json",
            "--chain-id",
            chain_id,
            "--admin",
            &self.admin_public_key,
            "--out",
            path(out),
        ];
        let fund = format!("{client}=1000000");
        args.extend(["--fund", &fund]);
        for card in &self.cards {
            args.extend(["--card", path(card)]);
        }
        let built = rbft(&args);
        let hash = built["hash"].as_str().unwrap().to_owned();
        // What every operator does with the file they receive.
        let checked = rbft(&["genesis", "check", "--json", path(out), "--expect", &hash]);
        assert_eq!(checked["hash"], hash.as_str());
        hash
    }

    fn install(&self, genesis: &Path, node: usize) {
        std::fs::copy(genesis, self.layout.nodes[node].home.join("genesis.json")).unwrap();
    }
}

/// `rbft tx send` of 5 units from the client to the admin through `node`.
fn send(layout: &Layout, node: usize, wait: bool) -> Value {
    let admin = crypto::keyfile::read_key_file(&layout.admin_key).unwrap();
    let to = ledger::Address::of(&admin.public_key()).to_string();
    let url = layout.nodes[node].api_url();
    let mut args = vec![
        "tx",
        "send",
        "--json",
        "--key",
        path(&layout.clients[0].path),
        "--to",
        &to,
        "--amount",
        "5",
        "--node",
        &url,
    ];
    if wait {
        args.extend(["--wait", "--timeout", "60"]);
    }
    rbft(&args)
}

/// Waits until node `i` answers its API (it has opened its ledger and listens).
fn wait_serving(network: &Network, i: usize) {
    let client = network.client(i);
    let deadline = Instant::now() + WAIT;
    while client.status().is_err() {
        assert!(Instant::now() < deadline, "node {i} never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn four_operators_build_a_network_with_init_and_genesis_and_commit() {
    let dir = tempfile::tempdir().unwrap();
    let operators = operators(dir.path());
    let genesis = dir.path().join("genesis.json");
    operators.genesis(CHAIN_ID, &genesis);
    for i in 0..4 {
        operators.install(&genesis, i);
    }
    let mut network = Network::start(operators.layout.clone(), &rbft_bin()).unwrap();
    wait_serving(&network, 0);
    let sent = send(&network.layout, 0, true);
    assert_eq!(sent["status"], "committed", "{sent}");
    let height = sent["height"].as_u64().unwrap();
    assert!(height >= 1);
    network.wait_for_height(height, WAIT).unwrap();
    let hash: crypto::Hash = sent["hash"].as_str().unwrap().parse().unwrap();
    for i in 0..4 {
        let info = network.client(i).tx(&hash).unwrap();
        assert_eq!(info.height, Some(height), "node {i}");
    }
    let statuses = network.stop();
    assert_eq!(statuses.len(), 4);
}

#[test]
fn a_node_with_another_genesis_is_refused_with_both_hashes_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let operators = operators(dir.path());
    let agreed = dir.path().join("genesis.json");
    let agreed_hash = operators.genesis(CHAIN_ID, &agreed);
    // Node 3's operator built a genesis of their own from the same cards.
    let other = dir.path().join("other-genesis.json");
    let other_hash = operators.genesis("another-chain", &other);
    assert_ne!(agreed_hash, other_hash);
    for i in 0..3 {
        operators.install(&agreed, i);
    }
    operators.install(&other, 3);

    let mut network = Network::start(operators.layout.clone(), &rbft_bin()).unwrap();
    // Both sides say so, each naming its own hash and the peer's.
    let says_both = |line: &str, ours: &str, theirs: &str| {
        line.contains("genesis mismatch")
            && line.contains(&format!(
                "runs genesis {theirs}, this node runs genesis {ours}"
            ))
    };
    let deadline = Instant::now() + WAIT;
    loop {
        let log = |i: usize| std::fs::read_to_string(network.layout.nodes[i].log_path()).unwrap();
        let refused_by_0 = log(0)
            .lines()
            .any(|l| says_both(l, &agreed_hash, &other_hash));
        let refused_3 = log(3)
            .lines()
            .any(|l| says_both(l, &other_hash, &agreed_hash));
        if refused_by_0 && refused_3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no genesis mismatch logged naming both hashes; node 0: {refused_by_0}, node 3: {refused_3}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The three that agree are a quorum, and commit without it.
    wait_serving(&network, 0);
    let sent = send(&network.layout, 0, true);
    assert_eq!(sent["status"], "committed", "{sent}");
    let height = sent["height"].as_u64().unwrap();
    let deadline = Instant::now() + WAIT;
    for i in 1..3 {
        network.wait_node_height(i, height, deadline, WAIT).unwrap();
    }
    // Node 3 never got a frame of the others' chain, so it commits nothing.
    let status = network.client(3).status().unwrap();
    assert_eq!(status.height, 0, "node 3 is on its own");
    network.stop();
}
