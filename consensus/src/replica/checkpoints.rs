//! Checkpoints, stability, garbage collection and watermarks (DESIGN.md section 4).

use super::Replica;
use crate::message::{Checkpoint, Message, MessageKind, SignedMessage};
use crate::output::{IgnoreReason, PersistEntry};
use crate::types::SeqNo;
use crypto::Hash;

impl Replica {
    /// Every K heights, after committing: sign and broadcast CHECKPOINT `<n, b>`.
    pub(super) fn sign_checkpoint(&mut self, seq: SeqNo, block_hash: Hash) {
        if self.checkpoints.own(seq, self.config.me).is_some() {
            // Signed before a restart; the same message stands.
            return;
        }
        if !self.membership.at(seq).contains(self.config.me) {
            return;
        }
        let checkpoint = Checkpoint { seq, block_hash };
        let signed = self.sign_persist_broadcast(&Message::Checkpoint(checkpoint));
        let outcome = self.checkpoints.add(self.config.me, checkpoint, signed);
        assert!(
            matches!(outcome, crate::log::VoteOutcome::Added),
            "one checkpoint per height"
        );
    }

    /// Records another replica's CHECKPOINT for a checkpoint height inside the window.
    /// One above H is refused (memory stays bounded by the window), but noted: f + 1
    /// validators there start recovery (DESIGN.md section 4).
    pub(super) fn on_checkpoint(&mut self, signed: SignedMessage, checkpoint: Checkpoint) {
        let seq = checkpoint.seq;
        if let Err(reason) = self.refuse_checkpoint(&signed, seq) {
            if seq > self.log.high() && matches!(reason, IgnoreReason::OutsideWindow { .. }) {
                self.heard_checkpoint_ahead(signed.sender, seq);
            }
            self.ignore(&signed, seq, reason);
            return;
        }
        let outcome = self
            .checkpoints
            .add(signed.sender, checkpoint, signed.clone());
        self.vote_recorded(outcome, &signed, seq, MessageKind::Checkpoint);
    }

    fn refuse_checkpoint(&self, signed: &SignedMessage, seq: SeqNo) -> Result<(), IgnoreReason> {
        if signed.sender == self.config.me {
            return Err(IgnoreReason::FromSelf);
        }
        if seq.0 % self.config.checkpoint_interval != 0 {
            return Err(IgnoreReason::NotACheckpointHeight);
        }
        if !self.membership.at(seq).contains(signed.sender) {
            return Err(IgnoreReason::NotAMember {
                sender: signed.sender,
            });
        }
        if !self.log.in_window(seq) {
            return Err(IgnoreReason::OutsideWindow {
                low: self.log.low(),
                high: self.log.high(),
            });
        }
        Ok(())
    }

    /// Makes the highest provable checkpoint stable: persist its proof, drop every
    /// pre-prepare, prepare, commit and checkpoint vote at or below it, and move the
    /// watermarks to `h = n`, `H = n + L`.
    pub(super) fn stabilize(&mut self) -> bool {
        let k = self.config.checkpoint_interval;
        let mut seq = SeqNo(self.last_committed.0 / k * k);
        while seq > self.log.low() {
            let epoch = self.membership.at(seq);
            let q = epoch.q();
            let proof = if epoch.contains(self.config.me) {
                self.checkpoints.proof(seq, self.config.me, q)
            } else {
                self.checkpoints.proof_of_others(seq, q)
            };
            if let Some(stable) = proof {
                if self.make_stable(stable) {
                    self.begin_epoch();
                }
                return true;
            }
            seq = SeqNo(seq.0 - k);
        }
        false
    }

    /// Records `stable` (persisted, reported to the host) and garbage-collects below
    /// it: the log, checkpoint votes and prepared certificates at or below it.
    /// Committed heights are kept one window further: a view change begun before
    /// this checkpoint may still re-order them, and its new primary needs their
    /// results.
    ///
    /// Returns whether this moved the replica into a new epoch (the checkpoint is
    /// the old epoch's last height or beyond); the old epoch's view-change state is
    /// dropped then, whichever way the checkpoint came.
    pub(super) fn make_stable(&mut self, stable: crate::checkpoint::StableCheckpoint) -> bool {
        let epoch_before = self.epoch().first;
        let seq = stable.seq;
        self.ready
            .persist
            .push(PersistEntry::StableCheckpoint(stable.clone()));
        self.ready.stable_checkpoint = Some(stable.clone());
        self.checkpoints.make_stable(stable);
        self.log.advance_low(seq);
        self.view_change.certificates = self.view_change.certificates.split_off(&seq.next());
        let keep_from = SeqNo(seq.0.saturating_sub(self.config.log_window)).next();
        self.execution.commits = self.execution.commits.split_off(&keep_from);
        let entered = self.epoch().first != epoch_before;
        if entered {
            self.forget_old_epoch();
        }
        entered
    }
}
