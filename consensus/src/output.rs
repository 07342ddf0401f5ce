//! What a step hands back to the host (DESIGN.md section 1; STYLE.md habit 2).

use crate::checkpoint::StableCheckpoint;
use crate::envelope::Envelope;
use crate::message::{Batch, MessageKind, SignedMessage};
use crate::types::{Digest, ReplicaId, SeqNo, View};
use crate::view_change::{
    BadNewView, BadViewChange, PreparedCertificate, SignedNewView, SignedViewChange,
};
use crypto::Hash;
use serde::{Deserialize, Serialize};

/// The outputs of one step, in the order the host must carry them out:
///
/// 1. write every [`PersistEntry`] in `persist` durably (synced);
/// 2. write every block in `commit` to the ledger, in order, and record
///    `stable_checkpoint` if set;
/// 3. only then send `then_send`: these messages promise what `persist` records (a
///    restarted replica must never sign two digests for one `(view, seq)`), so none
///    may leave before the write is durable;
/// 4. answer `propose` and `execute` with [`crate::Input::Proposal`] and
///    [`crate::Input::Executed`] (in the order given);
/// 5. `view_changes`, `entered_view`, `faults` and `ignored` are for metrics, logs
///    and the host's own bookkeeping: on `entered_view` the host forgets which pool
///    transactions its earlier proposals held (a view change may have dropped them).
#[derive(Debug, Default, Clone)]
#[must_use = "a Ready holds messages to persist and send"]
pub struct Ready {
    pub persist: Vec<PersistEntry>,
    pub commit: Vec<CommittedBlock>,
    pub stable_checkpoint: Option<StableCheckpoint>,
    /// Messages that may leave only after `persist` is durable. (Retransmissions are
    /// here too: they were persisted when first signed.)
    pub then_send: Vec<Outgoing>,
    pub propose: Option<ProposalRequest>,
    pub execute: Vec<ExecuteRequest>,
    /// View changes this replica started in this step, each with its reason.
    pub view_changes: Vec<ViewChangeStarted>,
    /// The view this replica entered (NEW-VIEW accepted or sent) in this step.
    pub entered_view: Option<View>,
    pub faults: Vec<Fault>,
    pub ignored: Vec<Ignored>,
    /// Recovery (DESIGN.md section 5.2): copy the committed blocks up to a proven
    /// checkpoint into the ledger, then answer with [`crate::Input::Transferred`].
    /// The replica orders nothing until then.
    pub transfer: Option<TransferRequest>,
    /// What recovery did in this step, for logs and metrics.
    pub recovery: Vec<RecoveryEvent>,
    /// Governance changes the replica recorded in this step (DESIGN.md section 6):
    /// the host updates whom it connects to (see [`crate::Replica::peers`]).
    pub membership: Vec<crate::membership::MembershipChange>,
    /// The replica switched to the epoch that orders from this height on (its
    /// stable checkpoint reached the old epoch's last height) and is changing to
    /// that epoch's first view.
    pub epoch_started: Option<SeqNo>,
}

/// State transfer (DESIGN.md section 5.2 step 3): the host fetches the blocks from
/// its ledger's tip up to `target.seq` from `peers` (in that order; each claimed to
/// have committed that far), checks each against its commit certificate and the
/// hash chain (the last one's hash must be `target.block_hash`), re-executes and
/// writes them, and reports its tip with [`crate::Input::Transferred`], whether it
/// reached the target or not. By then it has dropped whatever it had executed
/// above its committed tip; the replica executes those heights again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub target: StableCheckpoint,
    pub peers: Vec<ReplicaId>,
}

/// Why a replica started recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecoveryReason {
    /// The host started (or restarted) it: [`crate::Input::Recover`].
    Start,
    /// `f + 1` validators sent CHECKPOINTs above this replica's high watermark.
    BehindCheckpoint,
    /// `f + 1` validators sent messages of views above this replica's.
    ViewAhead,
    /// A transfer stopped short of its checkpoint; recovery asks again.
    TransferIncomplete,
    /// A view-change timer ran out while fewer than `q - 1` validators had been heard
    /// from within the request timeout.
    Isolated,
}

impl RecoveryReason {
    pub const ALL: [RecoveryReason; 5] = [
        RecoveryReason::Start,
        RecoveryReason::BehindCheckpoint,
        RecoveryReason::ViewAhead,
        RecoveryReason::TransferIncomplete,
        RecoveryReason::Isolated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RecoveryReason::Start => "start",
            RecoveryReason::BehindCheckpoint => "behind_checkpoint",
            RecoveryReason::ViewAhead => "view_ahead",
            RecoveryReason::TransferIncomplete => "transfer_incomplete",
            RecoveryReason::Isolated => "isolated",
        }
    }
}

