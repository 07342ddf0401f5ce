//! Recovery scenarios (issue: recovery; DESIGN.md section 5.2). Each replaces the
//! random fault schedule with one story about one replica, the victim, on a network
//! that is otherwise as hostile as usual (delays, reordering, duplication, some
//! loss), and with clients that send faster so that many heights pass while the
//! victim is away:
//!
//! - `partitioned`: cut off from the others for most of the fault phase (thousands
//!   of heights), then healed;
//! - `crash-restart`: crashed, and restarted with its ledger and consensus state
//!   after the others moved well past its window;
//! - `wiped`: crashed, and restarted with nothing: genesis ledger, no consensus
//!   state (an amnesiac that must not sign what it may have signed before);
//! - `mid-view-change`: the primary crashes; the first backup that starts the view
//!   change crashes too before it ends, and restarts (its VIEW-CHANGE persisted);
//!   the old primary comes back later;
//! - `lying-peer`: as `crash-restart`, while one other replica (Byzantine) answers
//!   recovery with a forged checkpoint, an inflated height and view, and serves
//!   corrupted blocks;
//! - `wiped-then-crash`: as `wiped`, and once the victim has been back a while the
//!   primary crashes for good: the victim and the other two must change views
//!   without it, and commits must resume within the crash-primary bound (three
//!   view-change timeouts). No loss, as with `--crash-primary`.
//!
//! Beyond every usual check, the victim must end on the others' tip (the same block
//! at the same height) and must have signed a PREPARE or COMMIT after its last
//! recovery finished: it votes again.

use super::byzantine::Behaviour;
use super::{Fault, World, FAULT_END_MS};
use consensus::{Envelope, Message, MessageKind, Ready, RecoveryEvent};
use crypto::Canonical;
use rand::Rng;

/// A recovery story (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Partitioned,
    CrashRestart,
    Wiped,
    MidViewChange,
    LyingPeer,
    WipedThenCrash,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Partitioned,
        Scenario::CrashRestart,
        Scenario::Wiped,
        Scenario::MidViewChange,
        Scenario::LyingPeer,
        Scenario::WipedThenCrash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Partitioned => "partitioned",
            Scenario::CrashRestart => "crash-restart",
            Scenario::Wiped => "wiped",
            Scenario::MidViewChange => "mid-view-change",
            Scenario::LyingPeer => "lying-peer",
            Scenario::WipedThenCrash => "wiped-then-crash",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Milliseconds between client transactions: fast enough that the victim
    /// misses many checkpoints (one transaction per batch, see `World::new`).
    pub fn client_interval_ms(self) -> (u64, u64) {
        match self {
            Scenario::Partitioned => (1, 3),
            _ => (2, 5),
        }
    }
}

/// What the world tracks about the victim.
#[derive(Debug, Default)]
pub struct Victim {
    pub node: usize,
    /// When its first recovery after its fault ended finished, and whether it
    /// signed a vote since. A victim that lags by more than a window under load
    /// recovers again and again (state transfer while it votes); only the first
    /// recovery after the fault counts: it must take part again after that.
    pub recovered_at: Option<u64>,
    pub voted_since: bool,
    /// With `mid-view-change`: crash the first backup seen changing views.
    pub crash_when_changing: bool,
    /// Heights the victim had when its fault began, and the others' tip when it
    /// ended: how far behind it fell.
    pub height_at_fault: u64,
    pub behind_by: u64,
}

impl World {
    /// The schedule of a scenario; picks the victim (and the Byzantine liar).
    pub(super) fn scenario_schedule(&mut self, scenario: Scenario) -> Vec<(u64, Fault)> {
        let n = self.nodes.len();
        let mut events = Vec::new();
        let victim = self.victim.as_ref().map_or(0, |v| v.node);
        match scenario {
            Scenario::Partitioned => {
                let start = self.rng.gen_range(100..300);
                let end = FAULT_END_MS - self.rng.gen_range(0..200);
                events.push((start, Fault::Partition(victim)));
                events.push((end, Fault::Heal));
            }
            Scenario::CrashRestart | Scenario::LyingPeer => {
                let start = self.rng.gen_range(100..800);
                let end = start + self.rng.gen_range(800..2_000);
                events.push((start, Fault::Crash(victim)));
                events.push((end.min(FAULT_END_MS), Fault::Restart(victim)));
            }
            Scenario::Wiped => {
                let start = self.rng.gen_range(100..1_200);
                let end = start + self.rng.gen_range(300..1_500);
                events.push((start, Fault::Crash(victim)));
                events.push((end.min(FAULT_END_MS), Fault::WipeAndRestart(victim)));
            }
            Scenario::WipedThenCrash => {
                let start = self.rng.gen_range(100..500);
                let restart = start + self.rng.gen_range(200..500);
                events.push((start, Fault::Crash(victim)));
                events.push((restart, Fault::WipeAndRestart(victim)));
                events.push((
                    restart + self.rng.gen_range(1_200..1_800),
                    Fault::CrashPrimary,
                ));
            }
            Scenario::MidViewChange => {
                let start = self.rng.gen_range(300..1_500);
                events.push((start, Fault::CrashPrimary));
                // The backup that crashes mid view change restarts by itself (see
                // `crash_victim_if_changing`); the old primary comes back later.
                events.push((start + self.rng.gen_range(800..1_200), Fault::RestartAll));
            }
        }
        let _ = n;
        events
    }

