//! View change (DESIGN.md section 5.1): the triggers, VIEW-CHANGE with the C and P
//! sets, and keeping replicas in one view; NEW-VIEW is in `new_view`.
//!
//! A replica changing to view `v` is "in" `v` (`self.view`) with `self.view_change.changing` set:
//! it takes only CHECKPOINT, VIEW-CHANGE and NEW-VIEW. Its view-change timer starts
//! once `q` validators ask for `v` or a later view (PBFT's rule, so one replica alone
//! never races ahead of the rest, widened to later views: see
//! `after_view_change_recorded`) and doubles per consecutive failure.
//!
//! Two additions keep replicas in the same view: a replica that hears from one in an
//! older view (a VIEW-CHANGE for a view it has passed, or an ordering message of an
//! older view) sends that replica its own VIEW-CHANGE and the NEW-VIEW of its view,
//! once per retransmit interval; f + 1 such VIEW-CHANGEs make the laggard join, and
//! the NEW-VIEW brings it in. A changing replica resends its VIEW-CHANGE every
//! retransmit interval.

use super::Replica;
use crate::envelope::{Envelope, VerifiedViewChange};
use crate::log::Log;
use crate::output::{
    Fault, IgnoreReason, Ignored, Outgoing, PersistEntry, Target, ViewChangeReason,
    ViewChangeStarted,
};
use crate::quorum::max_faulty;
use crate::types::Digest;
use crate::types::{ReplicaId, SeqNo, View};
use crate::view_change::{PreparedCertificate, SignedNewView, SignedViewChange, ViewChange};
use crate::view_change_checks::Selection;
use crate::view_change_checks::{check_view_change, select};
use crypto::codec::BoundedVec;
use crypto::Hash;
use std::collections::BTreeMap;

/// View change and the NEW-VIEW being built (`view_change.rs`, `new_view.rs`).
#[derive(Debug)]
pub(super) struct ViewChanges {
    /// Changing to `view`, if set (DESIGN.md section 5.1).
    pub(super) changing: Option<Changing>,
    /// The latest valid VIEW-CHANGE from each validator (ours included), for views
    /// above the one we are in (or the one we are changing to).
    pub(super) view_changes: BTreeMap<ReplicaId, (SignedViewChange, ViewChange)>,
    /// The last VIEW-CHANGE this replica signed, with the view it asks for.
    pub(super) own_view_change: Option<(View, SignedViewChange)>,
    /// The NEW-VIEW that began the current view (none for view 0).
    pub(super) new_view_message: Option<SignedNewView>,
    /// Primary of the view we change to: Q in the making.
    pub(super) building: Option<Building>,
    /// The highest-view prepared certificate per height above h: the P set.
    pub(super) certificates: BTreeMap<SeqNo, (View, PreparedCertificate)>,
    /// The digests the NEW-VIEW of the current view ordered (Q). A Q pre-prepare that
    /// arrives on its own (it was above our window when the NEW-VIEW came) is checked
    /// against these, not against the batch rules of fresh proposals: Q keeps the
    /// proposer and timestamp of the batch it re-orders.
    pub(super) reordered: BTreeMap<SeqNo, Digest>,
    /// When this replica last helped each replica in an older view.
    pub(super) helped_view_ms: Vec<Option<u64>>,
}

impl ViewChanges {
    pub(super) fn new(n: usize) -> Self {
        ViewChanges {
            changing: None,
            view_changes: BTreeMap::new(),
            own_view_change: None,
            new_view_message: None,
            building: None,
            certificates: BTreeMap::new(),
            reordered: BTreeMap::new(),
            helped_view_ms: vec![None; n],
        }
    }
}

/// A view change in progress: the replica is changing to its `view`.
#[derive(Debug, Clone)]
pub(super) struct Changing {
    /// When q VIEW-CHANGEs for the view were first held: the view-change timer runs
    /// from here (PBFT section 4.5.2).
    pub(super) timer_from_ms: Option<u64>,
}

/// The new primary learning the results of Q's batches before it signs NEW-VIEW.
#[derive(Debug, Clone)]
pub(super) struct Building {
    pub(super) view_changes: Vec<SignedViewChange>,
    pub(super) selection: Selection,
    /// The state root after each of `selection.entries`, in order, as learnt so far.
    pub(super) results: Vec<Hash>,
}

impl Replica {
    // ----- triggers -----

    /// The view a timer or a fault moves to.
    pub(super) fn view_after(&self) -> View {
        View(self.view.0.saturating_add(1))
    }

    /// Not our own echo, not while changing views, in our view.
    pub(super) fn refuse_view_message(
        &self,
        sender: ReplicaId,
        view: View,
    ) -> Result<(), IgnoreReason> {
        if sender == self.config.me {
            return Err(IgnoreReason::FromSelf);
        }
        if self.view_change.changing.is_some() {
            return Err(IgnoreReason::ChangingView);
        }
        if view != self.view {
            return Err(IgnoreReason::WrongView {
                view,
                current: self.view,
            });
        }
        Ok(())
    }

