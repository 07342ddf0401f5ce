//! Phase transitions of one backup (replica 1 of 4, q = 3) driven by hand: prepared,
//! RBFT validation, committed-local, commit order (DESIGN.md section 3 steps 3-5).

use crate::harness::*;
use consensus::{
    ExecOutcome, ExecuteRequest, Fault, IgnoreReason, Input, Message, Ready, Replica, SeqNo, Target,
};
use crypto::Hash;

const N: usize = 4;
const ME: u32 = 1;

fn pp(seq: u64, txs: &[u64]) -> consensus::SignedMessage {
    pre_prepare(N, 0, 0, seq, batch(0, seq, txs), expected_root(seq, txs))
}

/// The root after executing heights 1..=seq, where height i holds `[i]` unless it is
/// the one given.
fn expected_root(seq: u64, txs: &[u64]) -> Hash {
    let mut root = Hash::ZERO;
    for h in 1..seq {
        root = state_root(root, batch(0, h, &[h]).digest());
    }
    state_root(root, batch(0, seq, txs).digest())
}

fn executed(req: &ExecuteRequest, prev: Hash) -> Input {
    Input::Executed {
        seq: req.seq,
        digest: req.digest,
        outcome: honest_outcome(req, prev),
    }
}

fn sent_commit(ready: &Ready) -> Option<consensus::Commit> {
    ready.then_send.iter().find_map(|out| {
        let verified =
            consensus::verify(out.message.as_message()?, &config(N, ME).validators, CHAIN).ok()?;
        match verified.message() {
            Message::Commit(c) if out.to == Target::All => Some(*c),
            _ => None,
        }
    })
}

/// Feeds the pre-prepare at `seq` (txs `[seq]`) and the prepare of replica 2; returns
/// the execute request that the prepared height triggers, if any.
fn prepare_height(replica: &mut Replica, seq: u64) -> Vec<ExecuteRequest> {
    let mut requests = feed(replica, &pp(seq, &[seq])).execute;
    requests.extend(
        feed(
            replica,
            &prepare(N, 2, 0, seq, batch(0, seq, &[seq]).digest()),
        )
        .execute,
    );
    requests
}

/// Step 3 (PBFT paper 4.2): prepared = pre-prepare + q - 1 = 2 matching prepares from
/// distinct backups, own included; only then is execution requested (step 4).
#[test]
fn prepared_needs_q_minus_one_backup_prepares() {
    let mut replica = replica(N, ME);
    let ready = feed(&mut replica, &pp(1, &[1]));
    assert!(ready.execute.is_empty(), "own prepare alone is q - 2");
    let digest = batch(0, 1, &[1]).digest();
    let ready = feed(&mut replica, &prepare(N, 3, 0, 1, Hash([4; 32])));
    assert!(
        ready.execute.is_empty(),
        "a prepare for another digest does not count"
    );
    let ready = feed(&mut replica, &prepare(N, 2, 0, 1, digest));
    assert_eq!(ready.execute.len(), 1, "prepared: execute");
    assert_eq!(
        (ready.execute[0].seq, ready.execute[0].digest),
        (SeqNo(1), digest)
    );
}

/// DESIGN.md section 3, last paragraph: votes arriving before the pre-prepare wait for
/// it.
#[test]
fn prepares_before_the_pre_prepare_are_buffered() {
    let mut replica = replica(N, ME);
    let digest = batch(0, 1, &[1]).digest();
    let ready = feed(&mut replica, &prepare(N, 2, 0, 1, digest));
    assert!(ready.ignored.is_empty() && ready.execute.is_empty());
    let ready = feed(&mut replica, &commit(N, 2, 0, 1, digest, Hash::ZERO));
    assert!(ready.ignored.is_empty());
    let ready = feed(&mut replica, &pp(1, &[1]));
    assert_eq!(
        ready.execute.len(),
        1,
        "prepared as soon as the pre-prepare arrives"
    );
}

/// Steps 4-5: a matching state root sends COMMIT with the block hash; committed-local
/// needs q = 3 matching commits, own included, and the certificate holds them.
#[test]
fn commit_needs_q_matching_commits() {
    let mut replica = replica(N, ME);
    let request = prepare_height(&mut replica, 1).pop().expect("prepared");
    let ready = replica.step(executed(&request, Hash::ZERO));
    let own = sent_commit(&ready).expect("matching root: COMMIT sent");
    assert!(
        ready.persist.len() == 1,
        "the COMMIT is persisted before it leaves"
    );
    assert!(ready.commit.is_empty());
    let ready = feed(&mut replica, &commit(N, 3, 0, 1, own.digest, Hash([8; 32])));
    assert!(
        ready.commit.is_empty(),
        "a commit for another block hash does not count"
    );
    let ready = feed(
        &mut replica,
        &commit(N, 0, 0, 1, own.digest, own.block_hash),
    );
    assert!(ready.commit.is_empty(), "2 of q = 3");
    let ready = feed(
        &mut replica,
        &commit(N, 2, 0, 1, own.digest, own.block_hash),
    );
    assert_eq!(ready.commit.len(), 1, "q matching commits: committed");
    let block = &ready.commit[0];
    assert_eq!((block.seq, block.block_hash), (SeqNo(1), own.block_hash));
    let signers: Vec<u32> = block.certificate.iter().map(|s| s.sender.0).collect();
    assert_eq!(
        signers,
        vec![0, 1, 2],
        "certificate: q commits in sender order"
    );
    assert_eq!(replica.last_committed(), SeqNo(1));
}

