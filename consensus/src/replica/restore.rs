//! Resuming from a [`PersistedState`] without equivocating (DESIGN.md section 2).
//!
//! The replica reloads the pre-prepares it accepted and the prepares, commits and
//! checkpoints it signed. The acceptance guards then refuse any other digest for
//! those `(view, seq)`, and it never signs a second vote where it holds one. A height
//! with its own COMMIT counts as prepared (it signed COMMIT only when prepared) and
//! is executed again; the host must get the same block hash, or the replica reports
//! `Fault::ExecutionDiverged` rather than sign another.
//!
//! Heights committed but not yet under a stable checkpoint keep their messages too:
//! until a checkpoint covers them, a replica that missed them can only complete
//! them with these (retransmission and `help_laggard`), so dropping them on restart
//! could leave the laggard, and with it the next checkpoint, stuck for good. They
//! are never executed or committed again: both start above `last_committed`.

use super::Replica;
use crate::checkpoint::Checkpoints;
use crate::checkpoint::StableCheckpoint;
use crate::log::{insert_vote, AcceptedPrePrepare, Execution, Log, VoteOutcome};
use crate::message::{Message, SignedMessage};
use crate::persist::{PersistedState, RestoreError};
use crate::types::SeqNo;
use crate::verify::verify;

impl Replica {
    pub(super) fn restore(&mut self, state: PersistedState) -> Result<(), RestoreError> {
        let low = match &state.stable_checkpoint {
            Some(stable) => {
                self.check_proof(stable)?;
                stable.seq
            }
            None => SeqNo(0),
        };
        self.log = Log::new(low, self.config.log_window);
        self.checkpoints = Checkpoints::restored(state.stable_checkpoint.clone());
        self.view = state.view;
        if state.last_committed < low {
            return Err(RestoreError::CommittedOutsideWindow {
                last_committed: state.last_committed,
                low,
                high: self.log.high(),
            });
        }
        if state.last_committed > self.log.high() {
            // A transfer stopped between checkpoints: the ledger is past our window.
            // The replica stays at h and orders nothing until recovery transfers to
            // a checkpoint at or above the ledger's height.
            self.recovery.floor = state.last_committed;
            self.last_committed = low;
            self.execution.last_committed_timestamp_ms = 0;
            self.execution.executed_through = low;
        } else {
            self.last_committed = state.last_committed;
            self.execution.last_committed_timestamp_ms = state.last_committed_timestamp_ms;
            self.execution.executed_through = state.last_committed;
        }
        self.restore_view_change(&state, low);
        for (index, signed) in state.log.iter().enumerate() {
            self.restore_message(index, signed)?;
        }
        self.finish_restore();
        Ok(())
    }

    /// The view-change state: changing or not, our last VIEW-CHANGE and the NEW-VIEW
    /// of our view (to resend), the P set and the committed heights above h.
    fn restore_view_change(&mut self, state: &PersistedState, low: SeqNo) {
        let view = self.view;
        self.view_change.changing = state.changing.then_some(super::view_change::Changing {
            timer_from_ms: None,
        });
        if let Some(signed) = &state.view_change {
            if let Some(vc) = crate::envelope::decode_view_change(signed) {
                self.view_change.own_view_change = Some((vc.new_view, signed.clone()));
                if vc.new_view == view && state.changing {
                    self.view_change
                        .view_changes
                        .insert(self.config.me, (signed.clone(), vc));
                }
            }
        }
        let new_view = state
            .new_view
            .as_ref()
            .and_then(|signed| Some((signed, crate::envelope::decode_new_view(signed)?)))
            .filter(|(_, nv)| nv.view == view);
        if let Some((signed, nv)) = new_view {
            self.view_change.new_view_message = Some(signed.clone());
            for signed in nv.pre_prepares.iter() {
                if let Ok(Message::PrePrepare(pp)) =
                    <Message as crypto::Canonical>::from_canonical_bytes(&signed.payload)
                {
                    self.view_change.reordered.insert(pp.seq, pp.digest);
                }
            }
        }
        for certificate in state.prepared.iter() {
            let Ok(Message::PrePrepare(pp)) = <Message as crypto::Canonical>::from_canonical_bytes(
                &certificate.pre_prepare.payload,
            ) else {
                continue;
            };
            if pp.seq > low && self.log.in_window(pp.seq) {
                self.view_change
                    .certificates
                    .insert(pp.seq, (pp.view, certificate.clone()));
            }
        }
        for record in state.commits.iter() {
            let floor = SeqNo(low.0.saturating_sub(self.config.log_window));
            if record.seq > floor && record.seq <= state.last_committed {
                self.execution.commits.insert(record.seq, *record);
            }
        }
    }

