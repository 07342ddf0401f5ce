//! DESIGN.md section 5.1 (PBFT paper section 4.4): the Q computation from V
//! (`select`), the checks every replica runs on VIEW-CHANGE (`check_view_change`) and
//! NEW-VIEW (`check_new_view`), and four-replica clusters that change view while a
//! batch is prepared, or a block committed, at only some replicas.

use crate::harness::*;
use consensus::{
    check_new_view, check_new_view_skipping_q, check_view_change, open_new_view, open_view_change,
    primary_of, quorum, select, verify, verify_envelope, BadCertificatePrePrepare, BadNewView,
    BadViewChange, Batch, CheckedNewView, Envelope, Fault, Input, Message, MessageKind, NewView,
    PersistEntry, PrePrepare, PreparedCertificate, Rejected, ReplicaId, SeqNo, SignedMessage,
    SignedNewView, SignedViewChange, StableCheckpoint, Target, View, ViewChange,
};
use crypto::{BoundedVec, Hash};

const N: usize = 4;

// ----- building V and Q by hand -----

/// The batch the primary of `view` proposes for `tag`: one transaction, timestamp
/// `10 * tag`, so a batch is told apart by its tag and its timestamp.
fn tagged(view: u64, tag: u64) -> Batch {
    batch(primary_of(View(view), N).0, 10 * tag, &[tag])
}

/// The prepares of the first `count` backups of `view` for `(view, seq, digest)`.
fn backup_prepares(view: u64, seq: u64, digest: Hash, count: usize) -> Vec<SignedMessage> {
    let primary = primary_of(View(view), N).0;
    (0..N as u32)
        .filter(|i| *i != primary)
        .take(count)
        .map(|i| prepare(N, i, view, seq, digest))
        .collect()
}

fn certificate_of(pre_prepare: SignedMessage, prepares: Vec<SignedMessage>) -> PreparedCertificate {
    PreparedCertificate {
        pre_prepare,
        prepares: BoundedVec::new(prepares).expect("at most N"),
    }
}

/// An honest prepared certificate: the pre-prepare of the primary of `view` for
/// `batch` at `seq` and `q - 1` prepares from its backups.
fn certificate_for(view: u64, seq: u64, batch: Batch) -> PreparedCertificate {
    let primary = primary_of(View(view), N).0;
    let digest = batch.digest();
    let signed = pre_prepare(N, primary, view, seq, batch, Hash([7; 32]));
    certificate_of(signed, backup_prepares(view, seq, digest, quorum(N) - 1))
}

fn certificate(view: u64, seq: u64, tag: u64) -> PreparedCertificate {
    certificate_for(view, seq, tagged(view, tag))
}

fn checkpoint_block(seq: u64) -> Hash {
    crypto::sha256(format!("block {seq}").as_bytes())
}

/// A checkpoint at `seq` whose proof holds the CHECKPOINTs of `signers`.
fn stable(seq: u64, signers: &[u32]) -> StableCheckpoint {
    let block_hash = checkpoint_block(seq);
    let proof = signers
        .iter()
        .map(|i| checkpoint(N, *i, seq, block_hash))
        .collect();
    StableCheckpoint {
        seq: SeqNo(seq),
        block_hash,
        proof: BoundedVec::new(proof).expect("at most N"),
    }
}

fn view_change(
    new_view: u64,
    checkpoint: Option<StableCheckpoint>,
    prepared: Vec<PreparedCertificate>,
) -> ViewChange {
    ViewChange {
        new_view: View(new_view),
        checkpoint,
        prepared: BoundedVec::new(prepared).expect("at most L"),
    }
}

/// `signed` with its sender changed to `claimed`: the signature is still the real
/// signer's, so it must not verify as `claimed`'s.
fn forged(mut signed: SignedMessage, claimed: u32) -> SignedMessage {
    signed.sender = ReplicaId(claimed);
    let validators = config(N, 0).validators;
    assert!(
        verify(&signed, &validators, CHAIN).is_err(),
        "a forgery must not verify"
    );
    signed
}

fn empty_batch(proposer: u32, timestamp_ms: u64) -> Batch {
    batch(proposer, timestamp_ms, &[])
}

fn signed_view_change(from: u32, vc: &ViewChange) -> SignedViewChange {
    SignedViewChange::sign(&keys(N)[from as usize], CHAIN, ReplicaId(from), vc)
}

/// Delivers every queued message in order until the queue is empty, dropping those
/// `keep` refuses: a network the test cuts message by message.
fn run_filtered(cluster: &mut Cluster, keep: impl Fn(u32, &Envelope) -> bool) {
    let mut steps = 0;
    while let Some((to, envelope)) = cluster.queue.pop_front() {
        steps += 1;
        assert!(steps < 100_000, "the network never went quiet");
        if cluster.down[to as usize] || !keep(to, &envelope) {
            continue;
        }
        let validators = cluster.replicas[to as usize].config().validators.clone();
        let input = verify_envelope(&envelope, &validators, CHAIN).expect("honest messages verify");
        cluster.input(to, input);
    }
}

mod check_new_view;
mod check_view_change;
mod clusters;
mod edges;
mod select;

/// After a timeout tick that followed a whole timeout of silence: nobody was heard
/// from, so each replica first asks the others where it is (recovery, reason
/// `Isolated`) and changes views only at the next tick, once answered. What the
/// timeout tick retransmitted is lost, so the view change, not retransmission,
/// finishes the heights.
fn time_out_after_silence(cluster: &mut Cluster) {
    run_filtered(cluster, |_, envelope| {
        matches!(envelope, Envelope::Recovery(_))
    });
    cluster.tick(1);
}