/// The phases of recovery, in order (DESIGN.md section 5.2 steps 1 to 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecoveryPhase {
    /// NegotiateView sent; waiting for `q` answers.
    NegotiatingView,
    /// RecoveryInit sent; waiting for `q` answers.
    Querying,
    /// The host is copying blocks up to the target checkpoint.
    Transferring,
    /// FetchPqc sent; waiting to be in the view `f + 1` validators reported.
    Rejoining,
}

impl RecoveryPhase {
    /// 1 to 4 in the order of the phases, for a metrics gauge (0: no recovery).
    pub fn number(self) -> i64 {
        match self {
            RecoveryPhase::NegotiatingView => 1,
            RecoveryPhase::Querying => 2,
            RecoveryPhase::Transferring => 3,
            RecoveryPhase::Rejoining => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RecoveryPhase::NegotiatingView => "negotiating_view",
            RecoveryPhase::Querying => "querying",
            RecoveryPhase::Transferring => "transferring",
            RecoveryPhase::Rejoining => "rejoining",
        }
    }
}

/// Where a recovering replica is, for `/status` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryStatus {
    pub reason: RecoveryReason,
    pub phase: RecoveryPhase,
    pub round: u64,
    /// The checkpoint height being transferred to, once chosen.
    pub target: Option<SeqNo>,
}

/// One thing recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryEvent {
    Started {
        reason: RecoveryReason,
        round: u64,
    },
    /// `q` validators answered NegotiateView; `f + 1` of them are in `view` or above.
    ViewNegotiated {
        view: View,
    },
    /// State transfer asked for (`transfer` holds the request).
    TransferStarted {
        from: SeqNo,
        target: SeqNo,
    },
    /// The ledger reached the target checkpoint; the replica resumed there.
    Transferred {
        seq: SeqNo,
    },
    /// The transfer stopped at `reached`, short of `target`.
    TransferIncomplete {
        reached: SeqNo,
        target: SeqNo,
    },
    /// A wiped replica will not sign PREPARE, COMMIT or PRE-PREPARE at or below
    /// this height (it may have signed there before it lost its state).
    Abstaining {
        through: SeqNo,
    },
    /// Recovery is over: the replica is in the negotiated view, at `committed`.
    Finished {
        view: View,
        committed: SeqNo,
    },
}

/// The replica left `from` for `to` (DESIGN.md section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewChangeStarted {
    pub from: View,
    pub to: View,
    pub reason: ViewChangeReason,
}

/// Why a replica started a view change; every view change records one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViewChangeReason {
    /// The oldest pending transaction, or the last progress, is older than
    /// `request_timeout_ms`.
    RequestTimeout,
    /// The primary sent neither a pre-prepare nor a heartbeat for `idle_timeout_ms`.
    IdlePrimary,
    /// The primary signed two digests for one `(view, seq)`.
    Equivocation,
    /// Executing the primary's batch gave another state root than it claimed.
    BadStateRoot,
    /// The primary signed a batch that is malformed or does not execute.
    MalformedBlock,
    /// `f + 1` validators asked for a higher view; this replica joined them.
    JoinedQuorum,
    /// The previous view change did not end in a NEW-VIEW in time.
    ViewChangeTimeout,
    /// A membership change took effect: the first view of the new epoch (this
    /// VIEW-CHANGE is RBFT's AgreeUpdateN, DESIGN.md section 6).
    Membership,
}

impl ViewChangeReason {
    pub const ALL: [ViewChangeReason; 8] = [
        ViewChangeReason::RequestTimeout,
        ViewChangeReason::IdlePrimary,
        ViewChangeReason::Equivocation,
        ViewChangeReason::BadStateRoot,
        ViewChangeReason::MalformedBlock,
        ViewChangeReason::JoinedQuorum,
        ViewChangeReason::ViewChangeTimeout,
        ViewChangeReason::Membership,
    ];

    /// A short name for metrics and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ViewChangeReason::RequestTimeout => "request_timeout",
            ViewChangeReason::IdlePrimary => "idle_primary",
            ViewChangeReason::Equivocation => "equivocation",
            ViewChangeReason::BadStateRoot => "bad_state_root",
            ViewChangeReason::MalformedBlock => "malformed_block",
            ViewChangeReason::JoinedQuorum => "joined_quorum",
            ViewChangeReason::ViewChangeTimeout => "view_change_timeout",
            ViewChangeReason::Membership => "membership",
        }
    }
}

