//! Recovery (DESIGN.md section 5.2): a replica that starts, restarts or finds itself
//! behind negotiates the view, asks for the others' stable checkpoints, has its host
//! transfer the blocks up to the highest proven one, resumes there, and fetches the
//! pre-prepares, prepares and commits above it.
//!
//! - **NegotiateView.** With `q` answers (its own among them) the replica takes the
//!   `(f + 1)`-th highest view reported: at least one honest replica is in it or
//!   above. It does not jump there by itself; responders send it the NEW-VIEW of
//!   their view (or their VIEW-CHANGE, when changing), which moves it there through
//!   the ordinary checks. Recovery ends only once it is in that view.
//! - **RecoveryInit.** With `q` answers it picks the highest checkpoint whose proof
//!   holds. Above its committed height: the host transfers the blocks up to it
//!   ([`crate::TransferRequest`]) while the replica orders nothing; then the replica
//!   makes it stable, resumes there, and keeps whatever it signed above it.
//! - **FetchPqc.** Every responder sends the pre-prepares it accepted and its own
//!   prepares, commits and checkpoints above the checkpoint, and the NEW-VIEW of its
//!   view: ordinary messages, checked as such.
//!
//! Triggers besides the host's [`crate::Input::Recover`]: `f + 1` validators'
//! CHECKPOINTs above H, and `f + 1` validators' messages in views above ours.
//!
//! A replica that starts without persisted state may have lost what it signed (its
//! data was wiped). It is amnesiac: until recovery has told it how far the others
//! got, and then up to that height plus L, it signs no PRE-PREPARE, PREPARE or
//! COMMIT; anything it signed before the wipe lies below that bound. See
//! `amnesia_bound`.

mod amnesia;
mod answer;
mod resume;

use super::Replica;
use crate::checkpoint::StableCheckpoint;
use crate::envelope::{Envelope, VerifiedRecovery};
use crate::output::{
    IgnoreReason, Ignored, Outgoing, RecoveryEvent, RecoveryPhase, RecoveryReason, RecoveryStatus,
    Target, TransferRequest,
};
use crate::quorum::max_faulty;
use crate::recovery::{Recovery, SignedRecovery};
use crate::types::{ReplicaId, SeqNo, View};
use std::collections::BTreeMap;

/// Recovery and amnesia (`recovery/`).
#[derive(Debug)]
pub(super) struct RecoveryState {
    /// Recovery in progress (DESIGN.md section 5.2), if any.
    pub(super) in_progress: Option<Recovering>,
    /// The last recovery round this replica started.
    pub(super) round: u64,
    /// The host's ledger holds blocks up to here (a transfer stopped between
    /// checkpoints): above our committed height, the replica orders nothing until a
    /// transfer reaches a checkpoint at or above it.
    pub(super) floor: SeqNo,
    /// Wiped: signs no ordering message until recovery sets `abstain_through`.
    pub(super) amnesiac: bool,
    /// A wiped replica signs no ordering message at or below this height.
    pub(super) abstain_through: SeqNo,
    /// ... and no VIEW-CHANGE for a view at or below this one.
    pub(super) abstain_view_changes_through: View,
    /// The last checkpoint a transfer aimed at (its proof checked).
    pub(super) last_target: Option<StableCheckpoint>,
    /// The highest CHECKPOINT above H heard from each validator.
    pub(super) ahead_checkpoints: BTreeMap<ReplicaId, SeqNo>,
    /// The highest view above ours heard from each validator.
    pub(super) ahead_views: BTreeMap<ReplicaId, View>,
    /// Checkpoints claimed for a transfer target whose proofs could not be checked
    /// before the transfer (see recovery).
    pub(super) target_alternatives: Vec<StableCheckpoint>,
    /// When this replica last received anything from each validator.
    pub(super) heard_ms: Vec<Option<u64>>,
    /// When this replica last answered each validator's recovery requests, by kind.
    pub(super) answered_ms: Vec<[Option<u64>; 3]>,
}

impl RecoveryState {
    pub(super) fn new(n: usize) -> Self {
        RecoveryState {
            in_progress: None,
            round: 0,
            floor: SeqNo(0),
            amnesiac: false,
            abstain_through: SeqNo(0),
            abstain_view_changes_through: View(0),
            last_target: None,
            ahead_checkpoints: BTreeMap::new(),
            ahead_views: BTreeMap::new(),
            target_alternatives: Vec::new(),
            heard_ms: vec![None; n],
            answered_ms: vec![[None; 3]; n],
        }
    }
}