    /// Faults reported since `from` in this step that prove the primary of our view
    /// misbehaved start a view change.
    pub(super) fn react_to_faults(&mut self, from: usize) {
        if self.view_change.changing.is_some() {
            return;
        }
        let reason = self.ready.faults[from..]
            .iter()
            .find_map(|fault| match fault {
                Fault::EquivocatingPrimary { view, .. } if *view == self.view => {
                    Some(ViewChangeReason::Equivocation)
                }
                Fault::WrongStateRoot { view, .. } if *view == self.view => {
                    Some(ViewChangeReason::BadStateRoot)
                }
                Fault::InvalidBatch { view, .. } | Fault::MalformedPrePrepare { view, .. }
                    if *view == self.view =>
                {
                    Some(ViewChangeReason::MalformedBlock)
                }
                _ => None,
            });
        if let Some(reason) = reason {
            self.start_view_change(self.view_after(), reason);
        }
    }

    // ----- VIEW-CHANGE -----

    /// Moves to `target` (above the current view), stops taking ordering messages,
    /// and signs, persists and sends VIEW-CHANGE `<target, s, C, P>`.
    pub(super) fn start_view_change(&mut self, target: View, reason: ViewChangeReason) {
        assert!(target > self.view, "view changes only go up");
        self.ready.view_changes.push(ViewChangeStarted {
            from: self.view,
            to: target,
            reason,
        });
        self.view = target;
        self.view_change.changing = Some(Changing {
            timer_from_ms: None,
        });
        self.view_change.building = None;
        self.view_change.new_view_message = None;
        self.leave_view();
        let vc = ViewChange {
            new_view: target,
            checkpoint: self.checkpoints.stable().cloned(),
            prepared: BoundedVec::new(
                self.view_change
                    .certificates
                    .range(self.log.low().next()..)
                    .map(|(_, (_, certificate))| certificate.clone())
                    .collect(),
            )
            .expect("certificates lie in the window: at most L"),
        };
        if !self.may_sign_view_change(target) {
            // A wiped replica changes views with the others but signs nothing it may
            // have signed before; their VIEW-CHANGEs and NEW-VIEW bring it along.
            self.after_view_change_recorded();
            return;
        }
        let signed = SignedViewChange::sign(&self.key, &self.config.chain_id, self.config.me, &vc);
        self.ready
            .persist
            .push(PersistEntry::ViewChange(signed.clone()));
        self.ready.then_send.push(Outgoing {
            to: Target::All,
            message: Envelope::ViewChange(signed.clone()),
        });
        self.view_change.own_view_change = Some((target, signed.clone()));
        self.view_change
            .view_changes
            .insert(self.config.me, (signed, vc));
        self.after_view_change_recorded();
    }

    /// Forgets the ordering state of the view being left: the slots (prepared
    /// certificates and committed heights are kept apart), the outstanding proposal
    /// and execution.
    pub(super) fn leave_view(&mut self) {
        self.log = Log::new(self.log.low(), self.config.log_window);
        self.view_change.reordered.clear();
        self.execution.executed_through = self.last_committed;
        self.execution.executing = None;
        self.proposing.proposal_requested = None;
    }

    pub(super) fn on_view_change(&mut self, verified: VerifiedViewChange) {
        let (signed, vc) = verified.into_parts();
        let sender = signed.sender;
        let ignore = |replica: &mut Replica, reason| {
            replica.ready.ignored.push(Ignored::Message {
                sender,
                kind: signed.kind,
                seq: SeqNo(0),
                reason,
            })
        };
        if sender == self.config.me {
            return ignore(self, IgnoreReason::FromSelf);
        }
        let behind = vc.new_view < self.view
            || (vc.new_view == self.view && self.view_change.changing.is_none());
        if behind {
            self.help_view(sender);
            return ignore(
                self,
                IgnoreReason::OldView {
                    view: vc.new_view,
                    current: self.view,
                },
            );
        }
        if let Some((_, held)) = self.view_change.view_changes.get(&sender) {
            if held.new_view >= vc.new_view {
                return ignore(self, IgnoreReason::Duplicate);
            }
        }
        let vc_low = vc.checkpoint.as_ref().map_or(SeqNo(0), |c| c.seq);
        if !self.knows_epoch_of(vc_low.next()) {
            return ignore(self, IgnoreReason::UnknownEpoch { seq: vc_low });
        }
        let checked = crate::view_change_checks::check_view_change_size(
            signed.payload.len(),
            &self.config,
            &self.membership,
        )
        .and_then(|()| check_view_change(&vc, &self.config, &self.membership));
        if let Err(reason) = checked {
            self.ready
                .faults
                .push(Fault::BadViewChange { sender, reason });
            return;
        }
        // A view belongs to the epoch above its sender's checkpoint: one from an
        // earlier epoch is stale here; one from a later epoch means we are behind
        // (its checkpoint may take us there).
        let vc_epoch = self.membership.at(vc_low.next()).first;
        let ours = self.epoch().first;
        if vc_epoch > ours {
            if let Some(stable) = vc.checkpoint.clone() {
                self.adopt_later_epoch(stable);
            }
        }
        if self.membership.at(vc_low.next()).first != self.epoch().first {
            return ignore(self, IgnoreReason::NotAMember { sender });
        }
        if !self.epoch().contains(sender) {
            return ignore(self, IgnoreReason::NotAMember { sender });
        }
        self.view_change.view_changes.insert(sender, (signed, vc));
        self.maybe_join();
        self.after_view_change_recorded();
    }

