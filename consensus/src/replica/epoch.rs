//! Membership change (DESIGN.md section 6): admitting a joining validator, its
//! readiness, and switching every validator to the new epoch at the switch height.
//! See [`crate::update`] for the message flow.

use super::Replica;
use crate::checkpoint::StableCheckpoint;
use crate::envelope::{Envelope, VerifiedUpdate};
use crate::output::{IgnoreReason, Ignored, Outgoing, Target, ViewChangeReason};
use crate::types::{ReplicaId, SeqNo, View};
use crate::update::{SignedUpdate, Update};
use std::collections::{BTreeMap, BTreeSet};

/// Admitting joiners and switching epochs (`epoch.rs`).
#[derive(Debug)]
pub(super) struct EpochChange {
    /// Joining validators (roster ids) and who sent AddNode for each.
    pub(super) admissions: BTreeMap<ReplicaId, BTreeSet<ReplicaId>>,
    /// The AddNode this replica signed for each joining validator.
    pub(super) own_add_nodes: BTreeMap<ReplicaId, SignedUpdate>,
    /// As a joining validator: ReadyForN sent.
    pub(super) sent_ready: bool,
    /// The last switch to a new epoch, while its first view is being set up.
    pub(super) switch: Option<EpochSwitch>,
}

impl EpochChange {
    pub(super) fn new() -> Self {
        EpochChange {
            admissions: BTreeMap::new(),
            own_add_nodes: BTreeMap::new(),
            sent_ready: false,
            switch: None,
        }
    }
}

/// The switch to a new epoch, from the moment this replica's stable checkpoint
/// reached the old epoch's last height.
#[derive(Debug, Clone)]
pub(super) struct EpochSwitch {
    /// The last height of the old epoch.
    pub(super) at: SeqNo,
    /// The view it entered in the new epoch, once it did.
    pub(super) entered: Option<View>,
    pub(super) entered_ms: u64,
    /// Who sent FinishUpdate for `(at, entered)`.
    pub(super) finished: BTreeSet<ReplicaId>,
}

impl Replica {
    // ----- the old epoch: admitting joiners -----

    /// A committed change (at `height`, recorded already): as a validator of the
    /// epoch in force, announce every key it adds with AddNode.
    pub(super) fn announce_joiners(&mut self, height: SeqNo) {
        if !self.member() {
            return;
        }
        let joiners: Vec<ReplicaId> = self
            .membership
            .epochs()
            .last()
            .map(|e| e.members.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|id| !self.epoch().contains(*id))
            .collect();
        for joiner in joiners {
            let update = Update::AddNode {
                joiner,
                authorized_at: height,
            };
            let signed = self.send_update(&update);
            // The joiner is no peer until admitted: it gets its own copy.
            self.ready.then_send.push(Outgoing {
                to: Target::One(joiner),
                message: Envelope::Update(signed.clone()),
            });
            self.epoch_change.own_add_nodes.insert(joiner, signed);
            self.epoch_change
                .admissions
                .entry(joiner)
                .or_default()
                .insert(self.config.me);
        }
    }

    /// A joiner asked for recovery: it may have started after our AddNode went out,
    /// so it gets it again (recovery answers are rate-limited per asker).
    pub(super) fn remind_joiner(&mut self, joiner: ReplicaId) {
        if let Some(signed) = self.epoch_change.own_add_nodes.get(&joiner).cloned() {
            self.ready.then_send.push(Outgoing {
                to: Target::One(joiner),
                message: Envelope::Update(signed),
            });
        }
    }

    /// A validator that joins and has been admitted by a quorum: answered and sent
    /// broadcasts before its epoch begins.
    pub(super) fn admitted(&self, joiner: ReplicaId) -> bool {
        self.epoch_change
            .admissions
            .get(&joiner)
            .is_some_and(|senders| senders.len() >= self.q())
    }

