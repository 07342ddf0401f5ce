//! Amnesia (DESIGN.md section 5.2): a replica that starts without persisted state
//! may have lost what it signed. Until recovery's answers bound how far it could
//! have got, it signs nothing; then it abstains from signing at or below that bound
//! (`set_amnesia_bound`), and from VIEW-CHANGE and NEW-VIEW up to one view past the
//! one the others are in.

use super::super::Replica;
use super::Answer;
use crate::output::RecoveryEvent;
use crate::quorum::max_faulty;
use crate::types::{ReplicaId, SeqNo, View};
use std::collections::BTreeMap;

impl Replica {
    /// A wiped replica signs no ordering message at or below this height.
    pub fn abstains_through(&self) -> SeqNo {
        self.recovery.abstain_through
    }

    /// Whether this replica may sign a VIEW-CHANGE for `view`: not while it may have
    /// signed one for it before it lost its state, unless that can no longer matter.
    ///
    /// What it signed before the wipe was at heights up to `abstain_through`, so a
    /// VIEW-CHANGE it signed then carries certificates only up to there. Once this
    /// replica holds a stable checkpoint at or above that height, a new VIEW-CHANGE
    /// carries that checkpoint, a NEW-VIEW starts above the highest checkpoint of
    /// its VIEW-CHANGEs, and every request the old one could have spoken for lies
    /// at or below it: the new one leaves out nothing that decides the new view.
    /// Without this, a wiped replica held back the next view change for as long as
    /// no view changed, and a primary lost in that time left the other two (with
    /// it, a quorum) unable to change views at all.
    pub(in crate::replica) fn may_sign_view_change(&self, view: View) -> bool {
        let old_ones_settled = self.recovery.abstain_through > SeqNo(0)
            && self.low_watermark() >= self.recovery.abstain_through;
        !self.recovery.amnesiac
            && self.member()
            && (view > self.recovery.abstain_view_changes_through || old_ones_settled)
    }

    /// Whether this replica may sign a NEW-VIEW for `view`: not for a view it may
    /// have changed to before it lost its state, where it could have sent another.
    pub(in crate::replica) fn may_sign_new_view(&self, view: View) -> bool {
        !self.recovery.amnesiac
            && view > self.recovery.abstain_view_changes_through
            && self.member()
    }

    /// Whether this replica may sign a PRE-PREPARE, PREPARE or COMMIT at `seq`.
    pub(in crate::replica) fn may_sign(&self, seq: SeqNo) -> bool {
        !self.recovery.amnesiac
            && seq > self.recovery.abstain_through
            && !self.is_paused()
            && self.membership.at(seq).contains(self.config.me)
            && self.epoch_end().is_none_or(|end| seq <= end)
    }

    /// A wiped replica may have signed at heights up to its old high watermark: at
    /// most L above a checkpoint it had made stable, which the honest replicas that
    /// signed it committed. The bound is the `(f + 1)`-th highest committed height
    /// the answers report (so f liars cannot raise it; an honest replica reported at
    /// least that much), capped at the highest proven checkpoint plus L (no honest
    /// replica commits beyond its own H), plus L. It covers what the replica signed
    /// when the answers include the replicas that were as far as it was, which is
    /// why an amnesiac waits for every answer or one retry interval; the replica
    /// abstains for a bounded number of heights.
    pub(super) fn set_amnesia_bound(&mut self, answers: &BTreeMap<ReplicaId, Answer>) {
        self.recovery.amnesiac = false;
        let window = self.config.log_window;
        let proven = answers
            .values()
            .filter_map(|a| a.stable.as_ref().map(|s| s.seq))
            .max()
            .unwrap_or(SeqNo(0));
        let mut heights: Vec<SeqNo> = answers.values().map(|a| a.last_committed).collect();
        heights.sort_unstable_by(|a, b| b.cmp(a));
        let reported = heights
            .get(max_faulty(self.n()))
            .copied()
            .unwrap_or(SeqNo(0))
            .min(SeqNo(proven.0.saturating_add(window)));
        if reported == SeqNo(0) {
            // Nothing committed anywhere: a chain starting up, where every replica
            // starts empty and abstaining would stop them all. (A replica wiped
            // before the chain's first commit is the case this does not cover.)
            return;
        }
        self.recovery.abstain_through = SeqNo(reported.0.saturating_add(window));
        // It may have signed a VIEW-CHANGE for any view up to one past the view the
        // others are in.
        let view = self
            .recovery
            .in_progress
            .as_ref()
            .map_or(self.view, |r| r.view_target);
        self.recovery.abstain_view_changes_through = View(view.0.saturating_add(1));
        self.ready.recovery.push(RecoveryEvent::Abstaining {
            through: self.recovery.abstain_through,
        });
    }
}
