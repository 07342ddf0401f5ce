//! Restart from `PersistedState` (DESIGN.md section 2: a restarted replica never signs
//! two digests for one (view, seq); section 3 steps 2-5 after a crash).

use crate::harness::*;
use consensus::{
    ExecOutcome, Fault, IgnoreReason, Input, PersistedState, Ready, Replica, RestoreError, SeqNo,
    StableCheckpoint,
};
use crypto::{BoundedVec, Hash};

const N: usize = 4;

fn persist(state: &mut PersistedState, ready: &Ready) {
    for entry in &ready.persist {
        state.apply(entry).expect("bound");
    }
}

fn restart(me: u32, state: &PersistedState) -> Replica {
    Replica::new(
        config(N, me),
        keys(N)[me as usize].clone(),
        Some(state.clone()),
        0,
    )
    .expect("restores")
}

/// A backup that accepted digest d1 at (0, 1) refuses d2 there after a restart, and
/// signs no PREPARE for it.
#[test]
fn restarted_backup_refuses_a_second_digest() {
    let mut state = PersistedState::default();
    let mut replica = replica(N, 2);
    let first = pre_prepare(N, 0, 0, 1, batch(0, 0, &[1]), Hash::ZERO);
    persist(&mut state, &feed(&mut replica, &first));
    let mut restarted = restart(2, &state);
    let second = pre_prepare(N, 0, 0, 1, batch(0, 0, &[2]), Hash::ZERO);
    let ready = feed(&mut restarted, &second);
    assert_eq!(
        reasons(&ready),
        vec![IgnoreReason::ConflictingDigest {
            accepted: batch(0, 0, &[1]).digest()
        }]
    );
    // The equivocation starts a view change: the VIEW-CHANGE is all it sends.
    assert!(ready
        .then_send
        .iter()
        .all(|out| matches!(out.message, consensus::Envelope::ViewChange(_))));
    let prepared_again = ready
        .persist
        .iter()
        .any(|entry| matches!(entry, consensus::PersistEntry::Message(_)));
    assert!(!prepared_again, "no PREPARE for the second digest");
    let ready = feed(&mut restarted, &first);
    assert_eq!(
        reasons(&ready),
        vec![IgnoreReason::ChangingView],
        "changing views, it takes no pre-prepare"
    );
}

/// A restarted primary proposes after the last height it signed, never again at it.
#[test]
fn restarted_primary_does_not_propose_a_signed_height_again() {
    let mut state = PersistedState::default();
    let mut primary = replica(N, 0);
    let ready = primary.step(Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 0,
    });
    assert_eq!(ready.propose.map(|r| r.seq), Some(SeqNo(1)));
    persist(
        &mut state,
        &primary.step(Input::Proposal {
            seq: SeqNo(1),
            batch: batch(0, 0, &[1]),
            result: Hash::ZERO,
        }),
    );
    let mut restarted = restart(0, &state);
    // The new host has not executed height 1, so it has no state to build height 2
    // on: no proposal yet, and never a second one at height 1.
    let ready = restarted.step(Input::TxsAvailable {
        count: BATCH_MAX_TXS as usize,
        oldest_ms: 0,
    });
    assert_eq!(ready.propose, None);
    let digest = batch(0, 0, &[1]).digest();
    assert!(feed(&mut restarted, &prepare(N, 1, 0, 1, digest))
        .propose
        .is_none());
    let ready = feed(&mut restarted, &prepare(N, 2, 0, 1, digest));
    assert_eq!(ready.execute.first().map(|r| r.seq), Some(SeqNo(1)));
    assert_eq!(ready.propose, None);
    // Height 1 executed again (with the result the primary proposed): now height 2.
    let ready = restarted.step(Input::Executed {
        seq: SeqNo(1),
        digest,
        outcome: ExecOutcome::Valid {
            state_root: Hash::ZERO,
            block_hash: crypto::sha256(b"block 1"),
            validators: None,
        },
    });
    assert_eq!(ready.propose.map(|r| r.seq), Some(SeqNo(2)));
}

