//! NEW-VIEW (DESIGN.md section 5.1 steps 2 and 3): the new primary learning Q's
//! results and sending it, a backup checking and accepting it, and entering the
//! view, where Q's pre-prepares become ordinary ones and committed heights are
//! voted for again.

use super::Replica;
use crate::envelope::{Envelope, VerifiedNewView};
use crate::log::Execution;
use crate::message::{Message, PrePrepare, SignedMessage};
use crate::output::{
    ExecuteRequest, Fault, IgnoreReason, Ignored, Outgoing, PersistEntry, Target, ViewChangeReason,
    ViewChangeStarted,
};
use crate::types::{SeqNo, View};
use crate::view_change::{NewView, SignedNewView};
use crate::view_change_checks::{check_new_view, CheckedNewView};
use crypto::codec::BoundedVec;
use crypto::Hash;

impl Replica {
    // ----- NEW-VIEW, the primary's side -----

    /// The new primary learns the result of each batch Q orders: from its record for
    /// heights it committed, by asking its host to execute the others in order. It
    /// needs the state at `min_s`; a primary behind it waits (for state transfer).
    /// With every result known it signs Q and NEW-VIEW and enters the view.
    pub(super) fn build_new_view(&mut self) -> bool {
        let Some(building) = self.view_change.building.as_ref() else {
            return false;
        };
        if self.execution.executing.is_some() || building.selection.low() > self.last_committed {
            return false;
        }
        let index = building.results.len();
        let Some((seq, batch, digest)) = building.selection.entries.get(index).cloned() else {
            self.send_new_view();
            return true;
        };
        if seq <= self.last_committed {
            let record = self.execution.commits.get(&seq).copied();
            match record {
                Some(record) if record.digest == digest => {
                    if let Some(building) = self.view_change.building.as_mut() {
                        building.results.push(record.state_root);
                    }
                    return true;
                }
                Some(record) => {
                    // V orders another digest where we committed: more than f faulty.
                    self.ready
                        .faults
                        .push(Fault::NewViewConflictsWithCommitted {
                            view: self.view,
                            seq,
                            committed: record.digest,
                            proposed: digest,
                        });
                    self.view_change.building = None;
                    return false;
                }
                None => {
                    // Committed here without a record (state transfer brought the
                    // block, or the record was pruned): nothing says V is wrong, but
                    // this primary cannot give the height's result. It builds no
                    // NEW-VIEW, and the view-change timer hands the view to the next.
                    self.view_change.building = None;
                    return false;
                }
            }
        }
        self.ready.execute.push(ExecuteRequest {
            seq,
            view: self.view,
            digest,
            batch,
            result: None,
        });
        self.execution.executing = Some(seq);
        true
    }

    /// Whether `(seq, digest)` is the Q height the new primary asked its host for.
    pub(super) fn building_awaits(&self, seq: SeqNo, digest: Hash) -> bool {
        let Some(building) = &self.view_change.building else {
            return false;
        };
        self.execution.executing == Some(seq)
            && building
                .selection
                .entries
                .get(building.results.len())
                .is_some_and(|(s, _, d)| *s == seq && *d == digest)
    }

    /// The host's result for a Q height. A batch that does not execute leaves the
    /// new primary unable to build the view; the view-change timer moves on.
    pub(super) fn on_built(&mut self, outcome: crate::input::ExecOutcome) {
        self.execution.executing = None;
        match outcome {
            crate::input::ExecOutcome::Valid { state_root, .. } => {
                if let Some(building) = self.view_change.building.as_mut() {
                    building.results.push(state_root);
                }
            }
            crate::input::ExecOutcome::Invalid => self.view_change.building = None,
        }
    }

