//! The primary's batching (DESIGN.md section 3 step 2): it asks the host for a
//! proposal when the pool is full enough or old enough and the window has room, then
//! signs and broadcasts the PRE-PREPARE.

use super::Replica;
use crate::log::AcceptedPrePrepare;
use crate::message::{Batch, Message, PrePrepare};
use crate::output::{IgnoreReason, Ignored, ProposalRequest};
use crate::types::SeqNo;
use crypto::Hash;

/// What the host last said about its pool (`Input::TxsAvailable`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PoolStatus {
    pub(super) count: usize,
    pub(super) oldest_ms: u64,
}

/// The primary's batching (`primary.rs`).
#[derive(Debug)]
pub(super) struct Proposing {
    pub(super) pool: PoolStatus,
    /// Primary: the height of the outstanding `ProposalRequest`.
    pub(super) proposal_requested: Option<SeqNo>,
    /// Primary: the next height to propose.
    pub(super) next_proposal: SeqNo,
    /// The last height this replica proposed since it started: its host built that
    /// proposal, so it holds the state after it. See `maybe_request_proposal`.
    pub(super) proposed_since_start: SeqNo,
}

impl Proposing {
    pub(super) fn new() -> Self {
        Proposing {
            pool: PoolStatus::default(),
            proposal_requested: None,
            next_proposal: SeqNo(1),
            proposed_since_start: SeqNo(0),
        }
    }
}

impl Replica {
    pub(super) fn on_txs_available(&mut self, count: usize, oldest_ms: u64) {
        self.proposing.pool = PoolStatus { count, oldest_ms };
    }

    /// The host's batch for the requested height: checked like any pre-prepare's
    /// batch, then signed, persisted and broadcast. The primary sends no PREPARE.
    pub(super) fn on_proposal(&mut self, seq: SeqNo, batch: Batch, result: Hash) {
        if !self.is_primary()
            || self.view_change.changing.is_some()
            || self.proposing.proposal_requested != Some(seq)
        {
            self.ready.ignored.push(Ignored::Proposal {
                seq,
                reason: IgnoreReason::NotRequested,
            });
            return;
        }
        self.proposing.proposal_requested = None;
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
        self.proposing.next_proposal = seq.next();
        self.proposing.proposed_since_start = seq;
        self.timers.last_primary_send_ms = self.now_ms;
        self.proposing.pool = PoolStatus::default();
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
        if !self.is_primary()
            || self.proposing.proposal_requested.is_some()
            || self.view_change.changing.is_some()
        {
            return;
        }
        let seq = self.proposing.next_proposal;
        // With a membership change pending, the old epoch orders up to its last
        // height even without transactions (empty batches), so the change takes
        // effect on an idle chain too.
        let end = self.epoch_end();
        let idle = self.proposing.pool.count == 0 && end.is_none();
        if !self.log.in_window(seq) || idle || !self.may_sign(seq) {
            return;
        }
        if end.is_some_and(|end| seq > end) || self.awaits_finish() {
            return;
        }
        if seq.prev()
            > self
                .execution
                .executed_through
                .max(self.proposing.proposed_since_start)
        {
            return;
        }
        let full = self.proposing.pool.count >= self.config.batch_max_txs as usize;
        let waited = self.now_ms
            >= self
                .proposing
                .pool
                .oldest_ms
                .saturating_add(self.config.batch_timeout_ms);
        if full || waited {
            self.ready.propose = Some(ProposalRequest {
                seq,
                max_txs: self.config.batch_max_txs,
            });
            self.proposing.proposal_requested = Some(seq);
        }
    }
}