/// A recovery in progress.
#[derive(Debug, Clone)]
pub(super) struct Recovering {
    reason: RecoveryReason,
    round: u64,
    phase: Phase,
    /// When the current phase's request was last sent (retried every retransmit
    /// interval).
    sent_ms: u64,
    /// The view `f + 1` validators reported; recovery ends once we are in it.
    view_target: View,
}

#[derive(Debug, Clone)]
enum Phase {
    Negotiating {
        answers: BTreeMap<ReplicaId, (View, bool)>,
    },
    Querying {
        answers: BTreeMap<ReplicaId, Answer>,
    },
    Transferring {
        target: StableCheckpoint,
    },
    Rejoining {
        /// Retries left before recovery gives up waiting for the view (the normal
        /// view-change help carries on from there).
        retries: u32,
    },
}

/// A RecoveryResponse, with its checkpoint in `stable` if its proof holds, or in
/// `claimed` if it lies past the epochs this replica knows of (a membership change
/// it has not committed yet can make a true proof uncheckable here).
#[derive(Debug, Clone)]
struct Answer {
    stable: Option<StableCheckpoint>,
    claimed: Option<StableCheckpoint>,
    last_committed: SeqNo,
}

/// How many retransmit intervals a recovered replica waits to be brought into the
/// negotiated view before it stops asking.
const REJOIN_RETRIES: u32 = 8;

/// Request kinds a replica answers, each at most once per half retransmit interval
/// per asker.
const NEGOTIATE: usize = 0;
const INIT: usize = 1;
const FETCH: usize = 2;

impl Replica {
    // ----- inspection -----

    /// Where recovery is, if it runs.
    pub fn recovery_status(&self) -> Option<RecoveryStatus> {
        let recovering = self.recovery.in_progress.as_ref()?;
        let (phase, target) = match &recovering.phase {
            Phase::Negotiating { .. } => (RecoveryPhase::NegotiatingView, None),
            Phase::Querying { .. } => (RecoveryPhase::Querying, None),
            Phase::Transferring { target } => (RecoveryPhase::Transferring, Some(target.seq)),
            Phase::Rejoining { .. } => (RecoveryPhase::Rejoining, None),
        };
        Some(RecoveryStatus {
            reason: recovering.reason,
            phase,
            round: recovering.round,
            target,
        })
    }

    /// The replica orders nothing: it may have lost what it signed and recovery has
    /// not yet bounded it, a transfer runs, or one left the host's ledger above the
    /// replica's committed height (`floor`).
    pub fn is_paused(&self) -> bool {
        self.recovery.amnesiac
            || self.recovery.floor > self.last_committed
            || self
                .recovery
                .in_progress
                .as_ref()
                .is_some_and(|r| matches!(r.phase, Phase::Transferring { .. }))
    }

    /// View-change timers do not run while the replica does not yet know the view or
    /// is transferring state.
    pub(super) fn recovery_holds_timers(&self) -> bool {
        self.is_paused()
            || self.recovery.in_progress.as_ref().is_some_and(|r| {
                matches!(r.phase, Phase::Negotiating { .. } | Phase::Querying { .. })
            })
    }

    // ----- starting -----

    pub(super) fn start_recovery(&mut self, reason: RecoveryReason) {
        if self
            .recovery
            .in_progress
            .as_ref()
            .is_some_and(|r| !matches!(r.phase, Phase::Rejoining { .. }))
        {
            return;
        }
        self.recovery.round = self.recovery.round.saturating_add(1);
        let round = self.recovery.round;
        let mut answers = BTreeMap::new();
        answers.insert(
            self.config.me,
            (self.view, self.view_change.changing.is_some()),
        );
        self.recovery.in_progress = Some(Recovering {
            reason,
            round,
            phase: Phase::Negotiating { answers },
            sent_ms: self.now_ms,
            view_target: self.view,
        });
        self.recovery.ahead_checkpoints.clear();
        self.recovery.ahead_views.clear();
        self.ready
            .recovery
            .push(RecoveryEvent::Started { reason, round });
        self.send_recovery(Target::All, &Recovery::NegotiateView { round });
    }

    fn send_recovery(&mut self, to: Target, message: &Recovery) {
        let signed =
            SignedRecovery::sign(&self.key, &self.config.chain_id, self.config.me, message);
        self.ready.then_send.push(Outgoing {
            to,
            message: Envelope::Recovery(signed),
        });
    }