    /// Signs Q's pre-prepares and NEW-VIEW, sends it, and enters the view.
    fn send_new_view(&mut self) {
        let building = self.view_change.building.take().expect("building");
        let mut pre_prepares = Vec::new();
        for ((seq, batch, digest), result) in
            building.selection.entries.iter().zip(&building.results)
        {
            let pp = PrePrepare {
                view: self.view,
                seq: *seq,
                digest: *digest,
                batch: batch.clone(),
                result: *result,
            };
            let signed = SignedMessage::sign(
                &self.key,
                &self.config.chain_id,
                self.config.me,
                &Message::PrePrepare(pp.clone()),
            );
            pre_prepares.push((signed, pp));
        }
        let nv = NewView {
            view: self.view,
            view_changes: BoundedVec::new(building.view_changes).expect("at most N"),
            pre_prepares: BoundedVec::new(
                pre_prepares
                    .iter()
                    .map(|(signed, _)| signed.clone())
                    .collect(),
            )
            .expect("Q spans at most L heights"),
        };
        let signed = SignedNewView::sign(&self.key, &self.config.chain_id, self.config.me, &nv);
        // Persisted by `enter_view` in the same Ready, so it is durable before it leaves.
        self.ready.then_send.push(Outgoing {
            to: Target::All,
            message: Envelope::NewView(signed.clone()),
        });
        let checked = CheckedNewView {
            view: self.view,
            selection: building.selection,
            pre_prepares,
        };
        self.proposing.proposed_since_start = checked.selection.high();
        self.enter_view(checked, signed);
    }

    // ----- NEW-VIEW, the backup's side -----

    pub(super) fn on_new_view(&mut self, verified: VerifiedNewView) {
        let (signed, nv) = verified.into_parts();
        let sender = signed.sender;
        let old =
            nv.view < self.view || (nv.view == self.view && self.view_change.changing.is_none());
        if sender == self.config.me || old {
            let reason = if sender == self.config.me {
                IgnoreReason::FromSelf
            } else {
                IgnoreReason::OldView {
                    view: nv.view,
                    current: self.view,
                }
            };
            self.ready.ignored.push(Ignored::Message {
                sender,
                kind: signed.kind,
                seq: SeqNo(0),
                reason,
            });
            return;
        }
        // V's checkpoint decides the epoch (and so the signers and the primary):
        // one beyond what this replica can know is not judged.
        let low = nv
            .view_changes
            .iter()
            .filter_map(crate::envelope::decode_view_change)
            .filter_map(|vc| vc.checkpoint.map(|c| c.seq))
            .max()
            .unwrap_or(SeqNo(0));
        if !self.knows_epoch_of(low.next()) {
            self.ready.ignored.push(Ignored::Message {
                sender,
                kind: signed.kind,
                seq: low,
                reason: IgnoreReason::UnknownEpoch { seq: low },
            });
            return;
        }
        #[cfg(feature = "test-faults")]
        let checked = if self.faults.skip_new_view_check {
            crate::view_change_checks::check_new_view_skipping_q(
                &nv,
                sender,
                &self.config,
                &self.membership,
            )
        } else {
            check_new_view(&nv, sender, &self.config, &self.membership)
        };
        #[cfg(not(feature = "test-faults"))]
        let checked = check_new_view(&nv, sender, &self.config, &self.membership);
        match checked {
            Ok(checked)
                if checked.selection.low() < self.epoch().first.prev()
                    || (self.membership.at(checked.selection.low().next()).first
                        != self.epoch().first
                        && checked.selection.low() > self.last_committed) =>
            {
                // A view of an epoch this replica has left, or of one it cannot
                // enter yet (it has not committed the switch checkpoint; recovery
                // brings it there).
                self.ready.ignored.push(Ignored::Message {
                    sender,
                    kind: signed.kind,
                    seq: checked.selection.low(),
                    reason: IgnoreReason::NotAMember { sender },
                });
            }
            Ok(checked) => {
                if nv.view > self.view {
                    // A NEW-VIEW for a view above ours, proven by q VIEW-CHANGEs.
                    self.ready.view_changes.push(ViewChangeStarted {
                        from: self.view,
                        to: nv.view,
                        reason: ViewChangeReason::JoinedQuorum,
                    });
                    self.view = nv.view;
                }
                self.enter_view(checked, signed);
            }
            Err(reason) => self.ready.faults.push(Fault::BadNewView { sender, reason }),
        }
    }