impl Ready {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.commit.is_empty()
            && self.stable_checkpoint.is_none()
            && self.then_send.is_empty()
            && self.propose.is_none()
            && self.execute.is_empty()
            && self.view_changes.is_empty()
            && self.entered_view.is_none()
            && self.faults.is_empty()
            && self.ignored.is_empty()
            && self.transfer.is_none()
            && self.membership.is_empty()
            && self.epoch_started.is_none()
            && self.recovery.is_empty()
    }
}

/// One durable write. A host keeps them in a [`crate::PersistedState`] with
/// [`crate::PersistedState::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PersistEntry {
    /// A message this replica signed, or a pre-prepare it accepted.
    Message(SignedMessage),
    /// A new stable checkpoint with its proof; everything at or below it may go.
    StableCheckpoint(StableCheckpoint),
    /// A prepared certificate: it replaces any older one for its height, and goes into
    /// every VIEW-CHANGE this replica sends until a checkpoint covers it.
    Prepared(PreparedCertificate),
    /// The VIEW-CHANGE this replica signed: it is now changing to that view.
    ViewChange(SignedViewChange),
    /// The NEW-VIEW this replica sent or accepted: it is now in that view.
    NewView(SignedNewView),
    /// State transfer brought the ledger to `seq` (a stable checkpoint, persisted in
    /// the same step): the replica resumed there.
    Resumed { seq: SeqNo, timestamp_ms: u64 },
}

/// A message to send once `persist` is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to: Target,
    pub message: Envelope,
}

/// Who receives an [`Outgoing`] message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every other validator (a replica handles its own messages itself).
    All,
    One(ReplicaId),
}

/// The primary asks the host for a batch at `seq` of at most `max_txs` transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalRequest {
    pub seq: SeqNo,
    pub max_txs: u32,
}

/// Execute `batch` on the state after `seq - 1` (committed or speculative) and report
/// the state root and block hash (DESIGN.md section 3 step 4). Requests come in
/// height order, one at a time; the next comes after this one's answer.
///
/// The primary receives requests for its own batches too; its host may answer from
/// what it computed when it built the proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteRequest {
    pub seq: SeqNo,
    pub view: View,
    pub digest: Digest,
    pub batch: Batch,
    /// The state root the primary claims; `None` when the new primary executes the
    /// batches of a NEW-VIEW to learn their results.
    pub result: Option<Hash>,
}

/// A block that is committed: the host writes it, with its certificate, to the ledger.
/// Blocks come strictly in height order, each exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedBlock {
    pub seq: SeqNo,
    pub view: View,
    pub digest: Digest,
    pub block_hash: Hash,
    /// The state root after this block.
    pub state_root: Hash,
    /// The batch timestamp; a restarted replica needs it (`PersistedState`).
    pub timestamp_ms: u64,
    /// `q` COMMIT messages from distinct validators matching `digest` and
    /// `block_hash`, in sender order (DESIGN.md section 3 step 5).
    pub certificate: Vec<SignedMessage>,
}

/// Misbehaviour, with the signed evidence where there is some. Faults of the primary
/// in the replica's view start a view change (DESIGN.md section 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Executing the batch gave another state root than the primary's `result`
    /// (RBFT validation, DESIGN.md section 3 step 4). No COMMIT was sent.
    WrongStateRoot {
        view: View,
        seq: SeqNo,
        digest: Digest,
        primary: ReplicaId,
        claimed: Hash,
        computed: Hash,
        /// The primary's signed pre-prepare that claimed the root.
        evidence: SignedMessage,
    },
    /// The batch could not be executed. No COMMIT was sent.
    InvalidBatch {
        view: View,
        seq: SeqNo,
        digest: Digest,
        primary: ReplicaId,
        /// The primary's signed pre-prepare of the batch.
        evidence: SignedMessage,
    },
    /// The primary signed two digests for one `(view, seq)`.
    EquivocatingPrimary {
        view: View,
        seq: SeqNo,
        first: SignedMessage,
        second: SignedMessage,
    },
    /// A replica signed two different votes of one kind for one `(view, seq)`.
    EquivocatingVote {
        sender: ReplicaId,
        kind: MessageKind,
        seq: SeqNo,
        first: SignedMessage,
        second: SignedMessage,
    },
    /// The primary sent a PREPARE; its pre-prepare stands for it (section 3 step 3).
    PrepareFromPrimary {
        view: View,
        seq: SeqNo,
        evidence: SignedMessage,
    },
    /// The primary signed a pre-prepare whose batch is malformed (digest, size,
    /// duplicate transaction, proposer).
    MalformedPrePrepare {
        view: View,
        seq: SeqNo,
        reason: IgnoreReason,
        evidence: SignedMessage,
    },
    /// A VIEW-CHANGE whose C or P set does not check.
    BadViewChange {
        sender: ReplicaId,
        reason: BadViewChange,
    },
    /// A NEW-VIEW that does not check, among others because Q does not follow from V.
    BadNewView {
        sender: ReplicaId,
        reason: BadNewView,
    },
    /// A NEW-VIEW orders another digest at a height this replica committed (or its V
    /// proves a checkpoint with another block hash there: then both fields are block
    /// hashes). Only more than f faulty replicas can cause it; the replica never votes
    /// for it.
    NewViewConflictsWithCommitted {
        view: View,
        seq: SeqNo,
        committed: Digest,
        proposed: Digest,
    },
    /// After a restart, executing a height gave another block hash than the COMMIT
    /// this replica signed before: the host's execution is not deterministic.
    ExecutionDiverged {
        seq: SeqNo,
        signed_block_hash: Hash,
        computed: Hash,
    },
}

