//! PRE-PREPARE acceptance (DESIGN.md section 3 step 2) and the backup's PREPARE
//! (step 3).

use super::Replica;
use crate::log::AcceptedPrePrepare;
use crate::message::{Batch, Message, PrePrepare, Prepare, SignedMessage};
use crate::output::{Fault, IgnoreReason, PersistEntry};
use crate::types::{ReplicaId, SeqNo};

impl Replica {
    /// Step 2: a backup accepts the primary's pre-prepare if every guard passes, then
    /// persists it with its own PREPARE and sends that PREPARE (step 3).
    pub(super) fn on_pre_prepare(&mut self, signed: SignedMessage, pp: PrePrepare) {
        if let Err(reason) = self.refuse_pre_prepare(&signed, &pp) {
            let malformed = matches!(
                reason,
                IgnoreReason::DigestMismatch { .. }
                    | IgnoreReason::TooManyTxs { .. }
                    | IgnoreReason::DuplicateTx
                    | IgnoreReason::WrongProposer { .. }
            );
            if malformed {
                self.ready.faults.push(Fault::MalformedPrePrepare {
                    view: pp.view,
                    seq: pp.seq,
                    reason: reason.clone(),
                    evidence: signed.clone(),
                });
            }
            self.ignore(&signed, pp.seq, reason);
            return;
        }
        self.timers.last_heard_primary_ms = self.now_ms;
        self.accept_pre_prepare(signed, pp);
    }

    /// Takes `pp` into its slot and persists it; a backup signs, persists and sends
    /// its PREPARE (or, restored with one signed already, sends that one again). The
    /// caller has checked it: the step 2 guards here, or the NEW-VIEW it came in.
    pub(super) fn accept_pre_prepare(&mut self, signed: SignedMessage, pp: PrePrepare) {
        let seq = pp.seq;
        let prepare = Prepare {
            view: pp.view,
            seq,
            digest: pp.digest,
        };
        self.ready
            .persist
            .push(PersistEntry::Message(signed.clone()));
        self.log.slot_mut(seq).pre_prepare = Some(AcceptedPrePrepare::new(pp, signed));
        if !self.is_primary() {
            self.prepare_once(seq, prepare);
        }
        self.update_prepared(seq);
    }

    fn prepare_once(&mut self, seq: SeqNo, prepare: Prepare) {
        let me = self.config.me;
        let signed_before = self
            .log
            .get(seq)
            .and_then(|slot| slot.prepares.get(&me))
            .map(|vote| vote.signed.clone());
        match signed_before {
            // Restored without its pre-prepare (a host that persisted out of order):
            // the same PREPARE again, never a new one.
            Some(own) => self.ready.then_send.push(crate::output::Outgoing {
                to: crate::output::Target::All,
                message: crate::envelope::Envelope::Message(own),
            }),
            // A wiped replica may have prepared something else here before.
            None if !self.may_sign(seq) => {}
            None => {
                let own = self.sign_persist_broadcast(&Message::Prepare(prepare));
                let outcome =
                    crate::log::insert_vote(&mut self.log.slot_mut(seq).prepares, me, prepare, own);
                assert!(
                    matches!(outcome, crate::log::VoteOutcome::Added),
                    "a replica prepares at most once per (view, seq)"
                );
            }
        }
    }

    /// The step 2 guards, in order; the first that refuses names the reason.
    fn refuse_pre_prepare(
        &mut self,
        signed: &SignedMessage,
        pp: &PrePrepare,
    ) -> Result<(), IgnoreReason> {
        self.refuse_ordering_message(signed.sender, pp.view, pp.seq)?;
        let primary = self.primary();
        if signed.sender != primary {
            return Err(IgnoreReason::NotFromPrimary { primary });
        }
        let computed = pp.batch.digest();
        if computed != pp.digest {
            return Err(IgnoreReason::DigestMismatch { computed });
        }
        self.refuse_second_digest(signed, pp)?;
        match self.view_change.reordered.get(&pp.seq) {
            // Re-ordered by the NEW-VIEW we accepted: checked against V there.
            Some(digest) if *digest == pp.digest => return Ok(()),
            Some(digest) => return Err(IgnoreReason::ConflictingDigest { accepted: *digest }),
            None => {}
        }
        self.refuse_batch(pp.seq, &pp.batch, primary)
    }

