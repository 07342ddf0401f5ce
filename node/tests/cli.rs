//! The `rbft` binary's client commands: argument errors and unreachable nodes give
//! one clear `rbft:` line (or clap's usage error) and a non-zero exit. The commands
//! against a real node are tested end to end with the testnet.

use std::process::{Command, Output};

fn rbft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(args)
        .output()
        .expect("the rbft binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Nothing listens on port 1: the connection is refused at once.
const NOWHERE: &str = "http://127.0.0.1:1";
const SOME_ADDRESS: &str = "00112233445566778899aabbccddeeff00112233";

fn key_file(dir: &std::path::Path) -> String {
    let path = dir.join("k.key");
    let out = rbft(&["keygen", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_bad_address_is_named_before_anything_is_sent() {
    let out = rbft(&[
        "tx", "send", "--to", "xyz", "--amount", "5", "--key", "k", "--node", NOWHERE,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--to") && err.contains("not an address"),
        "{err}"
    );
    assert!(!err.contains("cannot reach"), "{err}");

    let out = rbft(&["account", "0011", "--node", NOWHERE]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not an address"), "{}", stderr(&out));
}

#[test]
fn a_bad_amount_is_named() {
    for (amount, expected) in [
        ("0", "must be positive"),
        ("abc", "not an amount"),
        ("-5", "not an amount"),
    ] {
        let out = rbft(&[
            "tx",
            "send",
            "--to",
            SOME_ADDRESS,
            "--amount",
            amount,
            "--key",
            "k",
            "--node",
            NOWHERE,
        ]);
        assert!(!out.status.success(), "amount {amount}");
        let err = stderr(&out);
        assert!(
            err.contains("--amount") && err.contains(expected),
            "amount {amount}: {err}"
        );
    }
}

#[test]
fn a_missing_key_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.key");
    let out = rbft(&[
        "tx",
        "send",
        "--to",
        SOME_ADDRESS,
        "--amount",
        "5",
        "--key",
        missing.to_str().unwrap(),
        "--node",
        NOWHERE,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.starts_with("rbft: key file") && err.contains("nope.key"),
        "{err}"
    );
}

#[test]
fn an_unreachable_node_is_named_with_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let runs: [&[&str]; 6] = [
        &["status", "--node", NOWHERE],
        &["account", SOME_ADDRESS, "--node", NOWHERE],
        &["block", "get", "latest", "--node", NOWHERE],
        &["block", "list", "--from", "3", "--node", NOWHERE],
        &["tx", "get", &"ab".repeat(32), "--node", NOWHERE],
        &[
            "tx",
            "send",
            "--to",
            SOME_ADDRESS,
            "--amount",
            "5",
            "--key",
            &key,
            "--node",
            NOWHERE,
            "--wait",
        ],
    ];
    for args in runs {
        let out = rbft(args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("rbft: cannot reach the node at http://127.0.0.1:1/"),
            "{args:?}: {err}"
        );
        assert!(err.contains("--node"), "{args:?} gives a hint: {err}");
        assert!(out.stdout.is_empty(), "{args:?} prints nothing on stdout");
    }
}

#[test]
fn the_default_node_is_port_8000() {
    let out = rbft(&["status", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("http://127.0.0.1:8000"));
}

#[test]
fn block_ids_and_hashes_are_checked() {
    let out = rbft(&["block", "get", "lastest", "--node", NOWHERE]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`latest`"), "{}", stderr(&out));

    let out = rbft(&["tx", "get", "1234", "--node", NOWHERE]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a hash"), "{}", stderr(&out));

    let out = rbft(&["block", "list", "--limit", "0", "--node", NOWHERE]);
    assert!(!out.status.success());
}

#[test]
fn start_without_a_home_directory_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbft(&[
        "start",
        "--home",
        dir.path().join("absent").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).starts_with("rbft: "), "{}", stderr(&out));
}

/// Issue 19: `tx sign` checks what it is given before signing; `tx submit` names
/// a file it cannot read; `block verify` names a genesis file it cannot use and
/// an unreachable node.
#[test]
fn offline_signing_and_verifying_refuse_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let sign = |chain_id: &str| {
        rbft(&[
            "tx",
            "sign",
            "--key",
            &key,
            "--to",
            SOME_ADDRESS,
            "--amount",
            "5",
            "--nonce",
            "0",
            "--chain-id",
            chain_id,
        ])
    };
    let out = sign("has space");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--chain-id") && stderr(&out).contains("not a chain id"),
        "{}",
        stderr(&out)
    );
    assert!(sign("rbft-test").status.success());

    let missing = dir.path().join("absent.json");
    let out = rbft(&["tx", "submit", missing.to_str().unwrap(), "--node", NOWHERE]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).starts_with("rbft: cannot read") && stderr(&out).contains("absent.json"),
        "{}",
        stderr(&out)
    );

    let out = rbft(&[
        "block",
        "verify",
        "3",
        "--genesis",
        missing.to_str().unwrap(),
        "--node",
        NOWHERE,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read genesis file"),
        "{}",
        stderr(&out)
    );
}
