//! `testnet up` and the library it is built on.
//!
//! The tests with a fake `rbft` (a shell script) check the supervision: a node that
//! dies at start is reported with its log, and the nodes already started are
//! stopped. The real node runs in `tests/e2e.rs`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use testnet::layout::{free_base_port, Layout};

fn testnet_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_testnet"))
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(path, permissions).unwrap();
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; its state says Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"))
        .unwrap_or(false)
}

#[test]
fn up_refuses_a_directory_that_is_not_a_testnet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("thesis.tex"), "mine").unwrap();
    let out = testnet_bin()
        .args(["up", "--dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not look like a testnet directory"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing written"
    );
}

#[test]
fn up_stops_the_started_nodes_when_one_fails_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let fake = tmp.path().join("rbft");
    // node0 fails after the others have started; they record their pid and run
    // until stopped.
    write_script(
        &fake,
        &format!(
            "case \"$3\" in\n  *node0) sleep 0.5; echo \"rbft: node0 cannot bind its port\" >&2; exit 1;;\nesac\necho $$ > {}/$(basename \"$3\")\nexec sleep 600",
            pids.display()
        ),
    );
    let dir = tmp.path().join("net");
    let base = free_base_port(4).unwrap().to_string();
    let started = Instant::now();
    let out = testnet_bin()
        .env("RBFT_BIN", &fake)
        .args([
            "up",
            "--dir",
            dir.to_str().unwrap(),
            "--base-port",
            &base,
            "--clients",
            "3",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("node 0 exited"), "{err}");
    assert!(err.contains("node0/node.log"), "{err}");
    assert!(
        err.contains("cannot bind its port"),
        "the log's tail is quoted: {err}"
    );
    let recorded: Vec<u32> = std::fs::read_dir(&pids)
        .unwrap()
        .map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(recorded.len(), 3, "nodes 1-3 were started");
    for pid in recorded {
        assert!(!alive(pid), "node process {pid} outlived `testnet up`");
    }
    // The directory was generated and is reused next time.
    assert!(Layout::open(&dir).is_ok());
}

#[test]
fn bench_refuses_a_directory_without_a_testnet() {
    let dir = tempfile::tempdir().unwrap();
    let out = testnet_bin()
        .args([
            "bench",
            "--dir",
            dir.path().to_str().unwrap(),
            "--duration",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("genesis.json"), "{err}");
}
