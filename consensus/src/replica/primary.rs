//! The primary's batching (DESIGN.md section 3 step 2): it asks the host for a
//! proposal when the pool is full enough or old enough and the window has room, then
//! signs and broadcasts the PRE-PREPARE.

use super::{PoolStatus, Replica};
use crate::log::AcceptedPrePrepare;
use crate::message::{Batch, Message, PrePrepare};
use crate::output::{IgnoreReason, Ignored, ProposalRequest};
use crate::types::SeqNo;
use crypto::Hash;

impl Replica {
    /// Logical time moves forward only. It drives the batch timeout (in `advance`)
    /// and retransmission.
    pub(super) fn on_tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        if !self.clock_started {
            self.clock_started = true;
            self.last_heard_primary_ms = self.now_ms;
            self.last_primary_send_ms = self.now_ms;
            self.progress_at_ms = self.now_ms;
        }
        self.maybe_retransmit();
        self.maybe_recover_behind();
        self.check_timers();
    }

    pub(super) fn on_txs_available(&mut self, count: usize, oldest_ms: u64) {
        self.pool = PoolStatus { count, oldest_ms };
    }

    /// The host's batch for the requested height: checked like any pre-prepare's
    /// batch, then signed, persisted and broadcast. The primary sends no PREPARE.
    pub(super) fn on_proposal(&mut self, seq: SeqNo, batch: Batch, result: Hash) {
        if !self.is_primary() || self.changing.is_some() || self.proposal_requested != Some(seq) {
            self.ready.ignored.push(Ignored::Proposal {
                seq,
                reason: IgnoreReason::NotRequested,
            });
            return;
        }
        self.proposal_requested = None;
        if let Err(reason) = self.refuse_batch(seq, &batch, self.config.me) {
            self.ready.ignored.push(Ignored::Proposal { seq, reason });
            return;
        }
        let pp = PrePrepare {
            view: self.view,
            seq,
            digest: batch.digest(),
            batch,
            result,
        };
        let signed = self.sign_persist_broadcast(&Message::PrePrepare(pp.clone()));
        self.log.slot_mut(seq).pre_prepare = Some(AcceptedPrePrepare::new(pp, signed));
        self.next_proposal = seq.next();
        self.proposed_since_start = seq;
        self.last_primary_send_ms = self.now_ms;
        self.pool = PoolStatus::default();
        self.update_prepared(seq);
    }

    /// Asks for a proposal when this replica is primary, none is outstanding, the next
    /// height is below H, the host holds the state the proposal builds on, and the
    /// pool holds `batch_max_txs` transactions or its oldest has waited
    /// `batch_timeout_ms`.
    ///
    /// The host computes the proposal's result on the state after `seq - 1`, so it
    /// must have that state: it executed `seq - 1` on request, or built the proposal
    /// at `seq - 1` itself since this replica started. A primary restarted (or moved
    /// to a checkpoint) with pre-prepares it signed before holds heights its new host
    /// never executed; it waits until they are executed again.
    pub(super) fn maybe_request_proposal(&mut self) {
        if !self.is_primary() || self.proposal_requested.is_some() || self.changing.is_some() {
            return;
        }
        let seq = self.next_proposal;
        // With a membership change pending, the old epoch orders up to its last
        // height even without transactions (empty batches), so the change takes
        // effect on an idle chain too.
        let end = self.epoch_end();
        let idle = self.pool.count == 0 && end.is_none();
        if !self.log.in_window(seq) || idle || !self.may_sign(seq) {
            return;
        }
        if end.is_some_and(|end| seq > end) || self.awaits_finish() {
            return;
        }
        if seq.prev() > self.executed_through.max(self.proposed_since_start) {
            return;
        }
        let full = self.pool.count >= self.config.batch_max_txs as usize;
        let waited = self.now_ms
            >= self
                .pool
                .oldest_ms
                .saturating_add(self.config.batch_timeout_ms);
        if full || waited {
            self.ready.propose = Some(ProposalRequest {
                seq,
                max_txs: self.config.batch_max_txs,
            });
            self.proposal_requested = Some(seq);
        }
    }
}
