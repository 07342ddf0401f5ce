//! Retransmission. PBFT assumes messages are eventually delivered; a lost message,
//! or one refused because it was above this replica's H when it arrived (its window
//! had not moved yet), would otherwise stall a height forever. A replica that has not
//! committed or moved its window for `retransmit_interval_ms` while it has
//! unfinished work sends its own messages for the window again. They are the same
//! signed bytes, already persisted, so this is never equivocation; receivers drop
//! what they hold as duplicates.
//!
//! The other half: a replica that receives a vote for a height it has committed
//! already knows the sender is behind, and sends it (at most once per interval) what
//! it holds that the sender may lack: the stable checkpoint's proof, and its own
//! messages for the heights from that one up to its committed height. A replica that
//! fell below the others' window needs recovery (DESIGN.md section 5.2,
//! `super::recovery`).

use super::Replica;
use crate::envelope::Envelope;
use crate::message::SignedMessage;
use crate::output::{Outgoing, Target};
use crate::types::{ReplicaId, SeqNo};

/// Retransmission and helping laggards (`retransmit.rs`).
#[derive(Debug)]
pub(super) struct Retransmission {
    /// `(last_committed, h)` when the replica last made progress, and the time it
    /// noticed; see `maybe_retransmit`.
    pub(super) progress_mark: (SeqNo, SeqNo),
    pub(super) progress_ms: u64,
    /// When `progress_mark` last moved (retransmitting does not reset it).
    pub(super) moved_ms: u64,
    /// A message for a height above our committed one arrived since the last
    /// progress: others are ahead, so a stall here is worth retransmitting for.
    pub(super) heard_ahead: bool,
    /// When this replica last helped each lagging replica (index = replica id).
    pub(super) helped_ms: Vec<Option<u64>>,
}

impl Retransmission {
    pub(super) fn new(n: usize) -> Self {
        Retransmission {
            progress_mark: (SeqNo(0), SeqNo(0)),
            progress_ms: 0,
            moved_ms: 0,
            heard_ahead: false,
            helped_ms: vec![None; n],
        }
    }
}

impl Replica {
    pub(super) fn maybe_retransmit(&mut self) {
        let mark = (self.last_committed, self.log.low());
        if mark != self.retransmission.progress_mark {
            self.retransmission.progress_mark = mark;
            self.retransmission.progress_ms = self.now_ms;
            self.retransmission.moved_ms = self.now_ms;
            self.retransmission.heard_ahead = false;
            return;
        }
        let due = self.now_ms
            >= self
                .retransmission
                .progress_ms
                .saturating_add(self.config.retransmit_interval_ms);
        if !due || !self.has_unfinished_work() || self.is_paused() {
            return;
        }
        self.retransmission.progress_ms = self.now_ms;
        if self.view_change.changing.is_some() {
            self.retransmit_view_change();
        }
        for message in self.own_messages_in_window() {
            self.ready.then_send.push(Outgoing {
                to: Target::All,
                message: Envelope::Message(message),
            });
        }
    }

    pub(super) fn help_laggard(&mut self, laggard: ReplicaId, seq: SeqNo) {
        let Some(helped_ms) = self.retransmission.helped_ms.get_mut(laggard.index()) else {
            return;
        };
        let interval = self.config.retransmit_interval_ms;
        if helped_ms.is_some_and(|at| self.now_ms < at.saturating_add(interval)) {
            return;
        }
        *helped_ms = Some(self.now_ms);
        let mut messages: Vec<SignedMessage> = self
            .checkpoints
            .stable()
            .map(|stable| stable.proof.to_vec())
            .unwrap_or_default();
        let from = seq.max(self.log.low().next());
        messages.extend(self.own_messages_in(from, self.last_committed));
        for message in messages.into_iter().filter(|m| m.sender != laggard) {
            self.ready.then_send.push(Outgoing {
                to: Target::One(laggard),
                message: Envelope::Message(message),
            });
        }
    }

    /// A height above the committed one is in the log, a checkpoint is not stable, or
    /// others are known to be ahead.
    fn has_unfinished_work(&self) -> bool {
        let pending_height = self.log.iter().any(|(seq, _)| *seq > self.last_committed);
        let unstable_checkpoint = !self.checkpoints.own_messages(self.config.me).is_empty();
        pending_height
            || unstable_checkpoint
            || self.retransmission.heard_ahead
            || self.view_change.changing.is_some()
    }

    /// Every message this replica signed for heights in `[h, H]`, in height order:
    /// its checkpoint at h (from the stable proof), pre-prepares (as primary),
    /// prepares, commits, then checkpoints above h. The checkpoint at h lets a
    /// replica with an empty log still tell the others where it is.
    fn own_messages_in_window(&self) -> Vec<SignedMessage> {
        let me = self.config.me;
        let mut messages: Vec<SignedMessage> = self
            .checkpoints
            .stable()
            .into_iter()
            .flat_map(|stable| stable.proof.iter().filter(|signed| signed.sender == me))
            .cloned()
            .collect();
        messages.extend(self.own_messages_in(self.log.low(), self.log.high()));
        messages
    }

    /// The same for heights in `[from, to]` (clipped to the window).
    fn own_messages_in(&self, from: SeqNo, to: SeqNo) -> Vec<SignedMessage> {
        let me = self.config.me;
        let mut messages = Vec::new();
        for (_, slot) in self
            .log
            .iter()
            .filter(|(seq, _)| from <= **seq && **seq <= to)
        {
            if let Some(pp) = slot
                .pre_prepare
                .as_ref()
                .filter(|pp| pp.signed.sender == me)
            {
                messages.push(pp.signed.clone());
            }
            if let Some(vote) = slot.prepares.get(&me) {
                messages.push(vote.signed.clone());
            }
            if let Some(vote) = slot.commits.get(&me) {
                messages.push(vote.signed.clone());
            }
        }
        messages.extend(self.checkpoints.own_messages(me));
        messages
    }
}
