//! The answering side of recovery: what a replica sends a validator that asks
//! for its view, its checkpoint, or the P, Q and C information above a height.
//! Each kind of answer goes to each asker at most once per half retransmit
//! interval (askers retry once per interval), so a Byzantine asker cannot make a
//! replica flood the network.

use super::super::Replica;
use super::{FETCH, INIT, NEGOTIATE};
use crate::envelope::Envelope;
use crate::message::SignedMessage;
use crate::output::{Outgoing, Target};
use crate::recovery::{validator_set_digest, Recovery};
use crate::types::{ReplicaId, SeqNo};
use crypto::PublicKey;

impl Replica {
    /// Rate limit: each asker gets each kind of answer at most once per half
    /// retransmit interval (its retries come once per interval).
    fn may_answer(&mut self, asker: ReplicaId, kind: usize) -> bool {
        let interval = self.config.retransmit_interval_ms / 2;
        let now = self.now_ms;
        let Some(slots) = self.recovery.answered_ms.get_mut(asker.index()) else {
            return false;
        };
        if slots[kind].is_some_and(|at| now < at.saturating_add(interval)) {
            return false;
        }
        slots[kind] = Some(now);
        true
    }

    /// The digest of the keys of the epoch in force, in order.
    pub(super) fn epoch_digest(&self) -> crypto::Hash {
        let keys: Vec<PublicKey> = self
            .epoch()
            .members
            .iter()
            .filter_map(|id| self.membership.key_of(*id).copied())
            .collect();
        validator_set_digest(&keys)
    }

    /// Whom this replica answers: a validator of this or an earlier epoch, or a
    /// joining one a quorum admitted (DESIGN.md section 6).
    pub(super) fn serves(&self, asker: ReplicaId) -> bool {
        let first = self.epoch().first;
        self.membership
            .epochs()
            .iter()
            .any(|e| e.first <= first && e.contains(asker))
            || self.admitted(asker)
    }

    pub(super) fn answer_negotiate(&mut self, asker: ReplicaId, round: u64) {
        if !self.may_answer(asker, NEGOTIATE) {
            return;
        }
        self.remind_joiner(asker);
        let answer = Recovery::NegotiateViewResponse {
            round,
            view: self.view,
            changing: self.view_change.changing.is_some(),
            n: self.n() as u32,
            validators: self.epoch_digest(),
        };
        self.send_recovery(Target::One(asker), &answer);
        // What brings the asker into our view: the NEW-VIEW that began it, or, while
        // we change views, our VIEW-CHANGE (f + 1 of them make it join).
        let evidence = if self.view_change.changing.is_some() {
            self.view_change
                .own_view_change
                .as_ref()
                .filter(|(view, _)| *view == self.view)
                .map(|(_, signed)| Envelope::ViewChange(signed.clone()))
        } else {
            self.view_change
                .new_view_message
                .clone()
                .map(Envelope::NewView)
        };
        if let Some(message) = evidence {
            self.ready.then_send.push(Outgoing {
                to: Target::One(asker),
                message,
            });
        }
    }

    pub(super) fn answer_init(&mut self, asker: ReplicaId, round: u64) {
        if !self.may_answer(asker, INIT) {
            return;
        }
        let last_block_hash = self
            .execution
            .commits
            .get(&self.last_committed)
            .map(|record| record.block_hash)
            .or_else(|| {
                self.checkpoints
                    .stable()
                    .filter(|s| s.seq == self.last_committed)
                    .map(|s| s.block_hash)
            });
        let answer = Recovery::RecoveryResponse {
            round,
            stable: self.checkpoints.stable().cloned(),
            last_committed: self.last_committed,
            last_block_hash,
        };
        self.send_recovery(Target::One(asker), &answer);
    }

    /// The P, Q and C information above `from`: the stable checkpoint's proof, every
    /// pre-prepare accepted and every prepare, commit and checkpoint signed here,
    /// and the NEW-VIEW of this view.
    pub(super) fn answer_fetch(&mut self, asker: ReplicaId, from: SeqNo) {
        if !self.may_answer(asker, FETCH) {
            return;
        }
        let me = self.config.me;
        let mut messages: Vec<SignedMessage> = self
            .checkpoints
            .stable()
            .map(|stable| stable.proof.to_vec())
            .unwrap_or_default();
        for (_, slot) in self.log.iter().filter(|(seq, _)| **seq > from) {
            if let Some(pp) = &slot.pre_prepare {
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
        if self.view_change.changing.is_none() {
            if let Some(new_view) = self.view_change.new_view_message.clone() {
                self.ready.then_send.push(Outgoing {
                    to: Target::One(asker),
                    message: Envelope::NewView(new_view),
                });
            }
        }
        for message in messages.into_iter().filter(|m| m.sender != asker) {
            self.ready.then_send.push(Outgoing {
                to: Target::One(asker),
                message: Envelope::Message(message),
            });
        }
    }
}