    /// One digest per `(view, seq)`: the same pre-prepare again is a duplicate; another
    /// digest is the primary equivocating, reported with both signed messages.
    fn refuse_second_digest(
        &mut self,
        signed: &SignedMessage,
        pp: &PrePrepare,
    ) -> Result<(), IgnoreReason> {
        let slot = self.log.get(pp.seq);
        if let Some(accepted) = slot.and_then(|slot| slot.pre_prepare.as_ref()) {
            if accepted.digest == pp.digest {
                return Err(IgnoreReason::Duplicate);
            }
            let reason = IgnoreReason::ConflictingDigest {
                accepted: accepted.digest,
            };
            let fault = Fault::EquivocatingPrimary {
                view: pp.view,
                seq: pp.seq,
                first: accepted.signed.clone(),
                second: signed.clone(),
            };
            self.ready.faults.push(fault);
            return Err(reason);
        }
        // A PREPARE signed before a restart binds us even without its pre-prepare.
        let own_prepare = slot
            .and_then(|slot| slot.prepares.get(&self.config.me))
            .map(|vote| vote.body.digest);
        match own_prepare {
            Some(prepared) if prepared != pp.digest => {
                Err(IgnoreReason::ConflictingDigest { accepted: prepared })
            }
            _ => Ok(()),
        }
    }

    /// A batch is well formed and within limits, made by the primary, and its
    /// timestamp neither goes back nor runs ahead (step 2). The primary checks its own
    /// host's proposals with the same rules.
    pub(super) fn refuse_batch(
        &self,
        seq: SeqNo,
        batch: &Batch,
        primary: ReplicaId,
    ) -> Result<(), IgnoreReason> {
        let max = self.config.batch_max_txs;
        if batch.tx_hashes.len() > max as usize {
            return Err(IgnoreReason::TooManyTxs {
                txs: batch.tx_hashes.len(),
                max,
            });
        }
        if batch.has_duplicate_tx() {
            return Err(IgnoreReason::DuplicateTx);
        }
        if batch.proposer != primary {
            return Err(IgnoreReason::WrongProposer {
                proposer: batch.proposer,
                primary,
            });
        }
        self.refuse_timestamp(seq, batch.timestamp_ms)
    }

    /// Timestamps never go back along the heights: not before the batch at the
    /// nearest lower height held (or the last committed one), not after the batch at
    /// the nearest higher height held; and not more than `max_clock_drift_ms` ahead of
    /// the host's clock. Comparing by height, not by arrival, keeps honest batches
    /// that arrive out of order acceptable.
    fn refuse_timestamp(&self, seq: SeqNo, timestamp_ms: u64) -> Result<(), IgnoreReason> {
        let (below, above) = self.log.neighbour_timestamps(seq);
        let previous_ms = below
            .unwrap_or(0)
            .max(self.execution.last_committed_timestamp_ms);
        if timestamp_ms < previous_ms {
            return Err(IgnoreReason::TimestampBeforePrevious {
                timestamp_ms,
                previous_ms,
            });
        }
        if let Some(next_ms) = above.filter(|next_ms| timestamp_ms > *next_ms) {
            return Err(IgnoreReason::TimestampAfterNext {
                timestamp_ms,
                next_ms,
            });
        }
        if timestamp_ms > self.now_ms.saturating_add(self.config.max_clock_drift_ms) {
            return Err(IgnoreReason::TimestampTooFarAhead {
                timestamp_ms,
                now_ms: self.now_ms,
            });
        }
        Ok(())
    }
}