    /// A stable checkpoint's proof: at a checkpoint height, `q` distinct validators
    /// signed this exact checkpoint.
    fn check_proof(&self, stable: &StableCheckpoint) -> Result<(), RestoreError> {
        let at_interval = stable.seq.0 % self.config.checkpoint_interval == 0;
        if at_interval && stable.is_proven_by(&self.membership, &self.config.chain_id) {
            Ok(())
        } else {
            Err(RestoreError::CheckpointProof { seq: stable.seq })
        }
    }

    fn restore_message(
        &mut self,
        index: usize,
        signed: &SignedMessage,
    ) -> Result<(), RestoreError> {
        let verified = verify(signed, self.membership.roster(), &self.config.chain_id)
            .map_err(|reason| RestoreError::BadMessage { index, reason })?;
        let message = verified.message().clone();
        let seq = message.seq();
        let stale =
            !self.log.in_window(seq) || message.view().is_some_and(|view| view != self.view);
        if stale {
            return Ok(());
        }
        let me = self.config.me;
        let conflicting = RestoreError::Conflicting { index, seq };
        let foreign = RestoreError::ForeignMessage { index };
        let signed = signed.clone();
        let added = match message {
            Message::PrePrepare(pp) => {
                if signed.sender != self.membership.at(seq).primary(pp.view)
                    || pp.batch.digest() != pp.digest
                {
                    return Err(foreign);
                }
                let slot = self.log.slot_mut(seq);
                match &slot.pre_prepare {
                    Some(accepted) if accepted.digest != pp.digest => return Err(conflicting),
                    Some(_) => {}
                    None => slot.pre_prepare = Some(AcceptedPrePrepare::new(pp, signed)),
                }
                VoteOutcome::Added
            }
            _ if signed.sender != me => return Err(foreign),
            Message::Prepare(prepare) => {
                insert_vote(&mut self.log.slot_mut(seq).prepares, me, prepare, signed)
            }
            Message::Commit(commit) => {
                insert_vote(&mut self.log.slot_mut(seq).commits, me, commit, signed)
            }
            Message::Checkpoint(checkpoint) => self.checkpoints.add(me, checkpoint, signed),
            // Heartbeats are never persisted; one on disk promises nothing.
            Message::Heartbeat(_) => return Ok(()),
        };
        match added {
            VoteOutcome::Conflict { .. } => Err(conflicting),
            VoteOutcome::Added | VoteOutcome::Duplicate => Ok(()),
        }
    }

    /// Heights with our own COMMIT are prepared, and committed ones executed with the
    /// block hash that COMMIT names; the primary proposes after the last height it
    /// holds a pre-prepare for, so it never signs a second one.
    fn finish_restore(&mut self) {
        let me = self.config.me;
        let mut prepared = Vec::new();
        let mut highest_pre_prepared = self.last_committed;
        for (seq, slot) in self.log.iter() {
            if slot.pre_prepare.is_some() {
                highest_pre_prepared = highest_pre_prepared.max(*seq);
                if let Some(own) = slot.commits.get(&me) {
                    prepared.push((*seq, own.body.block_hash));
                }
            }
        }
        for (seq, block_hash) in prepared {
            let committed = seq <= self.last_committed;
            let slot = self.log.slot_mut(seq);
            slot.prepared = true;
            if committed {
                slot.execution = Execution::Valid { block_hash };
            }
        }
        // A primary never proposes at a height its NEW-VIEW ordered, even one it
        // had not logged.
        let highest_reordered = self.view_change.reordered.keys().next_back().copied();
        let highest =
            highest_reordered.map_or(highest_pre_prepared, |seq| seq.max(highest_pre_prepared));
        self.proposing.next_proposal = highest.next();
        for seq in self.held_heights() {
            self.update_prepared(seq);
        }
    }
}
