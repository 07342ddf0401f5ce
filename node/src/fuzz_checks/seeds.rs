//! The seed corpus: a few valid inputs per target, so that the fuzzer starts from
//! inputs that get past the first checks of each decoder. `node/tests/fuzz_replay.rs`
//! writes them to `fuzz/corpus/` (`make fuzz-seeds`) and checks that each still
//! decodes.

use crate::api::types::{AccountInfo, ErrorDetail, SubmitResult, SubmittedMany};
use crate::card::ValidatorCard;
use crate::config::{NetworkSection, NodeConfig};
use crate::events::Event;
use crate::wire::{Certificate, CertifiedBlock, FetchRequest, FetchResponse, PeerMessage};
use consensus::{
    Batch, Checkpoint, Commit, Envelope, Message, NewView, PrePrepare, Prepare,
    PreparedCertificate, Recovery, ReplicaId, SeqNo, SignedMessage, SignedNewView, SignedRecovery,
    SignedUpdate, SignedViewChange, StableCheckpoint, Update, View, ViewChange,
};
use crypto::{sha256, BoundedString, BoundedVec, Canonical, SigningKey};
use ledger::{
    Address, Block, ChainId, ConsensusParams, Genesis, GenesisBalance, SignedTransaction,
    Transaction, TxKind, ValidatorInfo,
};

const CHAIN: &str = "seed-chain";

fn key(i: u8) -> SigningKey {
    SigningKey::from_seed([i + 1; 32])
}

fn bounded<T, const MAX: usize>(items: Vec<T>) -> BoundedVec<T, MAX> {
    BoundedVec::new(items).expect("seeds are small")
}

fn validator(i: u8) -> ValidatorInfo {
    ValidatorInfo {
        public_key: key(i).public_key(),
        p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 8100 + u16::from(i)))
            .expect("short"),
    }
}

fn txs() -> Vec<SignedTransaction> {
    let signer = key(9);
    let tx = |nonce, kind| {
        Transaction {
            chain_id: ChainId::new(CHAIN).expect("short"),
            signer: signer.public_key(),
            nonce,
            kind,
        }
        .sign(&signer)
    };
    vec![
        tx(
            0,
            TxKind::Transfer {
                to: Address::of(&key(8).public_key()),
                amount: 5,
            },
        ),
        tx(
            1,
            TxKind::AddValidator {
                validator: validator(4),
            },
        ),
        tx(
            2,
            TxKind::RemoveValidator {
                public_key: key(3).public_key(),
            },
        ),
    ]
}

fn block() -> Block {
    let txs = txs();
    Block::assemble(
        7,
        sha256(b"parent"),
        sha256(b"batch"),
        1_700_000_000_000,
        key(1).public_key(),
        txs,
        sha256(b"state"),
    )
}

fn batch() -> Batch {
    Batch {
        tx_hashes: bounded(txs().iter().map(SignedTransaction::hash).collect()),
        proposer: ReplicaId(1),
        timestamp_ms: 1_700_000_000_000,
    }
}

fn pre_prepare() -> Message {
    let batch = batch();
    Message::PrePrepare(PrePrepare {
        view: View(1),
        seq: SeqNo(7),
        digest: batch.digest(),
        batch,
        result: sha256(b"state"),
    })
}

fn signed(i: u8, message: &Message) -> SignedMessage {
    SignedMessage::sign(&key(i), CHAIN, ReplicaId(u32::from(i)), message)
}

fn commit(i: u8) -> SignedMessage {
    signed(
        i,
        &Message::Commit(Commit {
            view: View(1),
            seq: SeqNo(7),
            digest: batch().digest(),
            block_hash: block().hash(),
        }),
    )
}

fn certificate() -> Certificate {
    Certificate {
        view: 1,
        commits: bounded((0..3).map(commit).collect()),
    }
}

