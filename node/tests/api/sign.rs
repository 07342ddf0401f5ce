//! `rbft tx sign` and `rbft tx submit` (issue 19): a transfer signed with no node
//! anywhere, then submitted from the file to a node on a real socket, `--wait`
//! reporting where it committed; a file that was edited is refused before
//! anything is sent.

use super::*;
use std::process::{Command, Output};
use std::time::Duration;

async fn rbft(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_rbft"))
            .args(args)
            .output()
            .expect("the rbft binary runs")
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_signed_offline_is_submitted_from_its_file() {
    let node = node();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("alice.key");
    crypto::keyfile::write_key_file(&key, &node.alice).unwrap();
    let key = key.to_str().unwrap().to_owned();
    let file = dir.path().join("tx.json");
    let file = file.to_str().unwrap().to_owned();
    let bob = node.bob.to_string();
    let sign = |nonce: &str, out: &[&str]| {
        let mut list = args(&[
            "tx",
            "sign",
            "--key",
            &key,
            "--to",
            &bob,
            "--amount",
            "25",
            "--nonce",
            nonce,
            "--chain-id",
            CHAIN,
        ]);
        list.extend(args(out));
        list
    };

    // No node is running yet: signing needs none.
    let out = rbft(sign("0", &["--out", &file, "--json"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = node.pay(25, 0);
    assert_eq!(line["hash"], expected.hash().to_string());
    let written: SignedTransaction =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, expected, "the same bytes `tx send` would sign");
    // Never overwritten.
    let out = rbft(sign("1", &["--out", &file])).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("never overwritten"),
        "{err}"
    );
    // Without --out, the JSON goes to stdout.
    let out = rbft(sign("1", &[])).await;
    let next: SignedTransaction = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(next, node.pay(25, 1));

    let url = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(node::api::serve(
            Arc::clone(&node.shared),
            listener,
            std::future::pending(),
        ));
        url
    };
    // An edited file is refused here, not by the node.
    let mut edited: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edited["tx"]["kind"]["transfer"]["amount"] = json!(2_500);
    let edited_file = dir.path().join("edited.json");
    std::fs::write(&edited_file, edited.to_string()).unwrap();
    let out = rbft(args(&[
        "tx",
        "submit",
        edited_file.to_str().unwrap(),
        "--node",
        &url,
    ]))
    .await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("signature does not match"),
        "{err}"
    );
    assert_eq!(node.pool_len(), 0);

    // Submitted and waited for; the block commits meanwhile.
    let waiting = tokio::spawn(rbft(args(&[
        "tx", "submit", &file, "--wait", "--json", "--node", &url,
    ])));
    tokio::time::timeout(Duration::from_secs(10), async {
        while node.pool_len() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the transfer reaches the pool");
    node.commit(vec![expected.clone()]);
    let out = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("--wait returns")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["status"], "committed");
    assert_eq!(line["height"], 1);
}
