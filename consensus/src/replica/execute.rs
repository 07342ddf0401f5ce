//! RBFT validation (DESIGN.md section 3 step 4) and committing in height order
//! (step 5).

use super::Replica;
use crate::input::ExecOutcome;
use crate::log::{insert_vote, Execution, VoteOutcome};
use crate::message::{Commit, Message, SignedMessage};
use crate::output::{
    CommittedBlock, ExecuteRequest, Fault, IgnoreReason, Ignored, Outgoing, Target,
};
use crate::persist::CommitRecord;
use crate::types::{Digest, SeqNo, View};
use crypto::{Hash, PublicKey};
use std::collections::BTreeMap;

/// RBFT validation and committing in order (`execute.rs`).
#[derive(Debug)]
pub(super) struct ExecutionState {
    /// Governance changes of executed, not yet committed heights: the validator set
    /// after each; recorded in `membership` when the height commits.
    pub(super) executed_changes: BTreeMap<SeqNo, Vec<PublicKey>>,
    pub(super) last_committed_timestamp_ms: u64,
    /// Every height up to here executed with the primary's state root (>= committed).
    pub(super) executed_through: SeqNo,
    /// The height whose execution the host is working on; one at a time, in order.
    pub(super) executing: Option<SeqNo>,
    /// Committed heights above h: a new view orders them again.
    pub(super) commits: BTreeMap<SeqNo, CommitRecord>,
}

impl ExecutionState {
    pub(super) fn new() -> Self {
        ExecutionState {
            executed_changes: BTreeMap::new(),
            last_committed_timestamp_ms: 0,
            executed_through: SeqNo(0),
            executing: None,
            commits: BTreeMap::new(),
        }
    }
}

impl Replica {
    /// Step 4: asks the host to execute the next height once it is prepared and every
    /// height below it executed with the primary's result (the host executes on its
    /// speculative state after `n - 1`). One request at a time, in height order.
    pub(super) fn request_execution(&mut self) -> bool {
        if self.execution.executing.is_some() || self.is_paused() {
            return false;
        }
        let seq = self.execution.executed_through.next();
        let Some(slot) = self.log.get(seq) else {
            return false;
        };
        let Some(pp) = slot.pre_prepare.as_ref().filter(|_| slot.prepared) else {
            return false;
        };
        if slot.execution != Execution::NotRequested {
            return false;
        }
        self.ready.execute.push(ExecuteRequest {
            seq,
            view: pp.view,
            digest: pp.digest,
            batch: pp.batch.clone(),
            result: Some(pp.result),
        });
        self.log.slot_mut(seq).execution = Execution::Requested;
        self.execution.executing = Some(seq);
        true
    }

    /// Step 4: the host's result. The primary's state root: sign and send COMMIT with
    /// the block hash. Another root, or a batch that does not execute: report the
    /// fault and never commit this height here (view change will act on it).
    pub(super) fn on_executed(&mut self, seq: SeqNo, digest: Digest, outcome: ExecOutcome) {
        if self.building_awaits(seq, digest) {
            self.on_built(outcome);
            return;
        }
        let Some((view, claimed, evidence)) = self.awaited_execution(seq, digest) else {
            self.ready.ignored.push(Ignored::Executed {
                seq,
                reason: IgnoreReason::NotRequested,
            });
            return;
        };
        self.execution.executing = None;
        let primary = self.primary();
        let fault = match outcome {
            ExecOutcome::Valid {
                state_root,
                block_hash,
                validators,
            } if state_root == claimed => {
                match validators {
                    Some(set) => self.execution.executed_changes.insert(seq, set),
                    None => self.execution.executed_changes.remove(&seq),
                };
                self.commit_to(seq, view, digest, block_hash);
                return;
            }
            ExecOutcome::Valid { state_root, .. } => Fault::WrongStateRoot {
                view,
                seq,
                digest,
                primary,
                claimed,
                computed: state_root,
                evidence,
            },
            ExecOutcome::Invalid => Fault::InvalidBatch {
                view,
                seq,
                digest,
                primary,
                evidence,
            },
        };
        self.log.slot_mut(seq).execution = Execution::Failed;
        self.ready.faults.push(fault);
    }