fn stable_checkpoint() -> StableCheckpoint {
    let checkpoint = Message::Checkpoint(Checkpoint {
        seq: SeqNo(10),
        block_hash: sha256(b"block 10"),
    });
    StableCheckpoint {
        seq: SeqNo(10),
        block_hash: sha256(b"block 10"),
        proof: bounded((0..3).map(|i| signed(i, &checkpoint)).collect()),
    }
}

fn view_change() -> ViewChange {
    let prepare = Message::Prepare(Prepare {
        view: View(1),
        seq: SeqNo(11),
        digest: batch().digest(),
    });
    ViewChange {
        new_view: View(2),
        checkpoint: Some(stable_checkpoint()),
        prepared: bounded(vec![PreparedCertificate {
            pre_prepare: signed(1, &pre_prepare()),
            prepares: bounded(vec![signed(2, &prepare), signed(3, &prepare)]),
        }]),
    }
}

fn new_view() -> NewView {
    NewView {
        view: View(2),
        view_changes: bounded(
            (0..3)
                .map(|i| {
                    SignedViewChange::sign(&key(i), CHAIN, ReplicaId(u32::from(i)), &view_change())
                })
                .collect(),
        ),
        pre_prepares: bounded(vec![signed(2, &pre_prepare())]),
    }
}

fn recovery() -> Recovery {
    Recovery::RecoveryResponse {
        round: 3,
        stable: Some(stable_checkpoint()),
        last_committed: SeqNo(12),
        last_block_hash: Some(sha256(b"block 12")),
    }
}

fn framed(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        out.extend_from_slice(frame);
    }
    out
}

fn with_family(family: u8, payload: Vec<u8>) -> Vec<u8> {
    let mut out = vec![family];
    out.extend(payload);
    out
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: ChainId::new(CHAIN).expect("short"),
        genesis_time_ms: 1_700_000_000_000,
        admin: key(7).public_key(),
        validators: bounded((0..4).map(validator).collect()),
        balances: bounded(vec![GenesisBalance {
            address: Address::of(&key(9).public_key()),
            balance: 1_000_000,
        }]),
        consensus: ConsensusParams::default(),
    }
}

