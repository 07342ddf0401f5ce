//! The replica: a plain struct stepped with inputs (like tikv/raft-rs), returning a
//! [`Ready`]. Each input has a handler in its own file; after every step the replica
//! advances what the new state allows (execute, commit, checkpoint, propose) and
//! checks its invariants.
//!
//! # Who owns which state
//!
//! [`Replica`] keeps here only what every file reads: the configuration and key, the
//! membership, the view, the log, the checkpoints, the committed height, the clock
//! and the [`Ready`] being built. Everything else is a sub-state, defined in (and
//! mostly touched by) one file:
//!
//! | field            | type             | file                                       |
//! |------------------|------------------|--------------------------------------------|
//! | `execution`      | `ExecutionState` | `execute.rs`: RBFT validation, commit order |
//! | `proposing`      | `Proposing`      | `primary.rs`: the pool, the next proposal  |
//! | `timers`         | `Timers`         | `timers.rs`: ticks, heartbeat, timeouts    |
//! | `retransmission` | `Retransmission` | `retransmit.rs`: progress, laggards helped |
//! | `view_change`    | `ViewChanges`    | `view_change.rs` (and `new_view.rs`): V, P, the NEW-VIEW being built |
//! | `recovery`       | `RecoveryState`  | `recovery/`: rounds, transfer target; amnesia in `recovery/amnesia.rs` |
//! | `epoch_change`   | `EpochChange`    | `epoch.rs`: joiners, the epoch switch      |
//! | `faults`         | `TestFaults`     | `faults.rs`: test-only, feature `test-faults` |
//!
//! The other files hold handlers over that state: `pre_prepare.rs` and `votes.rs`
//! (the normal case, into the log), `checkpoints.rs` (checkpoint votes and stable
//! checkpoints), `restore.rs` (a restart from [`PersistedState`]) and
//! `invariants.rs` (checked after every step). The sub-modules name no type of a
//! sibling except `restore.rs`, which rebuilds the view-change state; the
//! `module_graph` test keeps them free of cycles.

mod checkpoints;
mod epoch;
mod execute;
#[cfg(feature = "test-faults")]
mod faults;
mod invariants;
mod new_view;
mod pre_prepare;
mod primary;
mod recovery;
mod restore;
mod retransmit;
mod timers;
mod view_change;
mod votes;

use crate::checkpoint::Checkpoints;
use crate::checkpoint::StableCheckpoint;
use crate::config::{ConfigError, ReplicaConfig};
use crate::envelope::Envelope;
use crate::input::Input;
use crate::log::Log;
use crate::membership::{Epoch, Membership, MembershipChange};
use crate::message::{Message, SignedMessage};
use crate::output::{IgnoreReason, Ignored, Outgoing, PersistEntry, Ready, Target};
use crate::persist::PersistedState;
use crate::quorum::quorum;
use crate::types::{ReplicaId, SeqNo, View};
use crypto::{PublicKey, SigningKey};

/// One PBFT/RBFT replica in the normal case. See the crate documentation for the
/// protocol.
#[derive(Debug)]
pub struct Replica {
    config: ReplicaConfig,
    key: SigningKey,
    /// The roster and the epochs (DESIGN.md section 6): who orders which heights.
    membership: Membership,
    view: View,
    log: Log,
    checkpoints: Checkpoints,
    /// Every height up to here is committed (handed to the host in `Ready::commit`).
    last_committed: SeqNo,
    /// The latest `now_ms` the host passed.
    now_ms: u64,
    /// RBFT validation and committing in order (`execute.rs`).
    execution: execute::ExecutionState,
    /// The primary's batching (`primary.rs`).
    proposing: primary::Proposing,
    /// The view-change triggers that run on time (`timers.rs`).
    timers: timers::Timers,
    /// Retransmission and helping laggards (`retransmit.rs`).
    retransmission: retransmit::Retransmission,
    /// View change and the NEW-VIEW being built (`view_change.rs`, `new_view.rs`).
    view_change: view_change::ViewChanges,
    /// Recovery and amnesia (`recovery/`).
    recovery: recovery::RecoveryState,
    /// Admitting joiners and switching epochs (`epoch.rs`).
    epoch_change: epoch::EpochChange,
    /// Test-only faults, switched on by the simulator (`faults.rs`).
    #[cfg(feature = "test-faults")]
    faults: faults::TestFaults,
    /// The outputs of the step in progress.
    ready: Ready,
}