    /// A CHECKPOINT above H: `f + 1` validators ahead of our window start recovery.
    pub(super) fn heard_checkpoint_ahead(&mut self, sender: ReplicaId, seq: SeqNo) {
        let entry = self.recovery.ahead_checkpoints.entry(sender).or_default();
        *entry = (*entry).max(seq);
        let high = self.log.high();
        let ahead = self
            .recovery
            .ahead_checkpoints
            .values()
            .filter(|s| **s > high)
            .count();
        if ahead > max_faulty(self.n()) {
            self.start_recovery(RecoveryReason::BehindCheckpoint);
        }
    }

    /// On every tick: a replica that has made no progress for a retransmit interval
    /// while `f + 1` validators checkpointed a height above its committed one (inside
    /// its window) starts recovery. Retransmission cannot bring it there when the
    /// others made that checkpoint stable and dropped the messages below it, and it
    /// cannot make the checkpoint stable itself without having committed it.
    pub(super) fn maybe_recover_behind(&mut self) {
        if self.recovery.in_progress.is_some() || self.view_change.changing.is_some() {
            return;
        }
        let stalled = self.now_ms
            >= self
                .retransmission
                .moved_ms
                .saturating_add(self.config.retransmit_interval_ms);
        if !stalled {
            return;
        }
        let f = max_faulty(self.n());
        if self
            .checkpoints
            .highest_voted_above(self.last_committed, f + 1, self.config.me)
            .is_some()
        {
            self.start_recovery(RecoveryReason::BehindCheckpoint);
        }
    }

    /// A message of a view above ours: `f + 1` validators there start recovery (we
    /// missed the NEW-VIEW that took them there).
    pub(super) fn heard_view_ahead(&mut self, sender: ReplicaId, view: View) {
        if view <= self.view {
            return;
        }
        let entry = self.recovery.ahead_views.entry(sender).or_default();
        *entry = (*entry).max(view);
        let current = self.view;
        let ahead = self
            .recovery
            .ahead_views
            .values()
            .filter(|v| **v > current)
            .count();
        if ahead > max_faulty(self.n()) && self.view_change.changing.is_none() {
            self.start_recovery(RecoveryReason::ViewAhead);
        }
    }

    // ----- answering others -----

    pub(super) fn on_recovery(&mut self, verified: VerifiedRecovery) {
        let (sender, message) = verified.into_parts();
        if sender == self.config.me {
            self.ignore_recovery(sender, &message, IgnoreReason::FromSelf);
            return;
        }
        match message {
            Recovery::NegotiateView { .. }
            | Recovery::RecoveryInit { .. }
            | Recovery::FetchPqc { .. }
                if !self.serves(sender) =>
            {
                self.ignore_recovery(sender, &message, IgnoreReason::NotAMember { sender })
            }
            Recovery::NegotiateView { round } => self.answer_negotiate(sender, round),
            Recovery::RecoveryInit { round } => self.answer_init(sender, round),
            Recovery::FetchPqc { from, .. } => self.answer_fetch(sender, from),
            Recovery::NegotiateViewResponse {
                round,
                view,
                changing,
                n,
                validators,
            } => {
                // Answers count only from validators of the epoch in force, so that
                // its f and q bound what liars can do. (N and the set digest are
                // the responder's epoch's, which may be a later one.)
                let _ = (n, validators);
                let ours = self.epoch().contains(sender);
                match self.recovery.in_progress.as_mut() {
                    Some(Recovering {
                        round: current,
                        phase: Phase::Negotiating { answers },
                        ..
                    }) if *current == round && ours => {
                        answers.insert(sender, (view, changing));
                    }
                    _ => self.ignore_recovery(sender, &message, IgnoreReason::StaleRecovery),
                }
            }
            Recovery::RecoveryResponse {
                round,
                ref stable,
                last_committed,
                ..
            } => {
                // A proof this replica cannot check because the checkpoint lies
                // where a change it has not committed may apply is kept as a claim.
                let (stable, claimed) = match stable.clone() {
                    Some(s) if self.checkpoint_holds(&s) => (Some(s), None),
                    Some(s) if self.is_checkpoint_height(s.seq) && !self.knows_epoch_of(s.seq) => {
                        (None, Some(s))
                    }
                    _ => (None, None),
                };
                if !self.epoch().contains(sender) {
                    return self.ignore_recovery(
                        sender,
                        &message,
                        IgnoreReason::NotAMember { sender },
                    );
                }
                match self.recovery.in_progress.as_mut() {
                    Some(Recovering {
                        round: current,
                        phase: Phase::Querying { answers },
                        ..
                    }) if *current == round => {
                        answers.insert(
                            sender,
                            Answer {
                                stable,
                                claimed,
                                last_committed,
                            },
                        );
                    }
                    _ => self.ignore_recovery(sender, &message, IgnoreReason::StaleRecovery),
                }
            }
        }
    }

