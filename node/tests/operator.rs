//! The operator's commands with the real binary and real files: `rbft init`, `rbft
//! genesis build | check`, and `rbft start`'s checks before it writes anything. Each
//! bad input gets an error naming the field or the file, and leaves nothing behind.
//! The network they build is started in `testnet/tests/operators.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn rbft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(args)
        .output()
        .expect("the rbft binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// `rbft init` of `home` listening on 127.0.0.1:`port`; returns the card's path.
fn init(home: &Path, port: u16) -> PathBuf {
    ok(rbft(&[
        "init",
        "--home",
        path(home),
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--api",
        &format!("127.0.0.1:{}", port + 1000),
    ]));
    home.join("validator_card.json")
}

fn admin_key(dir: &Path) -> String {
    let key = dir.join("admin.key");
    ok(rbft(&["keygen", "--out", path(&key)]));
    let out = ok(rbft(&["address", "--key", path(&key), "--json"]));
    json(&out)["public_key"].as_str().unwrap().to_owned()
}

/// `rbft genesis build` from `cards` into `out`.
fn build(cards: &[PathBuf], admin: &str, out: &Path) -> Output {
    let mut args = vec![
        "genesis".to_owned(),
        "build".into(),
        "--json".into(),
        "--chain-id".into(),
        "consortium".into(),
        "--admin".into(),
        admin.into(),
        "--fund".into(),
        format!("{}=1000", "ab".repeat(20)),
        "--genesis-time-ms".into(),
        "1700000000000".into(),
        "--out".into(),
        path(out).into(),
    ];
    for card in cards {
        args.push("--card".into());
        args.push(path(card).into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    rbft(&args)
}

#[test]
fn init_writes_a_private_key_a_config_and_the_card_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let out = ok(rbft(&[
        "init",
        "--home",
        path(&home),
        "--listen",
        "0.0.0.0:8100",
        "--external-address",
        "node1.example.org",
    ]));
    let card = json(&out);
    assert_eq!(card["p2p_addr"], "/dns/node1.example.org/tcp/8100");
    let key = crypto::keyfile::read_key_file(&home.join("node.key")).unwrap();
    assert_eq!(card["public_key"], key.public_key().to_string());
    assert!(card["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("validator_card.json")).unwrap())
            .unwrap();
    assert_eq!(written, card, "the file holds what was printed");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(home.join("node.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    let config = node::config::NodeConfig::parse(&config).unwrap();
    assert_eq!(config.p2p_listen, "/ip4/0.0.0.0/tcp/8100");
    assert_eq!(config.api_addr.to_string(), "127.0.0.1:8000");

    // Again on the same home: refused, and the key is the same.
    let again = rbft(&["init", "--home", path(&home), "--listen", "127.0.0.1:9"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let after = crypto::keyfile::read_key_file(&home.join("node.key")).unwrap();
    assert_eq!(after.seed(), key.seed());
}

#[test]
fn init_with_a_bad_address_names_the_option_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("node");
    let runs: [(&[&str], &str); 4] = [
        (&["--listen", "not-an-address"], "--listen"),
        (&["--listen", "0.0.0.0:8100"], "--external-address"),
        (
            &[
                "--listen",
                "127.0.0.1:8100",
                "--external-address",
                "bad host:1",
            ],
            "--external-address",
        ),
        (&["--listen", "127.0.0.1:8100", "--api", "8000"], "--api"),
    ];
    for (options, field) in runs {
        let mut args = vec!["init", "--home", path(&home)];
        args.extend_from_slice(options);
        let out = rbft(&args);
        assert!(!out.status.success(), "{options:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("rbft: ") && err.contains(field),
            "{options:?}: {err}"
        );
        assert!(!home.exists(), "{options:?}: nothing written");
    }
}

#[test]
fn genesis_build_and_check_agree_on_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let cards: Vec<PathBuf> = (0..4)
        .map(|i| init(&dir.path().join(format!("node{i}")), 7100 + i))
        .collect();
    let admin = admin_key(dir.path());
    let genesis = dir.path().join("genesis.json");
    let built = json(&ok(build(&cards, &admin, &genesis)));
    let hash = built["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    assert_eq!(built["validators"].as_array().unwrap().len(), 4);
    assert_eq!(
        built["validators"][2]["p2p_addr"],
        "/ip4/127.0.0.1/tcp/7102"
    );
    let loaded = ledger::Genesis::load(&genesis).unwrap();
    assert_eq!(loaded.hash().to_string(), hash);

    let checked = json(&ok(rbft(&["genesis", "check", "--json", path(&genesis)])));
    assert_eq!(checked["hash"], hash.as_str());
    ok(rbft(&[
        "genesis",
        "check",
        path(&genesis),
        "--expect",
        &hash,
    ]));
    let wrong = rbft(&[
        "genesis",
        "check",
        path(&genesis),
        "--expect",
        &"0".repeat(64),
    ]);
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains(&hash), "{}", stderr(&wrong));

    // The file is never replaced.
    let again = build(&cards, &admin, &genesis);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--out"), "{}", stderr(&again));
}

#[test]
fn genesis_build_refuses_bad_cards_naming_them_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cards: Vec<PathBuf> = (0..4)
        .map(|i| init(&dir.path().join(format!("node{i}")), 7200 + i))
        .collect();
    let admin = admin_key(dir.path());
    let out = dir.path().join("genesis.json");
    let edited = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut card: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&cards[3]).unwrap()).unwrap();
        edit(&mut card);
        let file = dir.path().join(name);
        std::fs::write(&file, card.to_string()).unwrap();
        file
    };
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "{\"public_key\": ").unwrap();
    let bad_key = edited("bad_key.json", &|c| c["public_key"] = "1234".into());
    let bad_addr = edited("bad_addr.json", &|c| c["p2p_addr"] = "127.0.0.1".into());
    let same_key = edited("same_key.json", &|c| {
        c["p2p_addr"] = "/ip4/127.0.0.9/tcp/1".into();
    });
    let three = cards[..3].to_vec();
    let with = |last: &PathBuf| {
        let mut list = cards[..3].to_vec();
        list.push(last.clone());
        list
    };
    let runs: [(Vec<PathBuf>, &[&str]); 5] = [
        (
            with(&malformed),
            &["malformed.json", "not a validator card"],
        ),
        (with(&bad_key), &["bad_key.json", "public_key"]),
        (with(&bad_addr), &["bad_addr.json", "p2p_addr"]),
        (
            [cards.clone(), vec![same_key]].concat(),
            &[
                "same_key.json",
                "node3/validator_card.json",
                "same public_key",
            ],
        ),
        (three, &["3 validator cards", "at least 4"]),
    ];
    for (list, expected) in runs {
        let run = build(&list, &admin, &out);
        assert!(!run.status.success(), "{expected:?}");
        let err = stderr(&run);
        for text in expected {
            assert!(err.contains(text), "{text}: {err}");
        }
        assert!(!out.exists(), "{expected:?}: no genesis written");
    }
    // With the good cards it works, so the refusals above were the cards' fault.
    ok(build(&cards, &admin, &out));
}

/// A home whose config listens where `edit` says, with a valid genesis.
fn home_listening(dir: &Path, edit: impl Fn(&mut toml::Table)) -> PathBuf {
    let cards: Vec<PathBuf> = (0..4)
        .map(|i| init(&dir.join(format!("node{i}")), 7300 + i))
        .collect();
    let admin = admin_key(dir);
    let genesis = dir.join("genesis.json");
    ok(build(&cards, &admin, &genesis));
    let home = dir.join("node0");
    std::fs::copy(&genesis, home.join("genesis.json")).unwrap();
    let config_path = home.join("config.toml");
    let mut config: toml::Table = std::fs::read_to_string(&config_path)
        .unwrap()
        .parse()
        .unwrap();
    edit(&mut config);
    std::fs::write(&config_path, config.to_string()).unwrap();
    home
}

/// `rbft start` that must fail at once; returns its stderr.
fn start_fails(home: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(["start", "--home", path(home)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("rbft start kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    stderr(&out)
}

#[test]
fn start_refuses_an_address_this_machine_does_not_have_before_writing() {
    // 192.0.2.0/24 is reserved for documentation: no machine has it.
    let cases: [(&str, &str); 2] = [
        ("p2p_listen", "/ip4/192.0.2.1/tcp/7399"),
        ("api_addr", "192.0.2.1:7398"),
    ];
    for (field, addr) in cases {
        let dir = tempfile::tempdir().unwrap();
        let home = home_listening(dir.path(), |config| {
            config.insert(field.into(), addr.into());
        });
        let err = start_fails(&home);
        assert!(err.contains(field), "{field}: {err}");
        assert!(err.contains("no such address"), "{field}: {err}");
        assert!(!home.join("data").exists(), "{field}: no data directory");
    }
}

#[test]
fn start_refuses_a_listen_address_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let home = home_listening(dir.path(), |config| {
        config.insert("p2p_listen".into(), "/ip4/127.0.0.1/udp/7".into());
    });
    let err = start_fails(&home);
    assert!(err.contains("config.toml: p2p_listen"), "{err}");
    assert!(!home.join("data").exists());
}