    /// Members of the epoch in force, and joiners of a later epoch a quorum admitted.
    pub(super) fn reaches(&self, id: ReplicaId) -> bool {
        self.epoch().contains(id)
            || (self.membership.member_from(self.log.low().next(), id) && self.admitted(id))
    }

    pub(super) fn on_update(&mut self, verified: VerifiedUpdate) {
        let sender = verified.sender();
        let update = *verified.message();
        if sender == self.config.me {
            return self.ignore_update(sender, update, IgnoreReason::FromSelf);
        }
        match update {
            Update::AddNode { joiner, .. } => {
                if !self.epoch().contains(sender) {
                    return self.ignore_update(sender, update, IgnoreReason::NotAMember { sender });
                }
                // Only for a validator a committed change adds and that does not
                // order yet: a Byzantine validator cannot grow this map at will.
                let from = self.log.low().next();
                if !self.membership.member_from(from, joiner) || self.epoch().contains(joiner) {
                    return self.ignore_update(sender, update, IgnoreReason::NotRequested);
                }
                let senders = self.epoch_change.admissions.entry(joiner).or_default();
                if senders.len() < self.membership.roster().len() {
                    senders.insert(sender);
                }
                if joiner == self.config.me {
                    self.maybe_ready();
                }
            }
            // An announcement: the switch does not wait for it (its first primary
            // is always a validator of the old set).
            Update::ReadyForN { .. } => {
                if !self.membership.member_from(self.log.low().next(), sender) {
                    self.ignore_update(sender, update, IgnoreReason::NotAMember { sender });
                }
            }
            Update::FinishUpdate { switch, view } => {
                let Some(s) = self.epoch_change.switch.as_mut() else {
                    return self.ignore_update(sender, update, IgnoreReason::NotRequested);
                };
                if s.at != switch || !self.membership.at(switch.next()).contains(sender) {
                    return self.ignore_update(sender, update, IgnoreReason::NotAMember { sender });
                }
                if s.entered == Some(view) {
                    s.finished.insert(sender);
                }
            }
        }
    }

    fn ignore_update(&mut self, sender: ReplicaId, update: Update, reason: IgnoreReason) {
        self.ready.ignored.push(Ignored::Message {
            sender,
            kind: update.kind(),
            seq: SeqNo(0),
            reason,
        });
    }

    /// A joining validator that a quorum admitted and that holds the chain past its
    /// authorisation says so once (ReadyForN: an announcement; nothing waits for it).
    pub(super) fn maybe_ready(&mut self) {
        let me = self.config.me;
        if self.epoch_change.sent_ready || self.member() || self.is_paused() || !self.admitted(me) {
            return;
        }
        if !self.membership.member_from(self.log.low().next(), me) {
            return;
        }
        self.epoch_change.sent_ready = true;
        let committed = self.last_committed;
        self.send_update(&Update::ReadyForN { committed });
    }

    fn send_update(&mut self, update: &Update) -> SignedUpdate {
        let signed = SignedUpdate::sign(&self.key, &self.config.chain_id, self.config.me, update);
        self.ready.then_send.push(Outgoing {
            to: Target::All,
            message: Envelope::Update(signed.clone()),
        });
        signed
    }

    // ----- the switch -----