    fn ignore_recovery(&mut self, sender: ReplicaId, message: &Recovery, reason: IgnoreReason) {
        self.ready.ignored.push(Ignored::Message {
            sender,
            kind: message.kind(),
            seq: SeqNo(0),
            reason,
        });
    }

    /// A checkpoint a RecoveryResponse reports: a checkpoint height above genesis
    /// whose proof holds `q` valid CHECKPOINTs for it.
    fn checkpoint_holds(&self, stable: &StableCheckpoint) -> bool {
        self.is_checkpoint_height(stable.seq)
            && stable.is_proven_by(&self.membership, &self.config.chain_id)
    }

    fn is_checkpoint_height(&self, seq: SeqNo) -> bool {
        seq.0 > 0 && seq.0 % self.config.checkpoint_interval == 0
    }

    /// A checkpoint f + 1 answers claim with the same block whose proof this
    /// replica cannot check yet (it lies in an epoch it does not know). One of them
    /// is honest, and the host checks every block's certificate on the way there.
    fn claimed_by_enough(&self, answers: &BTreeMap<ReplicaId, Answer>) -> Option<StableCheckpoint> {
        let f = max_faulty(self.n());
        answers
            .values()
            .filter_map(|a| a.claimed.as_ref())
            .filter(|c| {
                answers
                    .values()
                    .filter_map(|a| a.claimed.as_ref())
                    .filter(|o| o.seq == c.seq && o.block_hash == c.block_hash)
                    .count()
                    > f
            })
            .max_by_key(|c| c.seq)
            .cloned()
    }

    // ----- moving on -----

    /// Called after every step: moves recovery to its next phase when the answers
    /// allow, and retries a request that went unanswered for an interval.
    pub(super) fn advance_recovery(&mut self) {
        let Some(recovering) = self.recovery.in_progress.as_ref() else {
            return;
        };
        let due = self.now_ms
            >= recovering
                .sent_ms
                .saturating_add(self.config.retransmit_interval_ms);
        let round = recovering.round;
        match &recovering.phase {
            Phase::Negotiating { answers } if answers.len() >= self.q() => {
                let target = self.negotiated_view(answers);
                self.ready
                    .recovery
                    .push(RecoveryEvent::ViewNegotiated { view: target });
                self.enter_phase(Phase::Querying {
                    answers: BTreeMap::new(),
                });
                if let Some(r) = self.recovery.in_progress.as_mut() {
                    r.view_target = target;
                }
                self.send_recovery(Target::All, &Recovery::RecoveryInit { round });
                let own = self.own_answer();
                let me = self.config.me;
                self.querying_answers().insert(me, own);
            }
            Phase::Negotiating { .. } if due => {
                self.touch_recovery();
                self.send_recovery(Target::All, &Recovery::NegotiateView { round });
            }
            // An amnesiac waits one retry interval for answers beyond q (or all of
            // them): the more replicas answer, the likelier its bound covers what it
            // signed before (see `set_amnesia_bound`).
            Phase::Querying { answers }
                if answers.len() >= self.n()
                    || (answers.len() >= self.q() && (!self.recovery.amnesiac || due)) =>
            {
                let answers = answers.clone();
                self.choose_target(&answers);
            }
            Phase::Querying { .. } if due => {
                self.touch_recovery();
                self.send_recovery(Target::All, &Recovery::RecoveryInit { round });
            }
            Phase::Transferring { .. } => {}
            Phase::Rejoining { retries } => {
                let retries = *retries;
                let target = recovering.view_target;
                let arrived = self.view >= target
                    && (self.view_change.changing.is_none() || self.view > target);
                if arrived || (due && retries == 0) {
                    self.finish_recovery();
                } else if due {
                    self.touch_recovery();
                    if let Some(Recovering {
                        phase: Phase::Rejoining { retries },
                        ..
                    }) = self.recovery.in_progress.as_mut()
                    {
                        *retries -= 1;
                    }
                    self.send_recovery(Target::All, &Recovery::NegotiateView { round });
                }
            }
            _ => {}
        }
    }

    fn touch_recovery(&mut self) {
        let now = self.now_ms;
        if let Some(r) = self.recovery.in_progress.as_mut() {
            r.sent_ms = now;
        }
    }

    fn enter_phase(&mut self, phase: Phase) {
        let now = self.now_ms;
        if let Some(r) = self.recovery.in_progress.as_mut() {
            r.phase = phase;
            r.sent_ms = now;
        }
    }