/// An input the replica dropped, and why. Byzantine input is a typed outcome, never a
/// panic or an error (STYLE.md habit 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    Message {
        sender: ReplicaId,
        kind: MessageKind,
        seq: SeqNo,
        reason: IgnoreReason,
    },
    Proposal {
        seq: SeqNo,
        reason: IgnoreReason,
    },
    Executed {
        seq: SeqNo,
        reason: IgnoreReason,
    },
}

impl Ignored {
    pub fn reason(&self) -> &IgnoreReason {
        match self {
            Ignored::Message { reason, .. }
            | Ignored::Proposal { reason, .. }
            | Ignored::Executed { reason, .. } => reason,
        }
    }
}

/// Why an input was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    /// A message signed by this replica came back from the network.
    FromSelf,
    /// Not in the replica's view.
    WrongView { view: View, current: View },
    /// The replica is changing views: it takes only CHECKPOINT, VIEW-CHANGE and
    /// NEW-VIEW.
    ChangingView,
    /// A VIEW-CHANGE or NEW-VIEW for a view this replica has passed (or, for a
    /// NEW-VIEW, is in already).
    OldView { view: View, current: View },
    /// Outside the watermarks `(low, high]` (DESIGN.md section 4).
    OutsideWindow { low: SeqNo, high: SeqNo },
    /// The height is committed here already.
    AlreadyCommitted { last_committed: SeqNo },
    /// A pre-prepare from a replica that is not the primary of its view.
    NotFromPrimary { primary: ReplicaId },
    /// A PREPARE from the primary (it sends none).
    PrepareFromPrimary,
    /// The same message again.
    Duplicate,
    /// A pre-prepare with another digest than the one accepted for its `(view, seq)`.
    ConflictingDigest { accepted: Digest },
    /// A second, different vote of the same kind from the same sender.
    ConflictingVote,
    /// The pre-prepare's digest is not the hash of its batch.
    DigestMismatch { computed: Digest },
    /// The batch holds more transactions than `batch_max_txs`.
    TooManyTxs { txs: usize, max: u32 },
    /// The batch lists a transaction twice.
    DuplicateTx,
    /// The batch's proposer is not the primary.
    WrongProposer {
        proposer: ReplicaId,
        primary: ReplicaId,
    },
    /// The timestamp goes back from the batch at a lower height.
    TimestampBeforePrevious { timestamp_ms: u64, previous_ms: u64 },
    /// The timestamp is after that of a batch at a higher height.
    TimestampAfterNext { timestamp_ms: u64, next_ms: u64 },
    /// The timestamp is more than `max_clock_drift_ms` ahead of this replica's clock.
    TimestampTooFarAhead { timestamp_ms: u64, now_ms: u64 },
    /// A checkpoint at a height that is not a multiple of the interval.
    NotACheckpointHeight,
    /// A proposal or execution result nobody asked for, or for another height/digest.
    NotRequested,
    /// The replica is transferring state: it orders nothing until it resumes at the
    /// checkpoint (DESIGN.md section 5.2 step 3).
    Recovering,
    /// A recovery answer to another round than the one in progress, or a second one.
    StaleRecovery,
    /// The sender does not order the height (or view) the message is for: it is
    /// not a member of that epoch (DESIGN.md section 6).
    NotAMember { sender: ReplicaId },
    /// Above the last height the epoch in force orders: the next epoch orders it,
    /// once this replica has switched.
    BeyondSwitch { end: SeqNo },
    /// About a height whose validator set this replica cannot know yet: a
    /// governance change it has not committed could apply there. Not the sender's
    /// fault; recovery brings the replica there.
    UnknownEpoch { seq: SeqNo },
    /// The host reported a governance change the membership history refuses.
    BadMembershipChange {
        error: crate::membership::MembershipError,
    },
}