impl Replica {
    /// A replica for `config`, signing with `key` (validator `config.me`'s key). With
    /// `restored`, it resumes from what it persisted before a restart (see
    /// [`PersistedState`]); without, it starts at genesis.
    ///
    /// Its clock starts at `now_ms`, the host's time at the start: every timer the
    /// first inputs arm (a VIEW-CHANGE quorum's, a pooled transaction's) counts from
    /// there. A replica whose clock started at 0 while the host's time was far on
    /// would see such a timer run out on its first tick.
    pub fn new(
        config: ReplicaConfig,
        key: SigningKey,
        restored: Option<PersistedState>,
        now_ms: u64,
    ) -> Result<Replica, ConfigError> {
        config.validate()?;
        let membership = config.membership()?;
        if membership.key_of(config.me) != Some(&key.public_key()) {
            return Err(ConfigError::KeyMismatch { me: config.me });
        }
        let n = membership.roster().len();
        let log = Log::new(SeqNo(0), config.log_window);
        let mut replica = Replica {
            config,
            key,
            membership,
            view: View(0),
            log,
            checkpoints: Checkpoints::default(),
            last_committed: SeqNo(0),
            now_ms,
            #[cfg(feature = "test-faults")]
            faults: faults::TestFaults::default(),
            execution: execute::ExecutionState::new(),
            proposing: primary::Proposing::new(),
            timers: timers::Timers::new(now_ms),
            retransmission: retransmit::Retransmission::new(n),
            view_change: view_change::ViewChanges::new(n),
            recovery: recovery::RecoveryState::new(n),
            epoch_change: epoch::EpochChange::new(),
            ready: Ready::default(),
        };
        if let Some(state) = restored {
            replica.restore(state)?;
        }
        replica.check_invariants(replica.last_committed, &Ready::default());
        Ok(replica)
    }

    /// Feeds one input and returns what the host must do (see [`Ready`] for the order).
    pub fn step(&mut self, input: Input) -> Ready {
        let committed_before = self.last_committed;
        let sender = match &input {
            Input::Message(m) => Some(m.sender()),
            Input::ViewChange(m) => Some(m.sender()),
            Input::NewView(m) => Some(m.sender()),
            Input::Recovery(m) => Some(m.sender()),
            Input::Update(m) => Some(m.sender()),
            _ => None,
        };
        if let Some(heard) = sender.and_then(|s| self.recovery.heard_ms.get_mut(s.index())) {
            *heard = Some(self.now_ms);
        }
        match input {
            Input::Message(verified) => {
                let (signed, message) = verified.into_parts();
                self.retransmission.heard_ahead |= message.seq() > self.last_committed;
                match message {
                    Message::PrePrepare(m) => self.on_pre_prepare(signed, m),
                    Message::Prepare(m) => self.on_prepare(signed, m),
                    Message::Commit(m) => self.on_commit(signed, m),
                    Message::Checkpoint(m) => self.on_checkpoint(signed, m),
                    Message::Heartbeat(m) => self.on_heartbeat(signed, m),
                }
            }
            Input::ViewChange(verified) => self.on_view_change(verified),
            Input::NewView(verified) => self.on_new_view(verified),
            Input::Recovery(verified) => self.on_recovery(verified),
            Input::Update(verified) => self.on_update(verified),
            Input::Recover => self.start_recovery(crate::output::RecoveryReason::Start),
            Input::Transferred {
                seq,
                block_hash,
                timestamp_ms,
                changes,
            } => {
                for change in &changes {
                    self.record_change(change);
                }
                self.on_transferred(seq, block_hash, timestamp_ms)
            }
            Input::Tick { now_ms } => self.on_tick(now_ms),
            Input::TxsAvailable { count, oldest_ms } => self.on_txs_available(count, oldest_ms),
            Input::Proposal { seq, batch, result } => self.on_proposal(seq, batch, result),
            Input::Executed {
                seq,
                digest,
                outcome,
            } => self.on_executed(seq, digest, outcome),
        }
        self.react_to_faults(0);
        self.advance();
        let ready = std::mem::take(&mut self.ready);
        self.check_invariants(committed_before, &ready);
        ready
    }

    /// Does everything the state now allows, until nothing changes: execute the next
    /// prepared height, commit in order, sign checkpoints, make one stable, propose.
    fn advance(&mut self) {
        loop {
            let built = self.build_new_view();
            self.vote_for_committed_heights();
            let executed = self.request_execution();
            let committed = self.commit_next();
            let stabilized = self.stabilize();
            if !(built || executed || committed || stabilized) {
                break;
            }
        }
        self.maybe_request_proposal();
        self.advance_recovery();
        self.maybe_ready();
    }