/// Every seed, with the target it is for.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let hash = sha256(b"genesis");
    let prepare = signed(
        2,
        &Message::Prepare(Prepare {
            view: View(1),
            seq: SeqNo(7),
            digest: batch().digest(),
        }),
    );
    let peer = |m: PeerMessage| m.to_canonical_bytes();
    let consensus_frame = peer(PeerMessage::Consensus(Envelope::Message(prepare.clone())));
    let mut opener = hash.as_bytes().to_vec();
    opener.extend(framed(&[&consensus_frame, b""]));
    let mut acceptor = vec![crate::net::hello::STREAM_ACCEPTED];
    acceptor.extend_from_slice(hash.as_bytes());
    acceptor.extend(framed(&[&consensus_frame]));
    let request = FetchRequest::Blocks { from: 5, count: 10 }.to_canonical_bytes();
    let txs = txs();
    let tx_json = serde_json::to_string(&txs[0]).expect("JSON");
    let card = ValidatorCard::new(
        key(0).public_key(),
        "/ip4/127.0.0.1/tcp/8100".parse().expect("a multiaddr"),
    );
    let config = NodeConfig {
        p2p_external_addr: Some("/dns/val1.consortium.test/tcp/8100".into()),
        network: NetworkSection {
            peer_queue: 100,
            ..NetworkSection::default()
        },
        ..NodeConfig::default()
    };
    vec![
        ("frames", opener),
        ("frames", acceptor),
        ("frames", framed(&[&request])),
        ("peer_message", consensus_frame),
        ("peer_message", peer(PeerMessage::Txs(bounded(txs.clone())))),
        (
            "peer_message",
            peer(PeerMessage::Consensus(Envelope::ViewChange(
                SignedViewChange::sign(&key(0), CHAIN, ReplicaId(0), &view_change()),
            ))),
        ),
        (
            "peer_message",
            peer(PeerMessage::Consensus(Envelope::NewView(
                SignedNewView::sign(&key(2), CHAIN, ReplicaId(2), &new_view()),
            ))),
        ),
        (
            "peer_message",
            peer(PeerMessage::Consensus(Envelope::Recovery(
                SignedRecovery::sign(
                    &key(1),
                    CHAIN,
                    ReplicaId(1),
                    &Recovery::NegotiateView { round: 4 },
                ),
            ))),
        ),
        (
            "peer_message",
            peer(PeerMessage::Consensus(Envelope::Update(
                SignedUpdate::sign(
                    &key(1),
                    CHAIN,
                    ReplicaId(1),
                    &Update::AddNode {
                        joiner: ReplicaId(4),
                        authorized_at: SeqNo(20),
                    },
                ),
            ))),
        ),
        (
            "consensus_payload",
            with_family(0, pre_prepare().to_canonical_bytes()),
        ),
        (
            "consensus_payload",
            with_family(0, commit(1).payload.to_vec()),
        ),
        (
            "consensus_payload",
            with_family(1, view_change().to_canonical_bytes()),
        ),
        (
            "consensus_payload",
            with_family(2, new_view().to_canonical_bytes()),
        ),
        (
            "consensus_payload",
            with_family(3, recovery().to_canonical_bytes()),
        ),
        (
            "consensus_payload",
            with_family(
                4,
                Update::FinishUpdate {
                    switch: SeqNo(30),
                    view: View(3),
                }
                .to_canonical_bytes(),
            ),
        ),
        (
            "fetch_request",
            FetchRequest::Txs(bounded(vec![sha256(b"a"), sha256(b"b")])).to_canonical_bytes(),
        ),
        ("fetch_request", request),
        (
            "fetch_request",
            FetchRequest::StableCheckpoint.to_canonical_bytes(),
        ),
        (
            "fetch_response",
            FetchResponse::Txs(bounded(txs.clone())).to_canonical_bytes(),
        ),
        (
            "fetch_response",
            FetchResponse::Blocks(bounded(vec![CertifiedBlock {
                block: block(),
                certificate: certificate(),
            }]))
            .to_canonical_bytes(),
        ),
        (
            "fetch_response",
            FetchResponse::StableCheckpoint(Some(stable_checkpoint())).to_canonical_bytes(),
        ),
        ("fetch_response", FetchResponse::Busy.to_canonical_bytes()),
        ("transaction", txs[0].to_canonical_bytes()),
        ("transaction", txs[1].to_canonical_bytes()),
        ("transaction", txs[2].to_canonical_bytes()),
        ("block", block().to_canonical_bytes()),
        ("block", block().header.to_canonical_bytes()),
        ("block", certificate().to_canonical_bytes()),
        ("submit_body", tx_json.into_bytes()),
        (
            "submit_body",
            serde_json::to_vec_pretty(&txs).expect("JSON"),
        ),
        (
            "api_answer",
            json(&SubmittedMany {
                accepted: 1,
                rejected: 1,
                results: vec![
                    SubmitResult {
                        hash: txs[0].hash(),
                        error: None,
                    },
                    SubmitResult {
                        hash: txs[1].hash(),
                        error: Some(ErrorDetail {
                            code: "stale_nonce".into(),
                            message: "nonce 1 is below 2".into(),
                        }),
                    },
                ],
            }),
        ),
        (
            "api_answer",
            json(&AccountInfo {
                address: Address::of(&key(9).public_key()),
                balance: 995,
                nonce: 1,
                pending_nonce: 2,
            }),
        ),
        (
            "api_answer",
            json(&Event::Membership {
                height: 40,
                validators: (0..4).map(|i| key(i).public_key()).collect(),
            }),
        ),
        (
            "api_answer",
            json(&Event::Block {
                height: 7,
                hash: block().hash(),
                tx_count: 3,
                view: 1,
            }),
        ),
        ("config", config.to_toml().into_bytes()),
        (
            "config",
            b"log = \"debug\"\n[api]\nmax_connections = 64\n".to_vec(),
        ),
        ("genesis", genesis().to_json().into_bytes()),
        ("card", card.to_json().into_bytes()),
    ]
}