    /// `mid-view-change`: once a live backup is changing views, it crashes, and
    /// restarts a little later.
    pub(super) fn crash_victim_if_changing(&mut self) {
        let Some(victim) = self.victim.as_mut() else {
            return;
        };
        if !victim.crash_when_changing {
            return;
        }
        let changing = (0..self.nodes.len()).find(|i| {
            self.nodes[*i]
                .replica
                .as_ref()
                .is_some_and(|r| r.is_changing_view() && !r.is_primary())
        });
        let Some(i) = changing else {
            return;
        };
        victim.crash_when_changing = false;
        victim.node = i;
        victim.height_at_fault = self.nodes[i].ledger.height();
        self.nodes[i].crash();
        self.net.drop_to(i);
        self.crashes += 1;
        let back = self.now_ms + self.rng.gen_range(50..400);
        self.extra_faults.push((back, Fault::Restart(i)));
    }

    /// Notes the victim's recoveries and votes from what a step returned.
    pub(super) fn watch_victim(&mut self, i: usize, ready: &Ready) {
        let now = self.now_ms;
        let Some(victim) = self.victim.as_mut().filter(|v| v.node == i) else {
            return;
        };
        for event in &ready.recovery {
            if let RecoveryEvent::Finished { .. } = event {
                if victim.recovered_at.is_none() {
                    victim.recovered_at = Some(now);
                    victim.voted_since = false;
                }
            }
        }
        if victim.recovered_at.is_none() {
            return;
        }
        for out in &ready.then_send {
            if let Envelope::Message(signed) = &out.message {
                let vote = matches!(signed.kind, MessageKind::Prepare | MessageKind::Commit);
                let decodes = Message::from_canonical_bytes(&signed.payload).is_ok();
                if vote && decodes {
                    victim.voted_since = true;
                }
            }
        }
    }

    /// Whether the victim has caught up with the highest tip.
    pub(super) fn victim_caught_up(&self) -> bool {
        let Some(victim) = &self.victim else {
            return true;
        };
        let tip = self.highest_tip();
        self.nodes[victim.node].ledger.height() >= tip && victim.voted_since
    }

    pub(super) fn highest_tip(&self) -> u64 {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.is_byzantine(*i))
            .map(|(_, n)| n.ledger.height())
            .max()
            .unwrap_or(0)
    }

    /// The scenario's own verdicts, at the end of the run.
    pub(super) fn check_victim(&mut self) {
        let Some(victim) = self.victim.take() else {
            return;
        };
        let i = victim.node;
        let tip = self.highest_tip();
        let height = self.nodes[i].ledger.height();
        if height < tip {
            self.checker.violations.push(format!(
                "recovery: node {i} ended at height {height}, the others at {tip}"
            ));
        } else {
            let holder = (0..self.nodes.len())
                .find(|j| {
                    *j != i && !self.is_byzantine(*j) && self.nodes[*j].ledger.height() >= tip
                })
                .unwrap_or(i);
            let ours = self.nodes[i].ledger.blocks[tip as usize].hash();
            let theirs = self.nodes[holder].ledger.blocks[tip as usize].hash();
            if ours != theirs {
                self.checker.violations.push(format!(
                    "recovery: node {i} holds another block at the tip {tip}"
                ));
            }
        }
        match victim.recovered_at {
            None => self
                .checker
                .violations
                .push(format!("recovery: node {i} never finished recovering")),
            Some(_) if !victim.voted_since => self.checker.violations.push(format!(
                "recovery: node {i} recovered but never voted again"
            )),
            Some(_) => {}
        }
        self.behind_by = victim.behind_by;
    }
}

/// The Byzantine liar of `lying-peer`: any replica but the victim.
pub(super) fn liar_behaviour() -> Behaviour {
    Behaviour::LyingRecovery
}
