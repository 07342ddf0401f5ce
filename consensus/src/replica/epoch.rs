//! Membership change (DESIGN.md section 6): admitting a joining validator, its
//! readiness, and switching every validator to the new epoch at the switch height.
//! See [`crate::update`] for the message flow.

use super::Replica;
use crate::output::{
    IgnoreReason, Ignored, Outgoing, StableCheckpoint, Target, ViewChangeReason,
};
use crate::types::{ReplicaId, SeqNo, View};
use crate::update::{SignedUpdate, Update};
use crate::verify::{Envelope, VerifiedUpdate};
use std::collections::BTreeSet;

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
            let _ = signed;
            self.admissions
                .entry(joiner)
                .or_default()
                .insert(self.config.me);
        }
    }

    /// A validator that joins and has been admitted by a quorum: answered and sent
    /// broadcasts before its epoch begins.
    pub(super) fn admitted(&self, joiner: ReplicaId) -> bool {
        self.admissions
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
                let senders = self.admissions.entry(joiner).or_default();
                if senders.len() < self.membership.roster().len() {
                    senders.insert(sender);
                }
                if joiner == self.config.me {
                    self.maybe_ready();
                } else if self.ready_joiners.contains(&joiner) {
                    // nothing more to do: the joiner told us it is ready
                }
            }
            Update::ReadyForN { .. } => {
                if !self.membership.member_from(self.log.low().next(), sender) {
                    return self.ignore_update(sender, update, IgnoreReason::NotAMember { sender });
                }
                self.ready_joiners.insert(sender);
            }
            Update::FinishUpdate { switch, view } => {
                let Some(s) = self.switch.as_mut() else {
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
    /// authorisation says so once (ReadyForN); the validators then prefer it as a
    /// primary of the new epoch.
    pub(super) fn maybe_ready(&mut self) {
        let me = self.config.me;
        if self.sent_ready || self.member() || self.is_paused() || !self.admitted(me) {
            return;
        }
        if !self.membership.member_from(self.log.low().next(), me) {
            return;
        }
        self.sent_ready = true;
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
    /// orders from here. Its view-change state starts empty, and every validator
    /// changes to the first view of the new epoch whose primary is ready (a
    /// validator of the old epoch, or a joiner that sent ReadyForN), with a
    /// VIEW-CHANGE that carries the switch checkpoint (AgreeUpdateN).
    pub(super) fn begin_epoch(&mut self) {
        let at = self.log.low();
        self.view_changes.clear();
        self.own_view_change = None;
        self.building = None;
        self.new_view_message = None;
        self.failures = 0;
        self.ahead_views.clear();
        self.sent_ready = false;
        // Above every view this replica signed anything for, so it never signs two
        // VIEW-CHANGEs for one view.
        let base = View(self.view.0.saturating_add(1));
        let target = self.first_view_with_ready_primary(base, at);
        self.changing = None;
        self.switch = Some(EpochSwitch {
            at,
            entered: None,
            entered_ms: self.now_ms,
            finished: BTreeSet::new(),
        });
        self.ready.epoch_started = Some(at.next());
        self.start_view_change(target, ViewChangeReason::Membership);
    }

    fn first_view_with_ready_primary(&self, base: View, at: SeqNo) -> View {
        let epoch = self.epoch();
        let old = self.membership.at(at);
        (0..epoch.n() as u64)
            .map(|i| View(base.0.saturating_add(i)))
            .find(|view| {
                let primary = epoch.primary(*view);
                old.contains(primary) || self.ready_joiners.contains(&primary)
            })
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
        let Some(record) = self.commits.get(&seq).copied() else {
            return;
        };
        if record.block_hash != stable.block_hash {
            return;
        }
        let epoch_before = self.epoch().first;
        self.make_stable(stable);
        if self.epoch().first != epoch_before {
            self.begin_epoch();
        }
    }

    /// Entered a view: the first one of an epoch is announced with FinishUpdate.
    pub(super) fn entered_epoch_view(&mut self) {
        let view = self.view;
        let me = self.config.me;
        let now = self.now_ms;
        let current = self.epoch().first;
        let Some(switch_first) = self.switch.as_ref().map(|s| self.membership.at(s.at.next()).first)
        else {
            return;
        };
        let Some(s) = self.switch.as_mut() else {
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
        let Some(s) = self.switch.as_ref() else {
            return false;
        };
        s.entered == Some(self.view)
            && s.finished.len() < self.q()
            && self.now_ms < s.entered_ms.saturating_add(self.config.retransmit_interval_ms)
    }
}