/// A replica that signed COMMIT <0, 1, d, b> and restarted executes height 1 again:
/// the same b re-sends the same signed bytes; another b is a fault, never a second
/// COMMIT.
#[test]
fn restarted_replica_never_signs_another_block_hash() {
    let mut state = PersistedState::default();
    let mut replica = replica(N, 1);
    let pp = pre_prepare(
        N,
        0,
        0,
        1,
        batch(0, 0, &[1]),
        state_root(Hash::ZERO, batch(0, 0, &[1]).digest()),
    );
    persist(&mut state, &feed(&mut replica, &pp));
    let ready = feed(
        &mut replica,
        &prepare(N, 2, 0, 1, batch(0, 0, &[1]).digest()),
    );
    persist(&mut state, &ready);
    let request = ready.execute.first().cloned().expect("prepared");
    let honest = honest_outcome(&request, Hash::ZERO);
    let ready = replica.step(Input::Executed {
        seq: request.seq,
        digest: request.digest,
        outcome: honest.clone(),
    });
    persist(&mut state, &ready);
    let signed_commit = ready.then_send[0].message.clone();

    let ExecOutcome::Valid { state_root, .. } = honest.clone() else {
        unreachable!()
    };
    let diverging = ExecOutcome::Valid {
        state_root,
        block_hash: Hash([0xee; 32]),
        validators: None,
    };
    for (outcome, resent) in [(honest, true), (diverging, false)] {
        let mut restarted = restart(1, &state);
        let ready = restarted.step(Input::Tick { now_ms: 1 });
        let again = ready
            .execute
            .first()
            .cloned()
            .expect("own COMMIT: prepared, executed again");
        let ready = restarted.step(Input::Executed {
            seq: again.seq,
            digest: again.digest,
            outcome,
        });
        assert!(ready.persist.is_empty(), "nothing new signed");
        if resent {
            assert_eq!(ready.then_send.len(), 1);
            assert_eq!(ready.then_send[0].message, signed_commit, "the same bytes");
        } else {
            assert!(ready.then_send.is_empty());
            assert!(matches!(
                ready.faults.as_slice(),
                [Fault::ExecutionDiverged { seq: SeqNo(1), .. }]
            ));
        }
    }
}

/// Persisted state that is not this replica's own is refused with a typed error.
#[test]
fn restore_refuses_state_that_is_not_ours() {
    let foreign = PersistedState {
        log: BoundedVec::new(vec![prepare(N, 3, 0, 1, Hash::ZERO)]).expect("bound"),
        ..PersistedState::default()
    };
    let conflicting = PersistedState {
        log: BoundedVec::new(vec![
            prepare(N, 1, 0, 1, Hash([1; 32])),
            prepare(N, 1, 0, 1, Hash([2; 32])),
        ])
        .expect("bound"),
        ..PersistedState::default()
    };
    let short_proof = {
        let mut state = PersistedState::default();
        let proof = vec![
            checkpoint(N, 0, K, Hash::ZERO),
            checkpoint(N, 1, K, Hash::ZERO),
        ];
        state.stable_checkpoint = Some(StableCheckpoint {
            seq: SeqNo(K),
            block_hash: Hash::ZERO,
            proof: BoundedVec::new(proof).expect("bound"),
        });
        state.last_committed = SeqNo(K);
        state
    };
    let below = {
        let mut state = PersistedState::default();
        let proof = (0..3).map(|i| checkpoint(N, i, K, Hash::ZERO)).collect();
        state.stable_checkpoint = Some(StableCheckpoint {
            seq: SeqNo(K),
            block_hash: Hash::ZERO,
            proof: BoundedVec::new(proof).expect("bound"),
        });
        state.last_committed = SeqNo(K - 1);
        state
    };
    let cases = [
        (
            "foreign prepare",
            foreign,
            RestoreError::ForeignMessage { index: 0 },
        ),
        (
            "two own prepares",
            conflicting,
            RestoreError::Conflicting {
                index: 1,
                seq: SeqNo(1),
            },
        ),
        (
            "proof below q",
            short_proof,
            RestoreError::CheckpointProof { seq: SeqNo(K) },
        ),
        (
            "committed below h",
            below,
            RestoreError::CommittedOutsideWindow {
                last_committed: SeqNo(K - 1),
                low: SeqNo(K),
                high: SeqNo(K + L),
            },
        ),
    ];
    for (name, state, expected) in cases {
        let result = Replica::new(config(N, 1), keys(N)[1].clone(), Some(state), 0);
        assert_eq!(
            result.err(),
            Some(consensus::ConfigError::Restore(expected)),
            "{name}"
        );
    }
}

/// A replica restarted when the network is quiet keeps up and agrees; crashes at
/// random points never make anyone equivocate (the cluster checks every signed
/// message) or disagree.
#[test]
fn crash_and_restart_in_a_running_cluster() {
    let mut cluster = Cluster::new(N);
    cluster.run_to_height(7);
    cluster.run_until_quiet();
    cluster.crash(3);
    cluster.restart(3);
    cluster.run_to_height(3 * L);
    cluster.run_until_quiet();
    cluster.assert_agreement();
    assert!(cluster.replicas[3].last_committed() >= SeqNo(3 * L));

    for seed in 0..5 {
        let mut cluster = Cluster::shuffled(N, seed);
        let victim = 1 + (seed as u32 % 3);
        cluster.run_to_height(3 + seed);
        cluster.crash(victim);
        cluster.restart(victim);
        cluster.run_to_height_of(
            &[0, 1, 2, 3]
                .iter()
                .copied()
                .filter(|i| *i != victim)
                .collect::<Vec<_>>(),
            2 * L,
        );
        cluster.run_until_quiet();
        cluster.assert_sound(&format!("seed {seed}"));
    }
}