    /// f + 1 validators asking for views above ours: join the smallest of them.
    fn maybe_join(&mut self) {
        let above: Vec<View> = self
            .view_change
            .view_changes
            .values()
            .map(|(_, vc)| vc.new_view)
            .filter(|view| *view > self.view)
            .collect();
        if above.len() > max_faulty(self.n()) {
            let smallest = *above.iter().min().expect("more than f");
            self.start_view_change(smallest, ViewChangeReason::JoinedQuorum);
        }
    }

    /// The VIEW-CHANGEs held for the view we are changing to.
    fn view_changes_for_current(&self) -> Vec<(SignedViewChange, ViewChange)> {
        self.view_change
            .view_changes
            .values()
            .filter(|(_, vc)| vc.new_view == self.view)
            .cloned()
            .collect()
    }

    /// With q validators asking for our view or a later one: start the view-change
    /// timer. With q VIEW-CHANGEs for our view itself, as its primary: build the
    /// NEW-VIEW.
    ///
    /// The timer counts the later views too. A validator that asks for a later view
    /// has left ours, and only its latest VIEW-CHANGE is held, so once it has moved
    /// on, counting our view alone could stay short of q for good (the VIEW-CHANGE
    /// it sent for our view was lost, or forgotten in a restart): with one faulty
    /// validator silent, the honest ones would sit in two views, neither with q
    /// VIEW-CHANGEs nor with f + 1 above the lower one, and no timer to move them.
    /// PBFT's purpose for waiting (not racing ahead of the others) still holds: q
    /// validators are at our view or past it. A faulty one gains nothing, since it
    /// could as well have asked for our view.
    fn after_view_change_recorded(&mut self) {
        if self.view_change.changing.is_none() {
            return;
        }
        let view = self.view;
        let here_or_later = self
            .view_change
            .view_changes
            .values()
            .filter(|(_, vc)| vc.new_view >= view)
            .count();
        if here_or_later < self.q() {
            return;
        }
        let now = self.now_ms;
        if let Some(changing) = self.view_change.changing.as_mut() {
            changing.timer_from_ms.get_or_insert(now);
        }
        if self.view_changes_for_current().len() < self.q() {
            return;
        }
        // A wiped new primary may have sent a NEW-VIEW for this view already.
        if self.is_primary()
            && self.view_change.building.is_none()
            && self.may_sign_new_view(self.view)
        {
            // V is exactly q VIEW-CHANGEs, ours first: more would only make NEW-VIEW
            // larger (each is bounded by what an honest replica can send).
            let me = self.config.me;
            let mut view_changes = self.view_changes_for_current();
            view_changes.sort_by_key(|(signed, _)| (signed.sender != me, signed.sender));
            view_changes.truncate(self.q());
            let decoded: Vec<ViewChange> = view_changes.iter().map(|(_, vc)| vc.clone()).collect();
            let selection = select(self.primary(), &decoded);
            #[cfg(feature = "test-faults")]
            let selection = self.forge_if_switched_on(selection);
            self.view_change.building = Some(Building {
                view_changes: view_changes.into_iter().map(|(signed, _)| signed).collect(),
                selection,
                results: Vec::new(),
            });
        }
    }

    // ----- keeping laggards in step -----

    /// `laggard` is in an older view: send it our VIEW-CHANGE for our view and the
    /// NEW-VIEW that began it, at most once per retransmit interval.
    pub(super) fn help_view(&mut self, laggard: ReplicaId) {
        let interval = self.config.retransmit_interval_ms;
        let now = self.now_ms;
        let Some(helped) = self.view_change.helped_view_ms.get_mut(laggard.index()) else {
            return;
        };
        if helped.is_some_and(|at| now < at.saturating_add(interval)) {
            return;
        }
        *helped = Some(now);
        let view = self.view;
        let own = self
            .view_change
            .own_view_change
            .as_ref()
            .filter(|(asked, _)| *asked == view)
            .map(|(_, signed)| signed.clone());
        if let Some(signed) = own {
            self.ready.then_send.push(Outgoing {
                to: Target::One(laggard),
                message: Envelope::ViewChange(signed),
            });
        }
        if let Some(signed) = self.view_change.new_view_message.clone() {
            self.ready.then_send.push(Outgoing {
                to: Target::One(laggard),
                message: Envelope::NewView(signed),
            });
        }
    }

    /// While changing: our VIEW-CHANGE again, for replicas that lost it.
    pub(super) fn retransmit_view_change(&mut self) {
        if let Some((_, signed)) = self.view_change.own_view_change.clone() {
            self.ready.then_send.push(Outgoing {
                to: Target::All,
                message: Envelope::ViewChange(signed),
            });
        }
    }
}