    /// The view, claimed state root and signed pre-prepare of the height the host is
    /// executing, if `seq` and `digest` name it.
    fn awaited_execution(&self, seq: SeqNo, digest: Digest) -> Option<(View, Hash, SignedMessage)> {
        if self.execution.executing != Some(seq) {
            return None;
        }
        let pp = self.log.get(seq)?.pre_prepare.as_ref()?;
        (pp.digest == digest).then(|| (pp.view, pp.result, pp.signed.clone()))
    }

    /// Signs, persists and sends COMMIT `<v, n, d, b>`. After a restart the COMMIT may
    /// be signed already: the same block hash is sent again as it was signed; another
    /// block hash is never signed.
    fn commit_to(&mut self, seq: SeqNo, view: View, digest: Digest, block_hash: Hash) {
        let me = self.config.me;
        let signed_before = self
            .log
            .get(seq)
            .and_then(|slot| slot.commits.get(&me))
            .cloned();
        if let Some(vote) = signed_before {
            if vote.body.block_hash != block_hash {
                self.log.slot_mut(seq).execution = Execution::Failed;
                self.ready.faults.push(Fault::ExecutionDiverged {
                    seq,
                    signed_block_hash: vote.body.block_hash,
                    computed: block_hash,
                });
                return;
            }
            self.ready.then_send.push(Outgoing {
                to: Target::All,
                message: crate::envelope::Envelope::Message(vote.signed),
            });
        } else if self.may_sign(seq) {
            let commit = Commit {
                view,
                seq,
                digest,
                block_hash,
            };
            let signed = self.sign_persist_broadcast(&Message::Commit(commit));
            let outcome = insert_vote(&mut self.log.slot_mut(seq).commits, me, commit, signed);
            assert!(
                matches!(outcome, VoteOutcome::Added),
                "one COMMIT per (view, seq)"
            );
        }
        self.log.slot_mut(seq).execution = Execution::Valid { block_hash };
        self.execution.executed_through = seq;
    }

    /// Step 5: commits the next height when it is committed-local: prepared, executed
    /// with the primary's result, and `q` COMMITs matching `d` and `b` (our own among
    /// them). Heights commit strictly in order; the `q` COMMITs are the certificate.
    pub(super) fn commit_next(&mut self) -> bool {
        if self.is_paused() {
            return false;
        }
        let seq = self.last_committed.next();
        let needed = self.commit_quorum(seq);
        let Some(slot) = self.log.get(seq) else {
            return false;
        };
        let (Execution::Valid { block_hash }, Some(pp)) =
            (slot.execution, slot.pre_prepare.as_ref())
        else {
            return false;
        };
        let matching = slot.matching_commits(block_hash);
        if matching.len() < needed {
            return false;
        }
        let certificate = matching.into_iter().take(needed).cloned().collect();
        let block = CommittedBlock {
            seq,
            view: pp.view,
            digest: pp.digest,
            block_hash,
            state_root: pp.result,
            timestamp_ms: pp.batch.timestamp_ms,
            certificate,
        };
        self.execution.commits.insert(
            seq,
            crate::persist::CommitRecord {
                seq,
                digest: pp.digest,
                block_hash,
                state_root: pp.result,
            },
        );
        self.timers.progress_at_ms = self.now_ms;
        self.timers.failures = 0;
        self.last_committed = seq;
        self.execution.last_committed_timestamp_ms = block.timestamp_ms;
        self.ready.commit.push(block);
        if let Some(validators) = self.execution.executed_changes.remove(&seq) {
            self.record_change(&crate::membership::MembershipChange {
                height: seq,
                validators,
            });
            self.announce_joiners(seq);
        }
        if seq.0 % self.config.checkpoint_interval == 0 {
            self.sign_checkpoint(seq, block_hash);
        }
        true
    }
}
