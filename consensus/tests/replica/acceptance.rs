//! DESIGN.md section 3 steps 2, 3 and 5 and section 4: every refusal, with its typed
//! reason, for a backup (replica 2 of 4; the primary of view 0 is replica 0).

use crate::harness::*;
use consensus::{
    Batch, Fault, IgnoreReason, Message, MessageKind, PersistEntry, PrePrepare, ReplicaId, SeqNo,
    Target, View,
};
use crypto::{BoundedVec, Hash};

const N: usize = 4;
const ME: u32 = 2;

struct Case {
    name: &'static str,
    /// Messages that must be accepted first.
    setup: Vec<consensus::SignedMessage>,
    message: consensus::SignedMessage,
    expected: IgnoreReason,
    /// Whether the refusal is also evidence of a fault.
    fault: Option<fn(&Fault) -> bool>,
}

fn pp(seq: u64, timestamp_ms: u64, txs: &[u64]) -> consensus::SignedMessage {
    pre_prepare(N, 0, 0, seq, batch(0, timestamp_ms, txs), Hash([9; 32]))
}

fn d(txs: &[u64]) -> Hash {
    batch(0, 0, txs).digest()
}

fn run(cases: Vec<Case>) {
    for case in cases {
        let mut replica = replica(N, ME);
        for (i, setup) in case.setup.iter().enumerate() {
            let ready = feed(&mut replica, setup);
            assert!(
                ready.ignored.is_empty(),
                "{}: setup {i} refused: {:?}",
                case.name,
                ready.ignored
            );
        }
        let ready = feed(&mut replica, &case.message);
        assert_eq!(
            reasons(&ready),
            vec![case.expected.clone()],
            "{}",
            case.name
        );
        // A refusal signs no vote; one that proves the primary misbehaved starts a
        // view change, whose VIEW-CHANGE is all that is persisted and sent.
        assert!(
            ready
                .then_send
                .iter()
                .all(|out| matches!(out.message, consensus::Envelope::ViewChange(_))),
            "{}: a refused message causes no vote",
            case.name
        );
        assert!(
            ready
                .persist
                .iter()
                .all(|entry| matches!(entry, PersistEntry::ViewChange(_))),
            "{}: nothing but a view change persisted",
            case.name
        );
        let changed = !ready.view_changes.is_empty();
        let primary_fault = ready.faults.iter().any(|f| {
            matches!(
                f,
                Fault::EquivocatingPrimary { .. } | Fault::MalformedPrePrepare { .. }
            )
        });
        assert_eq!(
            changed, primary_fault,
            "{}: view change iff the primary is proven faulty",
            case.name
        );
        match case.fault {
            Some(is_expected) => {
                assert_eq!(ready.faults.len(), 1, "{}", case.name);
                assert!(
                    is_expected(&ready.faults[0]),
                    "{}: {:?}",
                    case.name,
                    ready.faults
                );
            }
            None => assert!(ready.faults.is_empty(), "{}: {:?}", case.name, ready.faults),
        }
    }
}