    // ----- inspection (read-only; the simulator checks these) -----

    pub fn me(&self) -> ReplicaId {
        self.config.me
    }

    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    /// Every key the chain admitted; ids are positions in it. Hosts verify
    /// envelopes against it.
    pub fn roster(&self) -> &[PublicKey] {
        self.membership.roster()
    }

    /// The roster and the epochs, as this replica knows them.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Whether this replica orders the heights above its stable checkpoint (a
    /// joining validator before its epoch, or a removed one after, does not).
    pub fn is_member(&self) -> bool {
        self.member()
    }

    /// The validators `Target::All` reaches: the members of the epoch in force and
    /// of every later one known, without this replica.
    pub fn peers(&self) -> Vec<ReplicaId> {
        (0..self.membership.roster().len())
            .map(|i| ReplicaId(i as u32))
            .filter(|id| *id != self.config.me && self.reaches(*id))
            .collect()
    }

    pub fn view(&self) -> View {
        self.view
    }

    /// h: the last stable checkpoint.
    pub fn low_watermark(&self) -> SeqNo {
        self.log.low()
    }

    /// H = h + L.
    pub fn high_watermark(&self) -> SeqNo {
        self.log.high()
    }

    pub fn last_committed(&self) -> SeqNo {
        self.last_committed
    }

    pub fn is_primary(&self) -> bool {
        self.primary() == self.config.me
    }

    /// Whether a view change to `view()` is in progress.
    pub fn is_changing_view(&self) -> bool {
        self.view_change.changing.is_some()
    }

    /// The number of heights the log holds (at most L).
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// The lowest and highest height this replica holds anything at (log slots and
    /// checkpoint votes), found without listing them: the window is a range, so
    /// these two say whether every held height is inside it.
    pub fn held_height_bounds(&self) -> Option<(SeqNo, SeqNo)> {
        let mut heights = self
            .log
            .iter()
            .map(|(seq, _)| *seq)
            .chain(self.checkpoints.vote_heights().map(|(seq, _)| *seq));
        let first = heights.next()?;
        Some(heights.fold((first, first), |(lowest, highest), seq| {
            (lowest.min(seq), highest.max(seq))
        }))
    }

    /// Every height at which this replica holds a pre-prepare, vote or checkpoint
    /// vote, in order; all lie in `(h, H]`.
    pub fn held_heights(&self) -> Vec<SeqNo> {
        let mut heights: Vec<SeqNo> = self.log.iter().map(|(seq, _)| *seq).collect();
        heights.extend(self.checkpoints.vote_heights().map(|(seq, _)| *seq));
        heights.sort_unstable();
        heights.dedup();
        heights
    }

    pub fn stable_checkpoint(&self) -> Option<&StableCheckpoint> {
        self.checkpoints.stable()
    }

    /// The host lost, or may have lost, what this replica signed (it has no
    /// persisted state: its data was wiped, or this is a new chain, which it cannot
    /// tell apart). The replica signs nothing until recovery has told it how far
    /// the others got, and then nothing it may have signed before
    /// ([`Replica::abstains_through`]). Call it right after [`Replica::new`], before
    /// any input.
    pub fn start_amnesiac(&mut self) {
        self.recovery.amnesiac = true;
    }

    // ----- helpers shared by the handlers -----

    /// The epoch in force: the one that orders the heights above our stable
    /// checkpoint.
    fn epoch(&self) -> &Epoch {
        self.membership.at(self.log.low().next())
    }

    /// N of the epoch in force.
    fn n(&self) -> usize {
        self.epoch().n()
    }

    /// q of the epoch in force.
    fn q(&self) -> usize {
        quorum(self.n())
    }

    fn primary(&self) -> ReplicaId {
        self.epoch().primary(self.view)
    }

    /// Whether this replica orders heights in the epoch in force.
    fn member(&self) -> bool {
        self.epoch().contains(self.config.me)
    }

    /// Whether this replica knows which validators order `seq`: every change that
    /// could apply there is at or below its committed height (a change committed
    /// at `h` applies only above `switch_height(h)`).
    fn knows_epoch_of(&self, seq: SeqNo) -> bool {
        seq <= crate::membership::switch_height(
            self.last_committed.next(),
            self.config.checkpoint_interval,
            self.config.log_window,
        )
    }