/// Step 4 (RBFT validation): a wrong state root or an unexecutable batch is a fault,
/// no COMMIT is sent, and q commits from others do not commit the height here.
#[test]
fn wrong_result_never_commits() {
    type Case = (
        &'static str,
        fn(&ExecuteRequest) -> ExecOutcome,
        fn(&Fault) -> bool,
    );
    let cases: [Case; 2] = [
        (
            "wrong state root",
            |_| ExecOutcome::Valid {
                state_root: Hash([1; 32]),
                block_hash: Hash([2; 32]),
                validators: None,
            },
            |f| matches!(f, Fault::WrongStateRoot { seq: SeqNo(1), .. }),
        ),
        (
            "invalid batch",
            |_| ExecOutcome::Invalid,
            |f| matches!(f, Fault::InvalidBatch { seq: SeqNo(1), .. }),
        ),
    ];
    for (name, outcome, is_fault) in cases {
        let mut replica = replica(N, ME);
        let request = prepare_height(&mut replica, 1).pop().expect("prepared");
        let ready = replica.step(Input::Executed {
            seq: request.seq,
            digest: request.digest,
            outcome: outcome(&request),
        });
        assert_eq!(ready.faults.len(), 1, "{name}");
        assert!(is_fault(&ready.faults[0]), "{name}: {:?}", ready.faults);
        assert!(sent_commit(&ready).is_none(), "{name}: no COMMIT");
        let honest = honest_outcome(&request, Hash::ZERO);
        let ExecOutcome::Valid { block_hash, .. } = honest else {
            unreachable!()
        };
        for from in [0, 2, 3] {
            let ready = feed(
                &mut replica,
                &commit(N, from, 0, 1, request.digest, block_hash),
            );
            assert!(ready.commit.is_empty(), "{name}: never committed here");
        }
        assert_eq!(replica.last_committed(), SeqNo(0));
        // The pipeline stops: height 2 is not executed on top of a rejected height.
        assert!(prepare_height(&mut replica, 2).is_empty(), "{name}");
    }
}

/// Step 4: an execution result nobody asked for is ignored.
#[test]
fn unrequested_execution_result_is_ignored() {
    let mut replica = replica(N, ME);
    let ready = replica.step(Input::Executed {
        seq: SeqNo(1),
        digest: Hash::ZERO,
        outcome: ExecOutcome::Invalid,
    });
    assert_eq!(reasons(&ready), vec![IgnoreReason::NotRequested]);
    assert!(ready.faults.is_empty());
}

/// Step 5: heights commit strictly in order even when a later one is committed-local
/// first; height 2 is executed only after height 1 (speculative execution on n - 1).
#[test]
fn commits_in_height_order() {
    let mut replica = replica(N, ME);
    // Height 2 is prepared first, but cannot be executed before height 1.
    assert!(prepare_height(&mut replica, 2).is_empty());
    let request1 = prepare_height(&mut replica, 1)
        .pop()
        .expect("height 1 executes first");
    assert_eq!(request1.seq, SeqNo(1));
    let ready = replica.step(executed(&request1, Hash::ZERO));
    let c1 = sent_commit(&ready).expect("commit 1");
    let request2 = ready.execute.first().cloned().expect("then height 2");
    let root1 = state_root(Hash::ZERO, request1.digest);
    let ready = replica.step(executed(&request2, root1));
    let c2 = sent_commit(&ready).expect("commit 2");
    for from in [0, 2] {
        let ready = feed(
            &mut replica,
            &commit(N, from, 0, 2, c2.digest, c2.block_hash),
        );
        assert!(ready.commit.is_empty(), "height 2 waits for height 1");
    }
    let ready = feed(&mut replica, &commit(N, 0, 0, 1, c1.digest, c1.block_hash));
    assert!(ready.commit.is_empty(), "2 of q commits at height 1");
    let ready = feed(&mut replica, &commit(N, 2, 0, 1, c1.digest, c1.block_hash));
    let seqs: Vec<SeqNo> = ready.commit.iter().map(|b| b.seq).collect();
    assert_eq!(seqs, vec![SeqNo(1), SeqNo(2)]);
}

