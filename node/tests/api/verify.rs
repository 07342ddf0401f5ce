//! `rbft block verify` (issue 19) against a node's API on a real socket: a chain
//! that goes through a membership change verifies block by block from the genesis
//! file, and each tampering fails with its reason.
//!
//! Bad certificates come from the node itself where it can serve them: the store
//! keeps whatever certificate it is given, so the test commits blocks whose
//! certificates repeat a signer, lack the quorum, carry a COMMIT over another
//! block, a forged signature, or a signer from the wrong height's set. What a
//! node cannot serve (its store refuses a block with a wrong parent or a body
//! that does not match its header, and its API answers 500 for a signer outside
//! the roster) is tampered with in transit, by a [`Source`] wrapping the real
//! client: the smallest "fake server" there is.

use super::*;
use node::api::types::CommitInfo;
use node::client::{Client, ClientError};
use node::driver::transfer::BadBlocks;
use node::verify::{verify, Source, Verified, VerifyError};
use std::process::{Command, Output};

/// Serves `node`'s API on a fresh port until the test ends; returns its URL.
async fn serve(node: &Node) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(node::api::serve(
        Arc::clone(&node.shared),
        listener,
        std::future::pending(),
    ));
    url
}

fn genesis_file(node: &Node, dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("genesis.json");
    std::fs::write(&path, node.shared.genesis.to_json()).unwrap();
    path.to_str().unwrap().to_owned()
}

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

fn verify_args(height: u64, genesis: &str, url: &str, json: bool) -> Vec<String> {
    let mut args: Vec<String> = ["block", "verify", &height.to_string(), "--genesis", genesis]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--node".to_owned(), url.to_owned()]);
    if json {
        args.push("--json".to_owned());
    }
    args
}

/// Runs the library's verify against `source` off the async threads.
async fn verify_with<S: Source + Send + 'static>(
    genesis: Genesis,
    source: S,
    height: u64,
) -> Result<Verified, VerifyError> {
    tokio::task::spawn_blocking(move || verify(&genesis, &source, height))
        .await
        .unwrap()
}

const NEWCOMER_SEED: [u8; 32] = [77; 32];

/// Commits block 1 holding the admin's AddValidator of the newcomer (roster id
/// 4). With K = 10 and L = 40 the five order from height 51 on.
fn add_newcomer(node: &Node) -> Block {
    let admin = SigningKey::from_seed([200; 32]);
    let add = Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: admin.public_key(),
        nonce: 0,
        kind: TxKind::AddValidator {
            validator: ValidatorInfo {
                public_key: SigningKey::from_seed(NEWCOMER_SEED).public_key(),
                p2p_addr: BoundedString::new("/ip4/127.0.0.1/tcp/8104").unwrap(),
            },
        },
    }
    .sign(&admin);
    node.commit(vec![add])
}

/// Every block verifies, across the change; the set at the height is the one the
/// genesis and the change make, and the report says so (text and JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_verifies_across_a_membership_change() {
    let node = node();
    let newcomer = SigningKey::from_seed(NEWCOMER_SEED);
    add_newcomer(&node);
    node.commit(vec![node.pay(5, 0), node.pay(6, 1)]);
    for height in 3..=52u64 {
        node.commit_with(vec![], |block| {
            let v = &node.validators;
            if height <= 50 {
                certificate(block, &[(0, &v[0]), (1, &v[1]), (3, &v[3])])
            } else {
                certificate(block, &[(0, &v[0]), (1, &v[1]), (2, &v[2]), (4, &newcomer)])
            }
        });
    }
    let url = serve(&node).await;
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis_file(&node, &dir);

    let out = rbft(verify_args(52, &genesis, &url, false)).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "block 52 verifies",
        "blocks 1 to 51 checked",
        "changes followed at heights 1",
        "replicas 0, 1, 2, 3, 4 (from height 51), quorum 4",
        "COMMITs of replicas 0, 1, 2, 4",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }

    let out = rbft(verify_args(50, &genesis, &url, true)).await;
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["height"], 50);
    assert_eq!(report["members"], json!([0, 1, 2, 3]));
    assert_eq!(report["quorum"], 3);
    assert_eq!(report["signers"], json!([0, 1, 3]));
    assert_eq!(report["membership_changes"], json!([1]));

    // Block 2 holds transfers: its root and their signatures are checked.
    let checked = verify_with(node.shared.genesis.clone(), Client::new(&url), 2)
        .await
        .unwrap();
    assert_eq!((checked.tx_count, checked.view), (2, Some(0)));
    let genesis_only = verify_with(node.shared.genesis.clone(), Client::new(&url), 0)
        .await
        .unwrap();
    assert_eq!(genesis_only.signers, Vec::<u32>::new());

    // A height the node does not have is named as such.
    let out = rbft(verify_args(53, &genesis, &url, false)).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success() && err.contains("fetching block 53"),
        "{err}"
    );
}

