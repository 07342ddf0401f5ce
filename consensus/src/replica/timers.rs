//! The timers (DESIGN.md section 5.1 triggers): logical time arrives as ticks, and
//! on each one the replica checks the view-change timer while changing views, and
//! otherwise the primary's heartbeat, the backup's idle-primary timer and the
//! request timer. A timer that runs out starts a view change (`view_change.rs`), or
//! recovery first when the replica may be cut off.

use super::Replica;
use crate::envelope::Envelope;
use crate::message::{Heartbeat, Message, SignedMessage};
use crate::output::{IgnoreReason, Outgoing, RecoveryReason, Target, ViewChangeReason};
use crate::types::View;

/// The view-change timeout doubles at most this many times.
const MAX_DOUBLINGS: u32 = 10;

/// The view-change triggers that run on time (`timers.rs`).
#[derive(Debug)]
pub(super) struct Timers {
    /// Backup: when the primary last sent a pre-prepare or heartbeat.
    pub(super) last_heard_primary_ms: u64,
    /// Primary: when it last sent a pre-prepare or heartbeat.
    pub(super) last_primary_send_ms: u64,
    /// The last commit or view entry: the request timer never starts before it.
    pub(super) progress_at_ms: u64,
    /// When the timers first saw pending work (a pooled transaction or an accepted,
    /// uncommitted batch) after a time with none: the request timer never starts
    /// before it either, so work arriving after an idle spell gets the whole
    /// timeout.
    pub(super) pending_since_ms: Option<u64>,
    /// Consecutive failed view changes since the last commit: the view-change timeout
    /// doubles with each.
    pub(super) failures: u32,
}

impl Timers {
    /// Timers that start at `now_ms`, when the replica starts.
    pub(super) fn new(now_ms: u64) -> Self {
        Timers {
            last_heard_primary_ms: now_ms,
            last_primary_send_ms: now_ms,
            progress_at_ms: now_ms,
            pending_since_ms: None,
            failures: 0,
        }
    }
}

impl Replica {
    /// Logical time moves forward only. It drives the batch timeout (in `advance`)
    /// and retransmission.
    pub(super) fn on_tick(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        self.maybe_retransmit();
        self.maybe_recover_behind();
        self.check_timers();
    }

    /// The timers, on every tick: the view-change timer while changing; otherwise the
    /// primary's heartbeat, the backup's idle-primary timer and the request timer.
    pub(super) fn check_timers(&mut self) {
        // A validator outside the epoch in force (joining, or removed) orders
        // nothing, so it has no view to change.
        if self.recovery_holds_timers() || !self.member() {
            return;
        }
        let now = self.now_ms;
        if let Some(changing) = &self.view_change.changing {
            let Some(from) = changing.timer_from_ms else {
                return;
            };
            let timeout = self
                .config
                .view_change_timeout_ms
                .saturating_mul(1 << self.timers.failures.min(MAX_DOUBLINGS));
            if now >= from.saturating_add(timeout) {
                self.timers.failures = self.timers.failures.saturating_add(1);
                let next = View(self.view.0.saturating_add(1));
                self.start_view_change(next, ViewChangeReason::ViewChangeTimeout);
            }
            return;
        }
        if self.is_primary() {
            let interval = self.config.idle_timeout_ms / 2;
            if now >= self.timers.last_primary_send_ms.saturating_add(interval) {
                self.send_heartbeat();
            }
        } else if now
            >= self
                .timers
                .last_heard_primary_ms
                .saturating_add(self.config.idle_timeout_ms)
        {
            self.timed_out(ViewChangeReason::IdlePrimary);
            return;
        }
        if self.has_pending_request() {
            let noticed = *self.timers.pending_since_ms.get_or_insert(now);
            let since = self
                .proposing
                .pool
                .oldest_ms
                .max(self.timers.progress_at_ms)
                .max(noticed);
            if now >= since.saturating_add(self.config.request_timeout_ms) {
                self.timed_out(ViewChangeReason::RequestTimeout);
            }
        } else {
            self.timers.pending_since_ms = None;
        }
    }

    /// A timer ran out. A replica that has heard from fewer than `q - 1` others
    /// within the last retransmit interval may be cut off: a view change started
    /// alone would keep it out of the view the others stay in (views never go back).
    /// It runs recovery first, which asks everyone where they are (and so is heard
    /// back from), and changes views only if the timer still runs out once it is
    /// back in touch. Replicas with unfinished work retransmit every interval, so in
    /// a busy cluster this costs nothing; in a quiet one, one round trip.
    fn timed_out(&mut self, reason: ViewChangeReason) {
        let since = self
            .now_ms
            .saturating_sub(self.config.retransmit_interval_ms);
        let me = self.config.me;
        let heard = self
            .recovery
            .heard_ms
            .iter()
            .enumerate()
            .filter(|(i, at)| *i != me.index() && at.is_some_and(|at| at >= since))
            .count();
        if heard + 1 < self.q() {
            self.start_recovery(RecoveryReason::Isolated);
            return;
        }
        self.start_view_change(self.view_after(), reason);
    }

    /// A transaction waits in the pool, or an accepted batch is not committed.
    fn has_pending_request(&self) -> bool {
        self.proposing.pool.count > 0
            || self
                .log
                .iter()
                .any(|(seq, slot)| *seq > self.last_committed && slot.pre_prepare.is_some())
    }

    fn send_heartbeat(&mut self) {
        let heartbeat = Message::Heartbeat(Heartbeat {
            view: self.view,
            seq: self.proposing.next_proposal.prev(),
        });
        let signed =
            SignedMessage::sign(&self.key, &self.config.chain_id, self.config.me, &heartbeat);
        self.ready.then_send.push(Outgoing {
            to: Target::All,
            message: Envelope::Message(signed),
        });
        self.timers.last_primary_send_ms = self.now_ms;
    }

    pub(super) fn on_heartbeat(&mut self, signed: SignedMessage, heartbeat: Heartbeat) {
        if let Err(reason) = self.refuse_view_message(signed.sender, heartbeat.view) {
            self.ignore(&signed, heartbeat.seq, reason);
            return;
        }
        let primary = self.primary();
        if signed.sender != primary {
            self.ignore(
                &signed,
                heartbeat.seq,
                IgnoreReason::NotFromPrimary { primary },
            );
            return;
        }
        self.timers.last_heard_primary_ms = self.now_ms;
    }
}