    /// Our stable checkpoint reached the last height of the old epoch: the new epoch
    /// orders from here. Its view-change state starts empty (`forget_old_epoch`),
    /// and every validator changes to the first view above its own whose primary
    /// in the new set was a validator of the old one (so a joiner that is not up
    /// yet never stalls the switch, and replicas in one view all pick the same),
    /// with a VIEW-CHANGE that carries the switch checkpoint (AgreeUpdateN). Its
    /// view-change timer runs from now: replicas that were in different views meet
    /// in a later one.
    pub(super) fn begin_epoch(&mut self) {
        let at = self.log.low();
        self.view_change.own_view_change = None;
        self.view_change.new_view_message = None;
        self.epoch_change.sent_ready = false;
        // Above every view this replica signed anything for, so it never signs two
        // VIEW-CHANGEs for one view.
        let base = View(self.view.0.saturating_add(1));
        let target = self.first_view_with_old_primary(base, at);
        self.view_change.changing = None;
        self.epoch_change.switch = Some(EpochSwitch {
            at,
            entered: None,
            entered_ms: self.now_ms,
            finished: BTreeSet::new(),
        });
        self.ready.epoch_started = Some(at.next());
        self.start_view_change(target, ViewChangeReason::Membership);
        let now = self.now_ms;
        if let Some(changing) = self.view_change.changing.as_mut() {
            changing.timer_from_ms = Some(now);
        }
    }

    fn first_view_with_old_primary(&self, base: View, at: SeqNo) -> View {
        let epoch = self.epoch();
        let old = self.membership.at(at);
        (0..epoch.n() as u64)
            .map(|i| View(base.0.saturating_add(i)))
            .find(|view| old.contains(epoch.primary(*view)))
            .unwrap_or(base)
    }

    /// A VIEW-CHANGE of a later epoch proved a checkpoint at or past the end of
    /// ours: if we committed that height with that block, it is our stable
    /// checkpoint too, and we switch.
    pub(super) fn adopt_later_epoch(&mut self, stable: StableCheckpoint) {
        let seq = stable.seq;
        if seq <= self.log.low() || seq > self.last_committed || self.is_paused() {
            return;
        }
        let Some(record) = self.execution.commits.get(&seq).copied() else {
            return;
        };
        if record.block_hash != stable.block_hash {
            return;
        }
        if self.make_stable(stable) {
            self.begin_epoch();
        }
    }

    /// Entered a new epoch (by any path: our own checkpoint, a NEW-VIEW's, a
    /// transfer): the old epoch's VIEW-CHANGEs, timers and joiner bookkeeping are
    /// dropped; the joiners now members need no admission.
    pub(super) fn forget_old_epoch(&mut self) {
        self.view_change.view_changes.clear();
        self.view_change.building = None;
        self.timers.failures = 0;
        self.recovery.ahead_views.clear();
        let from = self.log.low().next();
        let pending = |id: &ReplicaId, m: &crate::membership::Membership| {
            m.member_from(from, *id) && !m.at(from).contains(*id)
        };
        let membership = self.membership.clone();
        self.epoch_change
            .admissions
            .retain(|id, _| pending(id, &membership));
        self.epoch_change
            .own_add_nodes
            .retain(|id, _| pending(id, &membership));
    }

    /// Entered a view: the first one of an epoch is announced with FinishUpdate.
    pub(super) fn entered_epoch_view(&mut self) {
        let view = self.view;
        let me = self.config.me;
        let now = self.now_ms;
        let current = self.epoch().first;
        let Some(switch_first) = self
            .epoch_change
            .switch
            .as_ref()
            .map(|s| self.membership.at(s.at.next()).first)
        else {
            return;
        };
        let Some(s) = self.epoch_change.switch.as_mut() else {
            return;
        };
        if s.entered.is_some() || switch_first != current {
            return;
        }
        s.entered = Some(view);
        s.entered_ms = now;
        s.finished.retain(|_| false);
        s.finished.insert(me);
        let at = s.at;
        if self.member() {
            self.send_update(&Update::FinishUpdate { switch: at, view });
        }
    }

    /// The primary of the first view of a new epoch waits for a quorum of
    /// FinishUpdate (or one retransmit interval) before it proposes.
    pub(super) fn awaits_finish(&self) -> bool {
        let Some(s) = self.epoch_change.switch.as_ref() else {
            return false;
        };
        s.entered == Some(self.view)
            && s.finished.len() < self.q()
            && self.now_ms
                < s.entered_ms
                    .saturating_add(self.config.retransmit_interval_ms)
    }
}