/// A node whose block 2 carries the certificate `certify` makes (block 1, a
/// transfer, is certified by 0, 1, 2), served on a socket.
async fn node_with_block_2(
    certify: impl FnOnce(&Node, &Block, &Block) -> Certificate,
) -> (Node, String) {
    let node = node();
    let b1 = node.commit(vec![node.pay(1, 0)]);
    node.commit_with(vec![node.pay(2, 1)], |b2| certify(&node, &b1, b2));
    let url = serve(&node).await;
    (node, url)
}

/// Certificates a node really serves, each refused with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_certificate_a_node_serves_is_refused_with_its_reason() {
    type Certify = fn(&Node, &Block, &Block) -> Certificate;
    let cases: Vec<(&str, Certify, BadBlocks)> = vec![
        (
            "a duplicated signer",
            |n, _, b| {
                let v = &n.validators;
                certificate(b, &[(0, &v[0]), (1, &v[1]), (1, &v[1]), (2, &v[2])])
            },
            BadBlocks::DuplicateSigner {
                height: 2,
                replica: 1,
            },
        ),
        (
            "too few signers",
            |n, _, b| certificate(b, &[(0, &n.validators[0]), (1, &n.validators[1])]),
            BadBlocks::TooFewSigners {
                height: 2,
                signers: 2,
                quorum: 3,
            },
        ),
        (
            "a signature over another block",
            |n, b1, b2| {
                let v = &n.validators;
                let mut c = certificate(b2, &[(0, &v[0]), (1, &v[1])]);
                let mut commits = c.commits.into_inner();
                commits.push(commit_of(b1, 2, &v[2]));
                c.commits = BoundedVec::new(commits).unwrap();
                c
            },
            BadBlocks::OtherBlock {
                height: 2,
                replica: 2,
            },
        ),
        (
            "a forged signature",
            |n, _, b| {
                let stranger = SigningKey::from_seed([99; 32]);
                let v = &n.validators;
                certificate(b, &[(0, &v[0]), (1, &v[1]), (2, &stranger)])
            },
            BadBlocks::BadCommitSignature {
                height: 2,
                replica: 2,
            },
        ),
    ];
    for (name, certify, expected) in cases {
        let (node, url) = node_with_block_2(certify).await;
        let refused = verify_with(node.shared.genesis.clone(), Client::new(&url), 2).await;
        match refused {
            Err(VerifyError::Refused(bad)) => assert_eq!(bad, expected, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        // Block 1 below it still verifies.
        verify_with(node.shared.genesis.clone(), Client::new(&url), 1)
            .await
            .unwrap_or_else(|e| panic!("{name}: block 1: {e}"));
    }
}

/// The newcomer is on the roster from block 1 but orders only from height 51: its
/// COMMIT at height 2 is a signer outside the set of that height. The command
/// fails, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_from_the_set_of_another_height_is_refused_by_the_command() {
    let node = node();
    add_newcomer(&node);
    let newcomer = SigningKey::from_seed(NEWCOMER_SEED);
    node.commit_with(vec![node.pay(1, 0)], |b| {
        let v = &node.validators;
        certificate(b, &[(0, &v[0]), (1, &v[1]), (4, &newcomer)])
    });
    let url = serve(&node).await;
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis_file(&node, &dir);
    let out = rbft(verify_args(2, &genesis, &url, false)).await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("does NOT verify")
            && err.contains("replica 4 signs its certificate but is not in the validator set that orders height 2"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    // Block 1, certified by the genesis set, verifies.
    let out = rbft(verify_args(1, &genesis, &url, false)).await;
    assert!(out.status.success());
}

/// A genesis file of another chain: the node's block 0 is not the file's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_genesis_is_refused() {
    let node = node();
    node.commit(vec![node.pay(1, 0)]);
    let url = serve(&node).await;
    let mut other = node.shared.genesis.clone();
    other.genesis_time_ms += 1;
    let refused = verify_with(other, Client::new(&url), 1).await;
    assert!(
        matches!(refused, Err(VerifyError::OtherGenesis { .. })),
        "{refused:?}"
    );
    // A genesis whose validator set is no set (a key twice) is refused before
    // anything is fetched (`Genesis::load` refuses such a file already).
    let mut twice = node.shared.genesis.clone();
    twice.validators[1] = twice.validators[0].clone();
    let refused = verify_with(twice, Client::new("http://127.0.0.1:1"), 1).await;
    assert!(
        matches!(refused, Err(VerifyError::BadGenesis(_))),
        "{refused:?}"
    );
}