/// A host that persisted the own PREPARE but lost the pre-prepare: the replica still
/// refuses another digest there, and for the same digest resends the same PREPARE.
#[test]
fn restored_prepare_without_its_pre_prepare() {
    let d1 = batch(0, 0, &[1]).digest();
    let own = prepare(N, 2, 0, 1, d1);
    let state = PersistedState {
        log: BoundedVec::new(vec![own.clone()]).expect("bound"),
        ..PersistedState::default()
    };
    let mut restarted = restart(2, &state);
    let other = pre_prepare(N, 0, 0, 1, batch(0, 0, &[2]), Hash::ZERO);
    let ready = feed(&mut restarted, &other);
    assert_eq!(
        reasons(&ready),
        vec![IgnoreReason::ConflictingDigest { accepted: d1 }]
    );
    let same = pre_prepare(N, 0, 0, 1, batch(0, 0, &[1]), Hash::ZERO);
    let ready = feed(&mut restarted, &same);
    assert!(ready.ignored.is_empty());
    assert_eq!(
        ready.persist,
        vec![consensus::PersistEntry::Message(same)],
        "only the pre-prepare"
    );
    assert_eq!(ready.then_send.len(), 1);
    assert_eq!(
        ready.then_send[0].message.as_message(),
        Some(&own),
        "the same PREPARE"
    );
}

/// A replica refuses to start with another validator's key.
#[test]
fn key_must_be_the_configured_validators() {
    let result = Replica::new(config(N, 1), keys(N)[2].clone(), None, 0);
    assert_eq!(
        result.err(),
        Some(consensus::ConfigError::KeyMismatch {
            me: consensus::ReplicaId(1)
        })
    );
}

/// PBFT section 4.3: messages for heights above the last stable checkpoint stay in the
/// log, committed or not, because a replica that missed them can only complete those
/// heights with them. A replica that committed height 1 (not yet under a checkpoint)
/// and restarted still holds its messages for it and sends them to a laggard.
#[test]
fn restarted_replica_keeps_committed_heights_above_the_checkpoint_for_laggards() {
    let mut state = PersistedState::default();
    let mut replica = replica(N, 1);
    let b = batch(0, 0, &[1]);
    let digest = b.digest();
    let root = state_root(Hash::ZERO, digest);
    persist(
        &mut state,
        &feed(&mut replica, &pre_prepare(N, 0, 0, 1, b, root)),
    );
    // Our own PREPARE and replica 2's make q - 1 = 2: prepared, execute.
    let ready = feed(&mut replica, &prepare(N, 2, 0, 1, digest));
    persist(&mut state, &ready);
    let request = ready.execute.first().cloned().expect("prepared");
    let outcome = honest_outcome(&request, Hash::ZERO);
    let ExecOutcome::Valid { block_hash: b1, .. } = outcome else {
        panic!("honest execution is valid")
    };
    persist(
        &mut state,
        &replica.step(Input::Executed {
            seq: SeqNo(1),
            digest,
            outcome,
        }),
    );
    persist(
        &mut state,
        &feed(&mut replica, &commit(N, 0, 0, 1, digest, b1)),
    );
    let ready = feed(&mut replica, &commit(N, 2, 0, 1, digest, b1));
    assert_eq!(ready.commit.len(), 1, "height 1 committed");
    persist(&mut state, &ready);
    state.record_commit(&ready.commit[0]);

    let mut restarted = restart(1, &state);
    assert_eq!(restarted.last_committed(), SeqNo(1));
    // Replica 3 missed height 1: its vote for it tells us so, and we help.
    let ready = feed(&mut restarted, &prepare(N, 3, 0, 1, digest));
    let own_commit_sent = ready.then_send.iter().any(|out| {
        out.to == consensus::Target::One(consensus::ReplicaId(3))
            && out.message.sender().0 == 1
            && out.message.kind() == consensus::MessageKind::Commit
    });
    assert!(own_commit_sent, "the laggard gets our COMMIT for height 1");
    assert!(ready.commit.is_empty(), "height 1 is not committed twice");
    assert!(ready.execute.is_empty(), "height 1 is not executed again");
}