    /// Enters the view of `checked`: persist the NEW-VIEW, then take Q as ordinary
    /// pre-prepares (DESIGN.md section 5.1 step 3). Heights this replica committed
    /// already are voted for again with the block hash it committed; a Q digest
    /// that differs from a committed one is reported and never voted for.
    fn enter_view(&mut self, checked: CheckedNewView, signed: SignedNewView) {
        self.view = checked.view;
        self.view_change.changing = None;
        self.view_change.building = None;
        self.leave_view();
        let view = self.view;
        self.view_change
            .view_changes
            .retain(|_, (_, vc)| vc.new_view > view);
        self.ready
            .persist
            .push(PersistEntry::NewView(signed.clone()));
        self.view_change.new_view_message = Some(signed);
        self.ready.entered_view = Some(self.view);
        let now = self.now_ms;
        self.timers.last_heard_primary_ms = now;
        self.timers.last_primary_send_ms = now;
        self.timers.progress_at_ms = now;
        if let Some(stable) = checked.selection.checkpoint.clone() {
            self.adopt_checkpoint(stable);
        }
        let high = checked.selection.high();
        self.view_change.reordered = checked
            .pre_prepares
            .iter()
            .map(|(_, pp)| (pp.seq, pp.digest))
            .collect();
        for (signed, pp) in checked.pre_prepares {
            self.accept_new_view_pre_prepare(signed, pp);
        }
        if self.is_primary() {
            self.proposing.next_proposal = high.max(self.last_committed).next();
        }
        self.entered_epoch_view();
    }

    /// V proves a checkpoint (`min_s`) above our h. If we committed that height with
    /// the same block, it becomes our stable checkpoint too, so Q, which spans at
    /// most L heights above it, fits our window. A replica that has not committed it
    /// keeps its window (it needs recovery for the heights below `min_s`).
    fn adopt_checkpoint(&mut self, stable: crate::checkpoint::StableCheckpoint) {
        let seq = stable.seq;
        if seq <= self.log.low() || seq > self.last_committed {
            return;
        }
        let Some(record) = self.execution.commits.get(&seq).copied() else {
            return;
        };
        if record.block_hash != stable.block_hash {
            self.ready
                .faults
                .push(Fault::NewViewConflictsWithCommitted {
                    view: self.view,
                    seq,
                    committed: record.block_hash,
                    proposed: stable.block_hash,
                });
            return;
        }
        // Into a new epoch this way, the NEW-VIEW we are entering is its first view.
        self.make_stable(stable);
    }

    fn accept_new_view_pre_prepare(&mut self, signed: SignedMessage, pp: PrePrepare) {
        let seq = pp.seq;
        if !self.log.in_window(seq) {
            return;
        }
        let committed = self.execution.commits.get(&seq).copied();
        if let Some(record) = committed {
            if record.digest != pp.digest {
                self.ready
                    .faults
                    .push(Fault::NewViewConflictsWithCommitted {
                        view: pp.view,
                        seq,
                        committed: record.digest,
                        proposed: pp.digest,
                    });
                return;
            }
        } else if seq <= self.last_committed {
            // Committed before a restart that lost its record: nothing to vote with.
            return;
        }
        self.accept_pre_prepare(signed, pp);
        if let Some(record) = committed {
            self.log.slot_mut(seq).execution = Execution::Valid {
                block_hash: record.block_hash,
            };
        }
    }

    /// Heights committed here that the new view orders again: COMMIT in the new view
    /// with the block hash committed before, so replicas that had not committed them
    /// gather q COMMITs in this view. This does not wait to be prepared in the new
    /// view: the height is committed, so no view can order another digest there, and
    /// this replica's prepared certificate for it goes into its VIEW-CHANGEs until a
    /// checkpoint covers it.
    pub(super) fn vote_for_committed_heights(&mut self) {
        let me = self.config.me;
        let due: Vec<(SeqNo, View, Hash, Hash)> = self
            .log
            .iter()
            .filter(|(seq, slot)| **seq <= self.last_committed && !slot.commits.contains_key(&me))
            .filter(|(seq, _)| self.may_sign(**seq))
            .filter_map(|(seq, slot)| match (slot.execution, &slot.pre_prepare) {
                (Execution::Valid { block_hash }, Some(pp)) => {
                    Some((*seq, pp.view, pp.digest, block_hash))
                }
                _ => None,
            })
            .collect();
        for (seq, view, digest, block_hash) in due {
            let commit = crate::message::Commit {
                view,
                seq,
                digest,
                block_hash,
            };
            let signed = self.sign_persist_broadcast(&Message::Commit(commit));
            let slot = self.log.slot_mut(seq);
            crate::log::insert_vote(&mut slot.commits, me, commit, signed);
        }
    }
}
