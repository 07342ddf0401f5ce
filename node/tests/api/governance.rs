//! `rbft validator add | remove | list` against a node's API on a real socket
//! (issue 7): the admin's governance transaction is signed at the next nonce,
//! admitted, and `--wait` reports the height it commits at; a key that is not the
//! admin's, a validator added twice and a stranger removed are refused with their
//! code.

use super::*;
use std::process::{Command, Output};
use std::time::Duration;

fn rbft(args: Vec<String>) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(args)
        .output()
        .expect("the rbft binary runs")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn rbft_async(list: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || rbft(list))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_commands_sign_submit_and_wait_for_governance() {
    let node = node();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node::api::serve(
        Arc::clone(&node.shared),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let dir = tempfile::tempdir().unwrap();
    let admin_file = dir.path().join("admin.key");
    crypto::keyfile::write_key_file(&admin_file, &SigningKey::from_seed([200; 32])).unwrap();
    let other_file = dir.path().join("other.key");
    crypto::keyfile::write_key_file(&other_file, &SigningKey::from_seed([201; 32])).unwrap();
    let admin_file = admin_file.to_str().unwrap().to_owned();
    let newcomer = SigningKey::from_seed([77; 32]).public_key().to_string();
    let add = |key_file: &str, pubkey: &str, extra: &[&str]| {
        let mut list = args(&[
            "validator",
            "add",
            "--pubkey",
            pubkey,
            "--p2p-addr",
            "/ip4/127.0.0.1/tcp/8104",
            "--admin-key",
            key_file,
            "--node",
            &url,
        ]);
        list.extend(args(extra));
        list
    };

    // Not the admin: refused at admission, with the code and a hint.
    let out = rbft_async(add(other_file.to_str().unwrap(), &newcomer, &[])).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("not_admin") && err.contains("--admin-key"),
        "{err}"
    );
    // Already a validator; not a validator.
    let existing = node.validators[1].public_key().to_string();
    let out = rbft_async(add(&admin_file, &existing, &[])).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("already_validator"),
        "{err}"
    );
    let out = rbft_async(args(&[
        "validator",
        "remove",
        "--pubkey",
        &newcomer,
        "--admin-key",
        &admin_file,
        "--node",
        &url,
    ]))
    .await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("not_validator"),
        "{err}"
    );
    assert_eq!(node.pool_len(), 0);

    // The admin adds the newcomer and waits; the block commits meanwhile.
    let waiting = tokio::spawn(rbft_async(add(
        &admin_file,
        &newcomer,
        &["--wait", "--json"],
    )));
    let pooled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let pooled: Vec<SignedTransaction> = {
                let pool = node.shared.mempool.lock().unwrap();
                pool.pending().map(|tx| tx.signed().clone()).collect()
            };
            if !pooled.is_empty() {
                return pooled;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the AddValidator reaches the pool");
    assert_eq!(pooled.len(), 1);
    assert_eq!(pooled[0].tx.nonce, 0, "the admin's first nonce");
    assert!(matches!(pooled[0].tx.kind, TxKind::AddValidator { .. }));
    node.commit(pooled.clone());
    let out = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("--wait returns")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["status"], "committed");
    assert_eq!(line["height"], 1);
    assert_eq!(line["hash"], pooled[0].hash().to_string());
    {
        let store = node.shared.store.read().unwrap();
        assert_eq!(store.validator_history().len(), 1);
        assert_eq!(store.validators().len(), 5);
    }

    // The next one uses the admin's next nonce: remove the newcomer again.
    let out = rbft_async(args(&[
        "validator",
        "remove",
        "--pubkey",
        &newcomer,
        "--admin-key",
        &admin_file,
        "--node",
        &url,
        "--json",
    ]))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pooled: Vec<u64> = {
        let pool = node.shared.mempool.lock().unwrap();
        pool.pending().map(|tx| tx.tx().nonce).collect()
    };
    assert_eq!(pooled, vec![1]);

    // `validator list` prints the membership: the addition committed at height 1
    // is pending until its switch (the first checkpoint above it plus the window,
    // 10 + 40), so the genesis four are in force and the newcomer gets id 4 from
    // height 51.
    let out = rbft_async(args(&["validator", "list", "--node", &url, "--json"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: ValidatorsInfo = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.height, 1);
    assert_eq!((list.since_height, list.f, list.quorum), (1, 1, 3));
    let in_force: Vec<u32> = list.validators.iter().map(|v| v.replica).collect();
    assert_eq!(in_force, vec![0, 1, 2, 3]);
    assert!(list.validators.iter().all(|v| v.since == 1));
    assert_eq!(list.pending.len(), 1);
    let pending = &list.pending[0];
    assert_eq!((pending.authorised_at, pending.from_height), (1, 51));
    assert_eq!((pending.f, pending.quorum), (1, 4));
    let last = pending.validators.last().unwrap();
    assert_eq!(
        (last.replica, last.public_key.to_string()),
        (4, newcomer.clone())
    );
    assert_eq!(last.p2p_addr, "/ip4/127.0.0.1/tcp/8104");
    let text = rbft_async(args(&["validator", "list", "--node", &url])).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("in force from 51"), "{text}");

    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
