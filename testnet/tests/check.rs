//! `testnet check` against a real network (issue 16): a 4-node testnet of `rbft`
//! processes commits transfers, some to an address the genesis does not fund;
//! the checker finds one chain, valid certificates, the genesis supply and every
//! transfer once. Then it is shown to fail: a transaction nobody committed is
//! missing, and a stopped node is named as unreadable.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use crypto::Hash;
use ledger::{Address, ChainId, Genesis, Transaction, TxKind};
use node::api::types::TxStatus;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;
use testnet::check::{check_network, CheckOptions, NodeApi, Problem};
use testnet::layout::{free_base_port, Layout, LayoutSpec, CHAIN_ID};
use testnet::procs::{find_rbft_bin_or_beside, Network};

const WAIT: Duration = Duration::from_secs(60);

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

/// Sends `count` transfers from each of clients 0 to 2 (to client 3 and to an
/// address the genesis does not know), through nodes in turn, and waits until
/// each commits. Returns their hashes.
fn send_transfers(network: &Network, count: u64, stranger: Address) -> Vec<Hash> {
    let layout = &network.layout;
    let mut hashes = Vec::new();
    for client in 0..3 {
        let key = layout.clients[client].load().unwrap();
        let via = network.client(client % network.len());
        let nonce = via
            .account(&layout.clients[client].address)
            .unwrap()
            .pending_nonce;
        for i in 0..count {
            let to = if i % 2 == 0 {
                layout.clients[3].address
            } else {
                stranger
            };
            let tx = Transaction {
                chain_id: ChainId::new(CHAIN_ID).unwrap(),
                signer: key.public_key(),
                nonce: nonce + i,
                kind: TxKind::Transfer { to, amount: 3 + i },
            }
            .sign(&key);
            hashes.push(via.submit(&tx).expect("the transfer is admitted"));
        }
    }
    let watch = network.client(0);
    for hash in &hashes {
        let info = watch
            .wait_settled(hash, WAIT)
            .unwrap()
            .expect("node 0 knows the transfer");
        assert_eq!(info.status, TxStatus::Committed, "{hash}: {info:?}");
    }
    hashes
}

fn run_check(args: &[&str]) -> (Output, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_testnet"))
        .arg("check")
        .args(args)
        .output()
        .expect("testnet runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let summary = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "the last line is the JSON summary ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, summary)
}

fn write_tx_list(path: &Path, hashes: &[Hash]) {
    let text: String = hashes.iter().map(|h| format!("{h}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_real_testnet_holds_one_ledger_and_the_checker_names_what_breaks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 4,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(&dir, &spec).unwrap();
    let mut network = Network::start(layout, &rbft_bin()).unwrap();
    network
        .wait_for_first_block(WAIT)
        .expect("the testnet commits");
    let stranger = Address([0x5a; 20]);
    let committed = send_transfers(&network, 4, stranger);
    network
        .wait_for_height(network.client(0).status().unwrap().height, WAIT)
        .expect("every node reaches node 0's height");

    // The library, as a chaos run calls it.
    let genesis = Genesis::load(&dir.join("genesis.json")).unwrap();
    let nodes = NodeApi::of_layout(&network.layout);
    let options = CheckOptions {
        txs: committed.clone(),
        equal_heights: true,
        ..CheckOptions::default()
    };
    let report = check_network(&nodes, &genesis, &options);
    assert!(report.ok(), "{}", report.lines().join("\n"));
    assert_eq!(report.nodes_read, 4);
    assert!(report.highest_height >= 1);
    assert_eq!(report.lowest_height, report.highest_height);
    assert_eq!(report.certificates_checked, 4 * report.highest_height);
    let expected = u128::from(testnet::layout::CLIENT_BALANCE) * 5;
    assert_eq!(report.supply_expected, expected);
    assert!(report
        .supply_found
        .values()
        .all(|found| *found == Some(expected)));

    // The command, on the directory, with the transfers seen committed.
    let seen = tmp.path().join("seen.txt");
    write_tx_list(&seen, &committed);
    let dir_arg = dir.to_str().unwrap();
    let seen_arg = seen.to_str().unwrap();
    let (output, summary) = run_check(&["--dir", dir_arg, "--txs", seen_arg, "--equal-heights"]);
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["nodes"], 4);
    assert_eq!(summary["divergent_heights"], 0);
    assert_eq!(summary["bad_certificates"], 0);
    assert_eq!(summary["missing_txs"], 0);
    assert_eq!(summary["duplicated_txs"], 0);

    // A transaction nobody committed: missing, named, exit 1.
    let never = Hash([0x77; 32]);
    let mut listed = committed.clone();
    listed.push(never);
    write_tx_list(&seen, &listed);
    let (output, summary) = run_check(&["--dir", dir_arg, "--txs", seen_arg]);
    assert_eq!(output.status.code(), Some(1), "{summary}");
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["missing_txs"], 1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("FAIL transaction {never} was reported committed")),
        "{stdout}"
    );

    // A stopped node is named; the others, given by URL, still hold.
    network.stop_node(3);
    let (output, summary) = run_check(&["--dir", dir_arg]);
    assert_eq!(output.status.code(), Some(1), "{summary}");
    assert_eq!(summary["nodes_read"], 3);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("FAIL unreadable node node3: cannot reach"),
        "{stdout}"
    );
    let genesis_arg = dir.join("genesis.json");
    let mut args = vec!["--genesis", genesis_arg.to_str().unwrap()];
    let urls: Vec<String> = (0..3).map(|i| network.layout.nodes[i].api_url()).collect();
    for url in &urls {
        args.extend(["--api", url]);
    }
    let (output, summary) = run_check(&args);
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["nodes"], 3);

    // Input that cannot be read is exit 2 with the file named, not a report.
    std::fs::write(&seen, "not-a-hash\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_testnet"))
        .args(["check", "--dir", dir_arg, "--txs", seen_arg])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("seen.txt line 1"), "{stderr}");

    let report = check_network(&nodes, &genesis, &CheckOptions::default());
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::Fetch(e) if e.node() == "node3")),
        "{}",
        report.lines().join("\n")
    );
}