/// DESIGN.md section 3 step 2 (PBFT paper section 4.2, pre-prepare acceptance).
#[test]
fn pre_prepare_refusals() {
    let bad_digest = {
        let batch = batch(0, 0, &[1]);
        sign(
            N,
            0,
            Message::PrePrepare(PrePrepare {
                view: View(0),
                seq: SeqNo(1),
                digest: Hash([1; 32]),
                batch,
                result: Hash::ZERO,
            }),
        )
    };
    let window = IgnoreReason::OutsideWindow {
        low: SeqNo(0),
        high: SeqNo(L),
    };
    run(vec![
        Case {
            name: "signed by the primary of v",
            setup: vec![],
            message: pre_prepare(N, 1, 0, 1, batch(0, 0, &[1]), Hash::ZERO),
            expected: IgnoreReason::NotFromPrimary {
                primary: ReplicaId(0),
            },
            fault: None,
        },
        Case {
            name: "in view v",
            setup: vec![],
            message: pre_prepare(N, 1, 1, 1, batch(1, 0, &[1]), Hash::ZERO),
            expected: IgnoreReason::WrongView {
                view: View(1),
                current: View(0),
            },
            fault: None,
        },
        Case {
            name: "h < n",
            setup: vec![],
            message: pp(0, 0, &[1]),
            expected: window.clone(),
            fault: None,
        },
        Case {
            name: "n <= H",
            setup: vec![],
            message: pp(L + 1, 0, &[1]),
            expected: window,
            fault: None,
        },
        Case {
            name: "d is the batch digest",
            setup: vec![],
            message: bad_digest,
            expected: IgnoreReason::DigestMismatch { computed: d(&[1]) },
            fault: Some(|f| matches!(f, Fault::MalformedPrePrepare { seq: SeqNo(1), .. })),
        },
        Case {
            name: "batch within batch_max_txs",
            setup: vec![],
            message: pp(1, 0, &[1, 2, 3, 4, 5]),
            expected: IgnoreReason::TooManyTxs {
                txs: 5,
                max: BATCH_MAX_TXS,
            },
            fault: Some(|f| matches!(f, Fault::MalformedPrePrepare { seq: SeqNo(1), .. })),
        },
        Case {
            name: "batch well formed",
            setup: vec![],
            message: pp(1, 0, &[7, 7]),
            expected: IgnoreReason::DuplicateTx,
            fault: Some(|f| matches!(f, Fault::MalformedPrePrepare { seq: SeqNo(1), .. })),
        },
        Case {
            name: "proposer is the primary",
            setup: vec![],
            message: pre_prepare(N, 0, 0, 1, batch(3, 0, &[1]), Hash::ZERO),
            expected: IgnoreReason::WrongProposer {
                proposer: ReplicaId(3),
                primary: ReplicaId(0),
            },
            fault: Some(|f| matches!(f, Fault::MalformedPrePrepare { seq: SeqNo(1), .. })),
        },
        Case {
            name: "timestamp within max_clock_drift",
            setup: vec![],
            message: pp(1, 5_001, &[1]),
            expected: IgnoreReason::TimestampTooFarAhead {
                timestamp_ms: 5_001,
                now_ms: 0,
            },
            fault: None,
        },
        Case {
            name: "timestamp does not go back",
            setup: vec![pp(1, 100, &[1])],
            message: pp(2, 50, &[2]),
            expected: IgnoreReason::TimestampBeforePrevious {
                timestamp_ms: 50,
                previous_ms: 100,
            },
            fault: None,
        },
        Case {
            name: "timestamp not after a higher height's",
            setup: vec![pp(3, 100, &[1])],
            message: pp(2, 200, &[2]),
            expected: IgnoreReason::TimestampAfterNext {
                timestamp_ms: 200,
                next_ms: 100,
            },
            fault: None,
        },
        Case {
            name: "no other digest for (v, n)",
            setup: vec![pp(1, 0, &[1])],
            message: pp(1, 0, &[2]),
            expected: IgnoreReason::ConflictingDigest { accepted: d(&[1]) },
            fault: Some(|f| matches!(f, Fault::EquivocatingPrimary { seq: SeqNo(1), .. })),
        },
        Case {
            name: "duplicate pre-prepare",
            setup: vec![pp(1, 0, &[1])],
            message: pp(1, 0, &[1]),
            expected: IgnoreReason::Duplicate,
            fault: None,
        },
        Case {
            name: "own message echoed back",
            setup: vec![],
            message: pre_prepare(N, ME, 0, 1, batch(0, 0, &[1]), Hash::ZERO),
            expected: IgnoreReason::FromSelf,
            fault: None,
        },
    ]);
}

/// DESIGN.md section 3 steps 3 and 5; section 4 for checkpoints.
#[test]
fn vote_refusals() {
    let (d1, d2) = (d(&[1]), d(&[2]));
    let b = Hash([5; 32]);
    let window = IgnoreReason::OutsideWindow {
        low: SeqNo(0),
        high: SeqNo(L),
    };
    run(vec![
        Case {
            name: "step 3: the primary sends no prepare",
            setup: vec![],
            message: prepare(N, 0, 0, 1, d1),
            expected: IgnoreReason::PrepareFromPrimary,
            fault: Some(|f| matches!(f, Fault::PrepareFromPrimary { .. })),
        },
        Case {
            name: "step 3: prepare in view v",
            setup: vec![],
            message: prepare(N, 1, 3, 1, d1),
            expected: IgnoreReason::WrongView {
                view: View(3),
                current: View(0),
            },
            fault: None,
        },
        Case {
            name: "section 4: prepare above H",
            setup: vec![],
            message: prepare(N, 1, 0, L + 1, d1),
            expected: window.clone(),
            fault: None,
        },
        Case {
            name: "step 3: duplicate prepare",
            setup: vec![prepare(N, 1, 0, 1, d1)],
            message: prepare(N, 1, 0, 1, d1),
            expected: IgnoreReason::Duplicate,
            fault: None,
        },
        Case {
            name: "step 3: two prepares from one backup",
            setup: vec![prepare(N, 1, 0, 1, d1)],
            message: prepare(N, 1, 0, 1, d2),
            expected: IgnoreReason::ConflictingVote,
            fault: Some(|f| {
                matches!(
                    f,
                    Fault::EquivocatingVote {
                        kind: MessageKind::Prepare,
                        sender: ReplicaId(1),
                        ..
                    }
                )
            }),
        },
        Case {
            name: "step 3: own prepare echoed",
            setup: vec![],
            message: prepare(N, ME, 0, 1, d1),
            expected: IgnoreReason::FromSelf,
            fault: None,
        },
        Case {
            name: "step 5: commit in view v",
            setup: vec![],
            message: commit(N, 1, 1, 1, d1, b),
            expected: IgnoreReason::WrongView {
                view: View(1),
                current: View(0),
            },
            fault: None,
        },
        Case {
            name: "section 4: commit at h",
            setup: vec![],
            message: commit(N, 1, 0, 0, d1, b),
            expected: window.clone(),
            fault: None,
        },
        Case {
            name: "step 5: duplicate commit",
            setup: vec![commit(N, 0, 0, 1, d1, b)],
            message: commit(N, 0, 0, 1, d1, b),
            expected: IgnoreReason::Duplicate,
            fault: None,
        },
        Case {
            name: "step 5: two commits from one replica",
            setup: vec![commit(N, 0, 0, 1, d1, b)],
            message: commit(N, 0, 0, 1, d1, Hash([6; 32])),
            expected: IgnoreReason::ConflictingVote,
            fault: Some(|f| {
                matches!(
                    f,
                    Fault::EquivocatingVote {
                        kind: MessageKind::Commit,
                        ..
                    }
                )
            }),
        },
        Case {
            name: "section 4: checkpoint at a non-checkpoint height",
            setup: vec![],
            message: checkpoint(N, 1, K + 1, b),
            expected: IgnoreReason::NotACheckpointHeight,
            fault: None,
        },
        Case {
            name: "section 4: checkpoint above H",
            setup: vec![],
            message: checkpoint(N, 1, L + K, b),
            expected: window,
            fault: None,
        },
        Case {
            name: "section 4: duplicate checkpoint",
            setup: vec![checkpoint(N, 1, K, b)],
            message: checkpoint(N, 1, K, b),
            expected: IgnoreReason::Duplicate,
            fault: None,
        },
        Case {
            name: "section 4: two checkpoints from one replica",
            setup: vec![checkpoint(N, 1, K, b)],
            message: checkpoint(N, 1, K, Hash([7; 32])),
            expected: IgnoreReason::ConflictingVote,
            fault: Some(|f| {
                matches!(
                    f,
                    Fault::EquivocatingVote {
                        kind: MessageKind::Checkpoint,
                        ..
                    }
                )
            }),
        },
    ]);
}