    /// The last height the epoch in force orders, when a change is pending.
    fn epoch_end(&self) -> Option<SeqNo> {
        self.membership.end_of(self.log.low().next())
    }

    /// Records a committed governance change (from the host's execution result or
    /// its transfer). A change the history refuses (out of order, a bad set) is a
    /// host error: reported, not applied.
    fn record_change(&mut self, change: &MembershipChange) {
        match self.membership.record(change) {
            Ok(()) => {
                let n = self.membership.roster().len();
                self.retransmission.helped_ms.resize(n, None);
                self.view_change.helped_view_ms.resize(n, None);
                self.recovery.heard_ms.resize(n, None);
                self.recovery.answered_ms.resize(n, [None; 3]);
                self.ready.membership.push(change.clone());
            }
            Err(error) => self.ready.ignored.push(Ignored::Executed {
                seq: change.height,
                reason: IgnoreReason::BadMembershipChange { error },
            }),
        }
    }

    /// Commits needed to commit `seq`: q of its epoch (q - 1 with the test-only
    /// fault).
    fn commit_quorum(&self, seq: SeqNo) -> usize {
        let q = self.membership.quorum_at(seq);
        #[cfg(feature = "test-faults")]
        if self.faults.commit_quorum_minus_one {
            return q.saturating_sub(1).max(1);
        }
        q
    }

    /// Signs `message`, records it for persisting, and queues it for every other
    /// validator once the persist is durable.
    fn sign_persist_broadcast(&mut self, message: &Message) -> SignedMessage {
        let signed = SignedMessage::sign(&self.key, &self.config.chain_id, self.config.me, message);
        self.ready
            .persist
            .push(PersistEntry::Message(signed.clone()));
        self.ready.then_send.push(Outgoing {
            to: Target::All,
            message: Envelope::Message(signed.clone()),
        });
        signed
    }

    fn ignore(&mut self, signed: &SignedMessage, seq: SeqNo, reason: IgnoreReason) {
        let behind = match reason {
            IgnoreReason::AlreadyCommitted { .. } => true,
            IgnoreReason::OutsideWindow { low, .. } => seq <= low,
            _ => false,
        };
        if behind && signed.sender != self.config.me {
            self.help_laggard(signed.sender, seq);
        }
        // A replica in an older view gets our VIEW-CHANGE and NEW-VIEW; one already in
        // the view we are changing to gets our VIEW-CHANGE, and answers with the
        // NEW-VIEW we evidently missed.
        if let IgnoreReason::WrongView { view, current } = reason {
            if view > current {
                self.heard_view_ahead(signed.sender, view);
            }
        }
        let older = matches!(reason, IgnoreReason::WrongView { view, current } if view < current);
        if older || reason == IgnoreReason::ChangingView {
            self.help_view(signed.sender);
        }
        self.ready.ignored.push(Ignored::Message {
            sender: signed.sender,
            kind: signed.kind,
            seq,
            reason,
        });
    }

    /// The guards every pre-prepare, prepare and commit passes first: not our own
    /// echo, in our view, inside the watermarks, not yet committed here.
    fn refuse_ordering_message(
        &self,
        sender: ReplicaId,
        view: View,
        seq: SeqNo,
    ) -> Result<(), IgnoreReason> {
        if self.is_paused() {
            return Err(IgnoreReason::Recovering);
        }
        // Before the view: a non-member's views must not count as "others ahead".
        if sender != self.config.me && !self.membership.at(seq).contains(sender) {
            return Err(IgnoreReason::NotAMember { sender });
        }
        self.refuse_view_message(sender, view)?;
        if !self.log.in_window(seq) {
            return Err(IgnoreReason::OutsideWindow {
                low: self.log.low(),
                high: self.log.high(),
            });
        }
        if let Some(end) = self.epoch_end().filter(|end| seq > *end) {
            return Err(IgnoreReason::BeyondSwitch { end });
        }
        // A committed height still takes votes when the view orders it again (a
        // NEW-VIEW re-proposed it): replicas that had not committed it need ours
        // and theirs to gather q in this view.
        let reordered = self
            .log
            .get(seq)
            .is_some_and(|slot| slot.pre_prepare.is_some());
        if seq <= self.last_committed && !reordered {
            return Err(IgnoreReason::AlreadyCommitted {
                last_committed: self.last_committed,
            });
        }
        Ok(())
    }
}
