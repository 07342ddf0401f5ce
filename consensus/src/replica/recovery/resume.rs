//! The end of a state transfer (DESIGN.md section 5.2 step 3): resuming at the
//! target checkpoint, or going on asking when the transfer fell short.

use super::super::Replica;
use super::{Phase, Recovering};
use crate::checkpoint::StableCheckpoint;
use crate::output::{IgnoreReason, Ignored, PersistEntry, RecoveryEvent, RecoveryReason};
use crate::types::SeqNo;

impl Replica {
    pub(in crate::replica) fn on_transferred(
        &mut self,
        seq: SeqNo,
        block_hash: crypto::Hash,
        timestamp_ms: u64,
    ) {
        let Some(Recovering {
            phase: Phase::Transferring { target },
            ..
        }) = self.recovery.in_progress.as_ref()
        else {
            self.ready.ignored.push(Ignored::Executed {
                seq,
                reason: IgnoreReason::NotRequested,
            });
            return;
        };
        let mut target = target.clone();
        if seq == target.seq && block_hash == target.block_hash {
            // A claimed target's proof is checkable now that the transfer brought
            // the membership changes below it: keep one that holds. With none, the
            // ledger holds the blocks but no checkpoint is proven there: wait,
            // paused, for a proven one at or above it (the next round can check
            // the answers' proofs).
            if !target.is_proven_by(&self.membership, &self.config.chain_id) {
                let good = self.recovery.target_alternatives.iter().find(|c| {
                    c.seq == target.seq
                        && c.block_hash == target.block_hash
                        && c.is_proven_by(&self.membership, &self.config.chain_id)
                });
                match good {
                    Some(good) => target = good.clone(),
                    None => {
                        self.recovery.target_alternatives.clear();
                        self.recovery.last_target = None;
                        self.recovery.floor = self.recovery.floor.max(seq);
                        self.new_query_round();
                        return;
                    }
                }
            }
            self.recovery.target_alternatives.clear();
            self.resume_at(target, timestamp_ms);
            self.ready.recovery.push(RecoveryEvent::Transferred { seq });
            self.rejoin();
            return;
        }
        self.recovery.floor = self.recovery.floor.max(seq);
        // The host dropped what it had executed above its tip (TransferRequest):
        // executions above the committed height are redone.
        self.execution.executed_through = self.last_committed;
        self.execution.executing = None;
        self.proposing.proposal_requested = None;
        self.proposing.proposed_since_start = self.last_committed;
        self.log.reset_executions();
        self.ready.recovery.push(RecoveryEvent::TransferIncomplete {
            reached: seq,
            target: target.seq,
        });
        if let Some(r) = self.recovery.in_progress.as_mut() {
            r.reason = RecoveryReason::TransferIncomplete;
        }
        // An unproven target (a claim) is not aimed at again without new answers.
        if self
            .recovery
            .last_target
            .as_ref()
            .is_some_and(|t| !t.is_proven_by(&self.membership, &self.config.chain_id))
        {
            self.recovery.last_target = None;
        }
        self.new_query_round();
    }

    /// The ledger holds every block up to `stable`: make it our stable checkpoint and
    /// resume there. Slots above it stay (we never sign anything else there); their
    /// executions are redone, since the host's speculative state is gone.
    fn resume_at(&mut self, stable: StableCheckpoint, timestamp_ms: u64) {
        let seq = stable.seq;
        self.make_stable(stable);
        self.last_committed = seq;
        self.execution.last_committed_timestamp_ms = timestamp_ms;
        self.execution.executed_through = seq;
        self.execution.executing = None;
        self.proposing.proposal_requested = None;
        self.proposing.proposed_since_start = seq;
        self.proposing.next_proposal = self.proposing.next_proposal.max(seq.next());
        if self.recovery.floor <= seq {
            self.recovery.floor = SeqNo(0);
        }
        self.view_change.reordered = self.view_change.reordered.split_off(&seq.next());
        self.log.reset_executions();
        self.timers.progress_at_ms = self.now_ms;
        self.timers.last_heard_primary_ms = self.now_ms;
        self.recovery.ahead_checkpoints.retain(|_, s| *s > seq);
        self.ready
            .persist
            .push(PersistEntry::Resumed { seq, timestamp_ms });
    }
}