/// What a node served, altered in transit at one height.
struct Tampered {
    client: Client,
    height: u64,
    block: fn(&mut BlockInfo),
    commit: fn(&mut CommitInfo),
}

impl Source for Tampered {
    fn block(&self, height: u64) -> Result<BlockInfo, ClientError> {
        let mut info = self.client.block(&height.to_string())?;
        if height == self.height {
            (self.block)(&mut info);
        }
        Ok(info)
    }

    fn commit(&self, height: u64) -> Result<CommitInfo, ClientError> {
        let mut info = self.client.commit(height)?;
        if height == self.height {
            (self.commit)(&mut info);
        }
        Ok(info)
    }
}

/// Gives a tampered block the hash of its tampered header, so that only the
/// tampering itself is wrong.
fn rehash(info: &mut BlockInfo) {
    info.hash = node::verify::decode::block_of(info.clone()).unwrap().hash();
}

/// What a node's store would refuse to hold, served anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tampering_in_transit_is_refused_with_its_reason() {
    let node = node();
    node.commit(vec![node.pay(1, 0)]);
    node.commit(vec![node.pay(2, 1), node.pay(3, 2)]);
    node.commit(vec![]);
    let url = serve(&node).await;
    let keep_block: fn(&mut BlockInfo) = |_| {};
    let keep_commit: fn(&mut CommitInfo) = |_| {};
    type Expect = fn(&VerifyError) -> bool;
    type Case = (
        &'static str,
        fn(&mut BlockInfo),
        fn(&mut CommitInfo),
        Expect,
    );
    let cases: Vec<Case> = vec![
        (
            "a wrong parent",
            |b| {
                b.parent = crypto::sha256(b"a fork");
                rehash(b);
            },
            keep_commit,
            |e| {
                matches!(
                    e,
                    VerifyError::Refused(BadBlocks::BrokenChain { height: 2 })
                )
            },
        ),
        (
            "a transaction left out (the root does not match)",
            |b| {
                b.transactions.pop();
                rehash(b);
            },
            keep_commit,
            |e| {
                matches!(
                    e,
                    VerifyError::Refused(BadBlocks::BodyMismatch { height: 2 })
                )
            },
        ),
        (
            "another height",
            |b| b.height = 7,
            keep_commit,
            |e| {
                matches!(
                    e,
                    VerifyError::WrongHeight {
                        asked: 2,
                        served: 7
                    }
                )
            },
        ),
        (
            "a forged transaction under a matching root",
            |b| {
                b.transactions[0].signature.0[9] ^= 1;
                let block = node::verify::decode::block_of(b.clone()).unwrap();
                b.tx_root = crypto::merkle_root(&block.tx_hashes());
                rehash(b);
            },
            keep_commit,
            |e| {
                matches!(
                    e,
                    VerifyError::Refused(BadBlocks::BadTxSignature { height: 2 })
                )
            },
        ),
        (
            "a hash that is not the header's",
            |b| b.hash = Hash::ZERO,
            keep_commit,
            |e| matches!(e, VerifyError::WrongHash { height: 2, .. }),
        ),
        (
            "a signer outside the roster",
            keep_block,
            |c| c.signatures[0].replica = 9,
            |e| {
                matches!(
                    e,
                    VerifyError::Refused(BadBlocks::NotAMember {
                        height: 2,
                        replica: 9
                    })
                )
            },
        ),
        (
            "the certificate of another block",
            keep_block,
            |c| c.block_hash = Hash::ZERO,
            |e| matches!(e, VerifyError::CertificateOfOtherBlock { height: 2, .. }),
        ),
        (
            "a payload that is not hex",
            keep_block,
            |c| c.signatures[1].payload = "zz".to_owned(),
            |e| matches!(e, VerifyError::Undecodable { height: 2, .. }),
        ),
    ];
    for (name, block, commit, expected) in cases {
        let source = Tampered {
            client: Client::new(&url),
            height: 2,
            block,
            commit,
        };
        let refused = verify_with(node.shared.genesis.clone(), source, 3).await;
        match &refused {
            Err(e) if expected(e) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    // Untouched, the same chain verifies.
    let source = Tampered {
        client: Client::new(&url),
        height: 2,
        block: keep_block,
        commit: keep_commit,
    };
    verify_with(node.shared.genesis.clone(), source, 3)
        .await
        .unwrap();
}

/// A node whose blocks 1..=10 are committed and whose stable checkpoint at 10
/// is proven by the CHECKPOINTs of `signers` for `block_hash` (block 10's when
/// `None`); served on a socket.
async fn node_with_checkpoint(signers: &[usize], block_hash: Option<Hash>) -> (Node, String) {
    let node = node();
    let mut last = None;
    for nonce in 0..10 {
        last = Some(node.commit(vec![node.pay(1, nonce)]));
    }
    let block_hash = block_hash.unwrap_or_else(|| last.expect("ten blocks").hash());
    let checkpoint = Message::Checkpoint(consensus::Checkpoint {
        seq: SeqNo(10),
        block_hash,
    });
    let proof = signers
        .iter()
        .map(|&i| SignedMessage::sign(&node.validators[i], CHAIN, ReplicaId(i as u32), &checkpoint))
        .collect();
    *node.shared.stable_checkpoint.write().unwrap() = Some(consensus::StableCheckpoint {
        seq: SeqNo(10),
        block_hash,
        proof: BoundedVec::new(proof).unwrap(),
    });
    let url = serve(&node).await;
    (node, url)
}

async fn verify_latest_checkpoint(node: &Node, url: &str) -> Result<Verified, VerifyError> {
    let genesis = node.shared.genesis.clone();
    let client = Client::new(url);
    tokio::task::spawn_blocking(move || {
        let info = client.latest_checkpoint().unwrap();
        node::verify::verify_checkpoint(&genesis, &client, &info)
    })
    .await
    .unwrap()
}

/// `GET /checkpoints/latest` is checked the same way as a block: its block from
/// the genesis, then its signed CHECKPOINTs by the set of its height.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_checkpoint_verifies_with_its_proof() {
    let (node, url) = node_with_checkpoint(&[0, 2, 3], None).await;
    let verified = verify_latest_checkpoint(&node, &url).await.unwrap();
    assert_eq!((verified.height, verified.quorum), (10, 3));
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis_file(&node, &dir);
    let out = rbft(
        [
            "block",
            "verify",
            "--checkpoint",
            "--genesis",
            &genesis,
            "--node",
            &url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("block 10 verifies") && stdout.contains("proven by a quorum (3)"),
        "{stdout}"
    );

    // Before any checkpoint is stable the node serves the genesis: it verifies.
    let fresh = super::node();
    let fresh_url = serve(&fresh).await;
    let verified = verify_latest_checkpoint(&fresh, &fresh_url).await.unwrap();
    assert_eq!(verified.height, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_without_its_proof_or_of_another_block_is_refused() {
    let (node, url) = node_with_checkpoint(&[0, 2], None).await;
    let refused = verify_latest_checkpoint(&node, &url).await;
    assert!(
        matches!(
            &refused,
            Err(VerifyError::UnprovenCheckpoint { height: 10, signers, quorum: 3, .. })
                if signers == &[0, 2]
        ),
        "{refused:?}"
    );
    // A signer twice pads nothing.
    let (node, url) = node_with_checkpoint(&[0, 2, 2], None).await;
    let refused = verify_latest_checkpoint(&node, &url).await;
    assert!(
        matches!(refused, Err(VerifyError::UnprovenCheckpoint { .. })),
        "{refused:?}"
    );
    let (node, url) = node_with_checkpoint(&[0, 1, 2], Some(crypto::sha256(b"elsewhere"))).await;
    let refused = verify_latest_checkpoint(&node, &url).await;
    assert!(
        matches!(
            refused,
            Err(VerifyError::CheckpointOfOtherBlock { height: 10, .. })
        ),
        "{refused:?}"
    );
}