/// DESIGN.md section 3 steps 2-3: an accepted pre-prepare is persisted with the
/// backup's PREPARE before the PREPARE goes to every other replica.
#[test]
fn accepted_pre_prepare_is_persisted_before_its_prepare_leaves() {
    let mut replica = replica(N, ME);
    let message = pp(1, 0, &[1, 2]);
    let ready = feed(&mut replica, &message);
    assert!(ready.ignored.is_empty() && ready.faults.is_empty());
    assert_eq!(ready.persist.len(), 2);
    assert_eq!(ready.persist[0], PersistEntry::Message(message));
    let PersistEntry::Message(own) = &ready.persist[1] else {
        panic!("own prepare persisted")
    };
    assert_eq!(ready.then_send.len(), 1);
    assert_eq!(ready.then_send[0].to, Target::All);
    assert_eq!(ready.then_send[0].message.as_message(), Some(own));
    let verified =
        consensus::verify(own, &replica.config().validators, CHAIN).expect("own prepare verifies");
    assert_eq!(verified.sender(), ReplicaId(ME));
    assert_eq!(
        verified.message(),
        &Message::Prepare(consensus::Prepare {
            view: View(0),
            seq: SeqNo(1),
            digest: d(&[1, 2])
        })
    );
}

/// DESIGN.md section 3 step 2: the primary checks its own host's proposal with the
/// same batch rules, and a proposal nobody asked for is refused.
#[test]
fn proposal_refusals() {
    let mut backup = replica(N, ME);
    let ready = backup.step(consensus::Input::Proposal {
        seq: SeqNo(1),
        batch: batch(ME, 0, &[1]),
        result: Hash::ZERO,
    });
    assert_eq!(
        reasons(&ready),
        vec![IgnoreReason::NotRequested],
        "a backup proposes nothing"
    );

    let mut primary = replica(N, 0);
    let ready = primary.step(consensus::Input::Proposal {
        seq: SeqNo(1),
        batch: batch(0, 0, &[1]),
        result: Hash::ZERO,
    });
    assert_eq!(
        reasons(&ready),
        vec![IgnoreReason::NotRequested],
        "unrequested proposal"
    );

    let ready = primary.step(consensus::Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 0,
    });
    let request = ready.propose.expect("a full pool asks for a proposal");
    let duplicate = Batch {
        tx_hashes: BoundedVec::new(vec![tx(1), tx(1)]).expect("bound"),
        proposer: ReplicaId(0),
        timestamp_ms: 0,
    };
    let ready = primary.step(consensus::Input::Proposal {
        seq: request.seq,
        batch: duplicate,
        result: Hash::ZERO,
    });
    assert_eq!(reasons(&ready), vec![IgnoreReason::DuplicateTx]);
    assert!(
        ready.then_send.is_empty(),
        "no pre-prepare for a refused proposal"
    );
}