    fn querying_answers(&mut self) -> &mut BTreeMap<ReplicaId, Answer> {
        match self.recovery.in_progress.as_mut().map(|r| &mut r.phase) {
            Some(Phase::Querying { answers }) => answers,
            _ => unreachable!("called in the querying phase"),
        }
    }

    fn own_answer(&self) -> Answer {
        Answer {
            claimed: None,
            stable: self.checkpoints.stable().cloned(),
            last_committed: self.last_committed.max(self.recovery.floor),
        }
    }

    /// The `(f + 1)`-th highest view among the answers (ours included): some honest
    /// replica reached it.
    fn negotiated_view(&self, answers: &BTreeMap<ReplicaId, (View, bool)>) -> View {
        let mut views: Vec<View> = answers.values().map(|(view, _)| *view).collect();
        views.sort_unstable_by(|a, b| b.cmp(a));
        let f = max_faulty(self.n());
        views.get(f).copied().unwrap_or(self.view).max(self.view)
    }

    /// With `q` RecoveryResponses: transfer up to the highest proven checkpoint above
    /// what we hold, or go straight on to fetching what lies above our own.
    fn choose_target(&mut self, answers: &BTreeMap<ReplicaId, Answer>) {
        if self.recovery.amnesiac {
            self.set_amnesia_bound(answers);
        }
        let mut best: Option<StableCheckpoint> = self.recovery.last_target.clone();
        let claimed = self.claimed_by_enough(answers);
        for stable in answers
            .values()
            .filter_map(|a| a.stable.as_ref())
            .chain(&claimed)
        {
            if best.as_ref().is_none_or(|b| stable.seq > b.seq) {
                best = Some(stable.clone());
            }
        }
        self.recovery.target_alternatives =
            answers.values().filter_map(|a| a.claimed.clone()).collect();
        let held = self.last_committed.max(self.recovery.floor);
        match best {
            Some(target) if target.seq >= held && target.seq > self.last_committed => {
                let me = self.config.me;
                // Peers that say they committed that far, starting after us so that
                // recovering replicas spread their load.
                let mut answered: Vec<ReplicaId> =
                    answers.keys().copied().filter(|p| *p != me).collect();
                answered.sort_by_key(|p| p.0.wrapping_sub(me.0.wrapping_add(1)));
                let mut peers: Vec<ReplicaId> = answered
                    .iter()
                    .copied()
                    .filter(|p| answers[p].last_committed >= target.seq)
                    .collect();
                if peers.is_empty() {
                    peers = answered;
                }
                self.ready.recovery.push(RecoveryEvent::TransferStarted {
                    from: held,
                    target: target.seq,
                });
                self.recovery.last_target = Some(target.clone());
                self.ready.transfer = Some(TransferRequest {
                    target: target.clone(),
                    peers,
                });
                self.enter_phase(Phase::Transferring { target });
            }
            _ if self.recovery.floor > self.last_committed => {
                // Our ledger is past our committed height and no proven checkpoint
                // reaches it yet: ask again later.
                self.new_query_round();
            }
            // A replica that only timed out without hearing from a quorum and is
            // not behind has its answer: it is in touch again, and its timers decide.
            _ if self
                .recovery
                .in_progress
                .as_ref()
                .is_some_and(|r| r.reason == RecoveryReason::Isolated) =>
            {
                self.finish_recovery()
            }
            _ => self.rejoin(),
        }
    }

    fn new_query_round(&mut self) {
        self.recovery.round = self.recovery.round.saturating_add(1);
        let round = self.recovery.round;
        if let Some(r) = self.recovery.in_progress.as_mut() {
            r.round = round;
        }
        self.enter_phase(Phase::Querying {
            answers: BTreeMap::new(),
        });
        // The request goes out when the retry comes due.
        if let Some(r) = self.recovery.in_progress.as_mut() {
            r.sent_ms = self.now_ms;
        }
        let own = self.own_answer();
        let me = self.config.me;
        self.querying_answers().insert(me, own);
    }

    /// Step 4: ask everyone for what they hold above our committed height, then wait
    /// to be in the negotiated view.
    fn rejoin(&mut self) {
        let round = self.recovery.in_progress.as_ref().map_or(0, |r| r.round);
        let from = self.last_committed;
        self.send_recovery(Target::All, &Recovery::FetchPqc { round, from });
        self.enter_phase(Phase::Rejoining {
            retries: REJOIN_RETRIES,
        });
        self.advance_recovery();
    }

    fn finish_recovery(&mut self) {
        self.recovery.in_progress = None;
        self.ready.recovery.push(RecoveryEvent::Finished {
            view: self.view,
            committed: self.last_committed,
        });
    }
}
