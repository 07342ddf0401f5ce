//! `rbft keygen` end to end: the real binary, a real file.

use std::process::Command;

#[test]
fn keygen_writes_a_key_whose_printed_identity_matches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client.key");
    let output = Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(["keygen", "--json", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let key = crypto::keyfile::read_key_file(&path).unwrap();
    assert_eq!(printed["public_key"], key.public_key().to_string());
    assert_eq!(
        printed["address"],
        ledger::Address::of(&key.public_key()).to_string()
    );

    // A second run refuses to overwrite the key and says why.
    let again = Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(["keygen", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        crypto::keyfile::read_key_file(&path).unwrap().seed(),
        key.seed()
    );
}

#[test]
fn address_prints_the_address_of_a_key_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    let key = crypto::SigningKey::from_seed([7; 32]);
    crypto::keyfile::write_key_file(&path, &key).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(["address", "--key"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        ledger::Address::of(&key.public_key()).to_string()
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_rbft"))
        .args(["address", "--key"])
        .arg(dir.path().join("nope.key"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.key"));
}
