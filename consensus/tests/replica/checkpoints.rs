//! DESIGN.md section 4 (PBFT paper section 4.3): checkpoints, stability, garbage
//! collection and the watermark window.

use crate::harness::*;
use consensus::{verify, IgnoreReason, Message, SeqNo};
use crypto::Hash;

const N: usize = 4;

/// Every K heights each replica signs a checkpoint; q matching ones make it stable:
/// the proof holds q valid distinct signatures, the log below is dropped, h = K and
/// H = K + L, and the persisted state forgets messages at or below h.
#[test]
fn q_checkpoints_make_it_stable_and_move_the_window() {
    let mut cluster = Cluster::new(N);
    cluster.run_to_height(K);
    cluster.run_until_quiet();
    for (i, replica) in cluster.replicas.iter().enumerate() {
        assert_eq!(replica.low_watermark(), SeqNo(K), "replica {i}: h");
        assert_eq!(replica.high_watermark(), SeqNo(K + L), "replica {i}: H");
        assert!(
            replica.held_heights().iter().all(|seq| *seq > SeqNo(K)),
            "replica {i}: GC"
        );
        let stable = replica.stable_checkpoint().expect("stable");
        assert_eq!(
            stable.block_hash,
            cluster.committed[i][K as usize - 1].block_hash
        );
        let mut signers: Vec<u32> = stable.proof.iter().map(|s| s.sender.0).collect();
        signers.dedup();
        assert_eq!(signers.len(), consensus::quorum(N), "q distinct signers");
        for signed in stable.proof.iter() {
            let verified =
                verify(signed, &replica.config().validators, CHAIN).expect("proof verifies");
            assert!(
                matches!(verified.message(), Message::Checkpoint(c) if c.seq == SeqNo(K) && c.block_hash == stable.block_hash)
            );
        }
        let persisted = &cluster.persisted[i];
        assert_eq!(persisted.stable_checkpoint.as_ref(), Some(stable));
        for signed in persisted.log.iter() {
            let verified =
                verify(signed, &replica.config().validators, CHAIN).expect("persisted verifies");
            assert!(verified.message().seq() > SeqNo(K), "persisted log pruned");
        }
    }
}

/// Section 4: nothing outside (h, H] is accepted once the window moved.
#[test]
fn window_edges_after_the_move() {
    let mut cluster = Cluster::new(N);
    cluster.run_to_height(K);
    cluster.run_until_quiet();
    let replica = &mut cluster.replicas[2];
    let window = IgnoreReason::OutsideWindow {
        low: SeqNo(K),
        high: SeqNo(K + L),
    };
    let d = Hash([3; 32]);
    let cases = [
        ("n = h", prepare(N, 1, 0, K, d), Some(window.clone())),
        (
            "n = H + 1",
            prepare(N, 1, 0, K + L + 1, d),
            Some(window.clone()),
        ),
        ("checkpoint at h", checkpoint(N, 1, K, d), Some(window)),
        ("n = H", prepare(N, 1, 0, K + L, d), None),
    ];
    for (name, message, expected) in cases {
        let ready = feed(replica, &message);
        assert_eq!(
            reasons(&ready),
            expected.into_iter().collect::<Vec<_>>(),
            "{name}"
        );
    }
    // Inside the window but committed here already: nothing left to vote on.
    let last = replica.last_committed();
    if last > SeqNo(K) {
        let ready = feed(replica, &prepare(N, 1, 0, last.0, d));
        assert_eq!(
            reasons(&ready),
            vec![IgnoreReason::AlreadyCommitted {
                last_committed: last
            }]
        );
    }
}

/// Section 4, as implemented: checkpoints from others do not make a height stable
/// before this replica committed it itself (it would drop heights it still needs).
#[test]
fn stability_needs_our_own_checkpoint() {
    let mut replica = replica(N, 1);
    for from in [0, 2, 3] {
        let ready = feed(&mut replica, &checkpoint(N, from, K, Hash([1; 32])));
        assert!(ready.stable_checkpoint.is_none());
    }
    assert_eq!(replica.low_watermark(), SeqNo(0));
}

/// Section 4: memory is bounded by the window over a long run: the log never holds
/// more than L heights, and h follows the checkpoints.
#[test]
fn log_stays_within_the_window() {
    let mut cluster = Cluster::shuffled(N, 7);
    for target in (K..=6 * L).step_by(K as usize) {
        cluster.run_to_height(target);
        for replica in &cluster.replicas {
            assert!(replica.log_len() <= L as usize);
            assert!(replica
                .held_heights()
                .iter()
                .all(|s| *s > replica.low_watermark() && *s <= replica.high_watermark()));
        }
    }
    cluster.run_until_quiet();
    for replica in &cluster.replicas {
        assert!(
            replica.low_watermark().0 >= 5 * L,
            "h moved with the checkpoints: {:?}",
            replica.low_watermark()
        );
    }
    cluster.assert_agreement();
}

/// DESIGN.md section 4: a checkpoint's proof (the C set) is `q` distinct validators'
/// valid CHECKPOINTs for exactly that height and block, and holds nothing else.
#[test]
fn a_checkpoint_proof_holds_only_with_q_distinct_valid_signatures_for_its_block() {
    let n = 4;
    let q = consensus::quorum(n);
    let block = crypto::sha256(b"block K");
    let validators: Vec<_> = keys(n).iter().map(|k| k.public_key()).collect();
    let stable = |proof: Vec<consensus::SignedMessage>| consensus::StableCheckpoint {
        seq: SeqNo(K),
        block_hash: block,
        proof: crypto::BoundedVec::new(proof).expect("few"),
    };
    let good: Vec<_> = (0..q as u32).map(|i| checkpoint(n, i, K, block)).collect();
    assert!(stable(good.clone()).is_proven(&validators, CHAIN, q));

    let mut repeated = good[..q - 1].to_vec();
    repeated.push(good[0].clone());
    let mut other_block = good.clone();
    other_block[1] = checkpoint(n, 1, K, crypto::sha256(b"another block"));
    let mut forged = good.clone();
    forged[2].signature.0[0] ^= 1;
    let mut padded = good.clone();
    padded.push(checkpoint(n, 3, K, crypto::sha256(b"another block")));
    let mut q_and_a_repeat = good.clone();
    q_and_a_repeat.push(good[0].clone());
    let cases = [
        ("q valid plus one for another block", stable(padded)),
        ("q distinct plus a signer again", stable(q_and_a_repeat)),
        ("below q", stable(good[..q - 1].to_vec())),
        ("one signer twice", stable(repeated)),
        ("a vote for another block", stable(other_block)),
        ("a forged signature", stable(forged)),
    ];
    for (what, proof) in cases {
        assert!(!proof.is_proven(&validators, CHAIN, q), "{what}");
    }
    assert!(
        !stable(good).is_proven(&validators, "another-chain", q),
        "another chain's signatures"
    );
}