/// The test-only switch: with it, q - 1 = 2 commits commit a height; without, not.
#[test]
fn unsafe_switch_commits_on_q_minus_one() {
    for (on, expected) in [(false, 0), (true, 1)] {
        let mut replica = replica(N, ME);
        replica.set_unsafe_commit_quorum_minus_one(on);
        let request = prepare_height(&mut replica, 1).pop().expect("prepared");
        let own = sent_commit(&replica.step(executed(&request, Hash::ZERO))).expect("commit");
        let ready = feed(
            &mut replica,
            &commit(N, 0, 0, 1, own.digest, own.block_hash),
        );
        assert_eq!(ready.commit.len(), expected, "switch {on}");
        if on {
            assert_eq!(ready.commit[0].certificate.len(), 2);
        }
    }
}

/// Step 2 (batching): the primary asks for a proposal when the pool holds
/// batch_max_txs, or when the oldest has waited batch_timeout_ms; it sends the
/// PRE-PREPARE and no PREPARE.
#[test]
fn primary_batches_by_size_or_timeout() {
    let mut primary = replica(N, 0);
    assert!(primary.is_primary());
    let ready = primary.step(Input::TxsAvailable {
        count: 1,
        oldest_ms: 0,
    });
    assert!(ready.propose.is_none(), "one tx, no timeout yet");
    let ready = primary.step(Input::Tick { now_ms: 9 });
    assert!(ready.propose.is_none(), "9 ms < batch_timeout 10 ms");
    let ready = primary.step(Input::Tick { now_ms: 10 });
    let request = ready.propose.expect("timeout: propose");
    assert_eq!((request.seq, request.max_txs), (SeqNo(1), BATCH_MAX_TXS));
    let ready = primary.step(Input::Tick { now_ms: 11 });
    assert!(ready.propose.is_none(), "one request outstanding");
    let ready = primary.step(Input::Proposal {
        seq: SeqNo(1),
        batch: batch(0, 10, &[1]),
        result: Hash::ZERO,
    });
    assert_eq!(ready.then_send.len(), 1, "only the PRE-PREPARE");
    assert_eq!(
        ready.then_send[0].message.kind(),
        consensus::MessageKind::PrePrepare
    );
    assert_eq!(ready.persist.len(), 1, "persisted before it leaves");

    let ready = primary.step(Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 11,
    });
    assert_eq!(
        ready.propose.map(|r| r.seq),
        Some(SeqNo(2)),
        "a full pool proposes at once"
    );
}

/// Section 4: the primary proposes nothing above H.
#[test]
fn primary_stops_at_the_high_watermark() {
    let mut primary = replica(N, 0);
    for seq in 1..=L {
        let ready = primary.step(Input::TxsAvailable {
            count: BATCH_MAX_TXS as usize,
            oldest_ms: 0,
        });
        assert_eq!(ready.propose.map(|r| r.seq), Some(SeqNo(seq)));
        let ready = primary.step(Input::Proposal {
            seq: SeqNo(seq),
            batch: batch(0, 0, &[seq]),
            result: Hash::ZERO,
        });
        assert!(ready.ignored.is_empty());
    }
    let ready = primary.step(Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 0,
    });
    assert!(ready.propose.is_none(), "H = {L} reached");
    assert_eq!(primary.log_len(), L as usize);
}

/// Retransmission: a primary whose height does not commit sends the same signed
/// PRE-PREPARE again once `retransmit_interval_ms` passed without progress, and not
/// before; nothing new is signed or persisted.
#[test]
fn stalled_replica_retransmits_its_own_messages() {
    let mut primary = replica(N, 0);
    let _ = primary.step(Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 0,
    });
    let ready = primary.step(Input::Proposal {
        seq: SeqNo(1),
        batch: batch(0, 0, &[1]),
        result: Hash::ZERO,
    });
    let pre_prepare = ready.then_send[0].message.clone();
    let ready = primary.step(Input::Tick {
        now_ms: RETRANSMIT_MS - 1,
    });
    assert!(ready.then_send.is_empty(), "not yet");
    let ready = primary.step(Input::Tick {
        now_ms: RETRANSMIT_MS,
    });
    assert_eq!(ready.then_send.len(), 1);
    assert_eq!(ready.then_send[0].message, pre_prepare, "the same bytes");
    assert!(ready.persist.is_empty());
    let ready = primary.step(Input::Tick {
        now_ms: RETRANSMIT_MS + 1,
    });
    assert!(ready.then_send.is_empty(), "once per interval");

    let mut idle = replica(N, 2);
    let ready = idle.step(Input::Tick {
        now_ms: 10 * RETRANSMIT_MS,
    });
    assert!(ready.is_empty(), "nothing unfinished, nothing sent");
}
