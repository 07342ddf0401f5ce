//! The PBFT/RBFT replica as a deterministic state machine (DESIGN.md sections 1-4).
//!
//! This crate never touches a socket, a clock, a random number generator, a thread
//! or a disk. A host feeds a [`Replica`] [`Input`]s (verified messages, ticks of
//! logical time, its pool's size, the proposals and execution results it was asked
//! for) and carries out the [`Ready`] each step returns: persist, then write committed
//! blocks, then send. The same inputs give the same outputs, byte for byte (ed25519
//! signing is deterministic).
//!
//! # The protocol as implemented
//!
//! N validators, `f = (N - 1) / 3`, `q = ceil((N + f + 1) / 2)`; the primary of view
//! `v` is replica `v mod N`. Sequence number = block height; genesis is 0.
//!
//! 1. **Batching** (section 3 step 2). The primary asks its host for a proposal
//!    ([`ProposalRequest`]) when the pool holds `batch_max_txs` transactions or the
//!    oldest has waited `batch_timeout_ms`, and the next height is at most H. The host
//!    chooses the transactions, executes them on its speculative state after `n - 1`,
//!    and answers with the batch and the state root.
//! 2. **PRE-PREPARE** `<v, n, d, batch, result>`, `d` = SHA-256 of the batch's
//!    canonical bytes. A backup accepts it when it is signed by the primary of `v`, in
//!    its view, `h < n <= H`, not yet committed, `d` is the batch's digest, no other
//!    digest is accepted for `(v, n)`, the batch has at most `batch_max_txs` distinct
//!    transactions, its proposer is the primary, and its timestamp is not below the
//!    batch at the nearest lower height held (or the last committed one), not above
//!    the one at the nearest higher height held, and at most `max_clock_drift_ms`
//!    ahead of the host's clock. Each refusal is a typed [`IgnoreReason`]; a second
//!    digest is also reported as [`Fault::EquivocatingPrimary`] with both messages.
//! 3. **PREPARE** `<v, n, d>` from each backup that accepted. The primary sends none;
//!    a PREPARE from it is refused and reported. *Prepared*: the pre-prepare and
//!    `q - 1` matching prepares from distinct backups.
//! 4. **Validation** (RBFT). Prepared heights are handed to the host for execution
//!    ([`ExecuteRequest`]) one at a time, in height order, each after the one below
//!    executed with the primary's result. A matching state root: the replica signs
//!    COMMIT `<v, n, d, b>` with the block hash `b`. Another root or an unexecutable
//!    batch: [`Fault::WrongStateRoot`] / [`Fault::InvalidBatch`], no COMMIT.
//! 5. **Commit.** *Committed-local*: prepared, executed with the primary's result, and
//!    `q` COMMITs matching `d` and `b`, its own included. Blocks are handed to the host
//!    ([`CommittedBlock`]) strictly in height order, with those `q` COMMITs as the
//!    certificate.
//! 6. **Checkpoints** (section 4). After committing a multiple of K, the replica signs
//!    CHECKPOINT `<n, b>`. `q` matching checkpoints, its own among them, make it
//!    stable: the proof is persisted, everything at or below `n` is dropped, `h = n`,
//!    `H = n + L`. Nothing outside `(h, H]` is accepted, so the log holds at most L
//!    heights and each height at most one vote per validator and kind.
//!
//! 7. **Retransmission** (an addition; PBFT assumes eventual delivery). A replica
//!    whose committed height and h have not moved for `retransmit_interval_ms` while
//!    it has unfinished heights, or has heard of higher ones, sends its own signed
//!    messages for `[h, H]` again (the same persisted bytes). A replica that receives
//!    a vote for a height it has committed, or one at or below its h, sends that
//!    sender (at most once per interval) its stable checkpoint's proof and its own
//!    messages from that height up to its committed one. This recovers lost messages
//!    and messages refused because they arrived above a slower replica's H, as long
//!    as the slower replica has not fallen behind a checkpoint the others made stable
//!    (recovery, step 9, brings that one back).
//!
//! 8. **View change** (section 5.1; [`crate::ViewChange`], [`crate::NewView`]).
//!    Triggers: the request timer (a pending transaction or accepted batch and no
//!    commit for `request_timeout_ms`); an idle primary (a backup heard no pre-prepare
//!    or heartbeat for `idle_timeout_ms`; an idle primary sends [`crate::Heartbeat`]
//!    every half of it); faults proving the primary misbehaved (two digests for one
//!    `(v, n)`, a wrong state root, a malformed or unexecutable batch); and `f + 1`
//!    VIEW-CHANGEs for higher views (join the smallest). Each is reported in
//!    [`Ready::view_changes`] with its [`ViewChangeReason`]. The replica moves to
//!    `v + 1`, takes only CHECKPOINT, VIEW-CHANGE and NEW-VIEW, and sends VIEW-CHANGE
//!    `<v + 1, s, C, P>` with the highest-view prepared certificate it holds for
//!    every height above s (certificates are persisted as they form). Its view-change
//!    timer starts once `q` validators (itself among them) ask for `v + 1` or a later
//!    view, and doubles with each consecutive failure. The primary of `v + 1` computes Q from V ([`select`]),
//!    learns each batch's result by asking its host to execute it on the state after
//!    `min_s` (or from its record, for heights it committed), and sends NEW-VIEW. A
//!    backup accepts it only after checking every signature in V and recomputing Q
//!    from V ([`check_new_view`]); then Q's pre-prepares are ordinary pre-prepares.
//!    A replica that had committed a re-ordered height votes for it again with the
//!    block hash it committed, so the others can finish it in the new view.
//!
//! Messages may arrive in any order: votes for a height wait in its slot for the
//! pre-prepare. Several heights are in flight, up to H. Everything the replica signs,
//! and every pre-prepare it accepts, is persisted before anything that depends on it
//! is sent ([`Ready::persist`] before [`Ready::then_send`]), and a replica restarted
//! from its [`PersistedState`] never signs a second digest or block hash for a
//! `(view, seq)`. The replica checks its own invariants after every step with
//! `assert!`s that stay on in release builds.
//!
//! # Deviations from PBFT (DESIGN.md section 11)
//!
//! - Quorum `ceil((N + f + 1) / 2)` instead of `2f + 1`, so N need not be `3f + 1`.
//! - RBFT: the pre-prepare carries the primary's execution result (a state root), and
//!   replicas commit only after executing the batch to the same root; COMMIT carries
//!   the block hash, so the commit certificate proves the block, not only the order.
//! - Pre-prepares carry transaction hashes, not bodies; the ordering digest covers the
//!   batch only, not the parent hash or state root.
//! - Execution is requested once prepared (before committed) on speculative state.
//! - A checkpoint becomes stable here only when this replica's own checkpoint is among
//!   the `q` (it has committed that height itself); a replica behind a stable
//!   checkpoint waits for recovery.
//! - Batch timestamps are ordered by height (each between its neighbours held), not
//!   by arrival, so honest pre-prepares that arrive out of order are accepted.
//! - Retransmission (step 7) and `retransmit_interval_ms` are not in DESIGN.md.
//!
//! - View change keeps replicas together beyond PBFT's rules: a replica that hears
//!   from one in an older view sends it its VIEW-CHANGE and the NEW-VIEW of its view
//!   (at most once per retransmit interval); a changing replica resends its
//!   VIEW-CHANGE, and sends it to any replica already in the view it is changing to.
//! - The view-change timer counts VIEW-CHANGEs for later views too (PBFT counts
//!   those for the view itself). A replica holds only each validator's latest
//!   VIEW-CHANGE, so once one has timed out and moved on, the others could wait
//!   for q VIEW-CHANGEs for their view forever: with a faulty validator silent, the
//!   honest ones would stay split over two views, the lower short of q and the
//!   higher short of f + 1.
//! - Empty batches of a NEW-VIEW are stamped with the timestamp of the nearest
//!   re-ordered batch above them, so Q is a function of V alone.
//! - The host executes a batch by skipping transactions that fail
//!   (`ledger::execute_batch`): a re-ordered batch may hold transactions a dropped
//!   height made stale.
//!
//! 9. **Recovery** (section 5.2; [`Recovery`], [`RecoveryEvent`]). On
//!    [`Input::Recover`] (the host sends it on every start), on `f + 1` CHECKPOINTs
//!    above H, on `f + 1` CHECKPOINTs above the committed height after a retransmit
//!    interval without progress, on `f + 1` validators in higher views, and when a
//!    view-change timer runs out while fewer than `q - 1` validators were heard
//!    from in the last retransmit interval (reason `Isolated`: a replica cut off
//!    would otherwise start a view change alone and, views never going back, stay
//!    out of the others' view). NegotiateView to all: with `q` answers (its own
//!    among them) the `(f + 1)`-th highest view is the target, reached through the
//!    NEW-VIEW (or VIEW-CHANGEs) the responders send with their answer. RecoveryInit:
//!    with `q` answers, the highest checkpoint whose proof holds; above the committed
//!    height, [`Ready::transfer`] asks the host to copy the blocks up to it from the
//!    peers that claim them, and the replica orders nothing until
//!    [`Input::Transferred`]; at the checkpoint it makes it stable, resumes there
//!    (keeping what it signed above it, executing it again) and sends FetchPqc, which
//!    responders answer with their pre-prepares, own prepares, commits and
//!    checkpoints above it and their NEW-VIEW. Short of it, it asks again. Every
//!    request carries a round that answers echo; answers are rate-limited per asker.
//!    A replica the host marks amnesiac ([`Replica::start_amnesiac`]: no persisted
//!    state) orders nothing until recovery answers, and then signs no PRE-PREPARE,
//!    PREPARE or COMMIT up to the `(f + 1)`-th highest committed height reported
//!    (capped at the highest proven checkpoint plus L) plus L, and no VIEW-CHANGE or
//!    NEW-VIEW up to the negotiated view plus one; it waits for every answer or one
//!    retry interval first. The VIEW-CHANGE abstention ends early once its stable
//!    checkpoint reaches the height bound: anything a VIEW-CHANGE signed before the
//!    wipe could speak for lies at or below that checkpoint, which a new one
//!    carries. (Otherwise it lasted until a view changed, and a primary lost before
//!    then left the other two, a quorum with it, unable to change views.) A restored ledger past the persisted window (a transfer
//!    cut short) restores a paused replica that waits for a transfer to a
//!    checkpoint at or above it.
//!
//! 10. **Membership** (section 6; [`Membership`], [`Update`]). Replica ids are
//!     positions in the roster: the genesis validators, then every key a governance
//!     change added, in chain order (a removal renumbers nobody). The host reports the
//!     validator set after a block that changes it ([`ExecOutcome::Valid`]'s
//!     `validators`, [`Input::Transferred`]'s `changes`); the change counts when the
//!     height commits. A change committed at `h` takes effect above
//!     [`switch_height`]`(h)` = the first multiple of K above `h`, plus L: every
//!     height up to there is ordered, certified and checkpointed by the old set, every
//!     height above by the new one (votes, certificates, checkpoint proofs, view
//!     changes and new views are checked against the epoch of the height they
//!     concern). A replica learns of the change when it commits `h`, when its window
//!     ends at or below `h + L`, so no honest replica signs anything above the switch
//!     in the old set; the old epoch's primary orders empty batches to reach the
//!     switch on an idle chain and nothing above it. Each validator of the old epoch
//!     that commits an addition sends AddNode (to the validators and to the joiner);
//!     AddNode from `q` of them admits the joiner: it is answered and sent broadcasts
//!     and follows the normal case without voting (it commits on `q` others'
//!     COMMITs and stabilises checkpoints on `q` others' CHECKPOINTs). Caught up, it
//!     sends ReadyForN (an announcement, for logs and status). When a replica's stable
//!     checkpoint reaches the switch height (by any path) it drops the old epoch's
//!     view-change state; reached by its own checkpoint, it changes to the first
//!     view above its own whose primary in the new set was a validator of the old
//!     one (so an unready joiner never stalls the switch), with its view-change
//!     timer running from then: its VIEW-CHANGE carries the switch checkpoint with the old set's
//!     proof and no prepared certificates (RBFT's AgreeUpdateN), and that view's
//!     NEW-VIEW (RBFT's UpdateN) starts the new epoch. Each validator that enters it
//!     sends FinishUpdate; the new primary proposes after `q` of them or one
//!     retransmit interval. A VIEW-CHANGE or NEW-VIEW whose checkpoint lies where
//!     this replica cannot know the set yet (above `switch_height(committed + 1)`)
//!     is ignored, not blamed, and so is a NEW-VIEW of a later epoch whose checkpoint
//!     the replica has not committed. Recovery counts answers only from the epoch
//!     in force; a checkpoint whose proof it cannot check because it lies where a
//!     change it has not committed may apply is a target when `f + 1` answers
//!     claim it (one of them honest), the host's transfer checks every block's
//!     certificate under the set of its height, and the replica resumes there only
//!     once a proof holds under the membership the transfer brought (else it stays
//!     paused and asks again). A VIEW-CHANGE's prepared certificates must lie in
//!     its own epoch, and no replica signs above its epoch's last height. A replica outside the epoch in force
//!     (not yet joined, or removed) signs nothing and runs no view-change timers.
//!
//! # Where things live
//!
//! The modules form layers; each imports only from those above it in this list
//! (`tests/module_graph.rs` fails on a cycle):
//!
//! - `types`, `quorum`, `membership`: protocol numbers, quorum sizes, the roster and
//!   its epochs.
//! - `message`: the normal-case messages and the signed envelope `Signed`.
//! - `verify`: checking a signature and decoding a normal-case message ([`Verified`],
//!   [`Rejected`]).
//! - `log`, `checkpoint`: the per-height slots and votes; checkpoint votes and
//!   [`StableCheckpoint`] with its proof check.
//! - `recovery`, `update`, `view_change`: the other families of messages (recovery,
//!   membership, VIEW-CHANGE and NEW-VIEW with their size bounds and typed refusals).
//! - `envelope`: [`Envelope`] and opening each family's envelope into its
//!   `Verified…` type.
//! - `input`, `output`: what a step takes ([`Input`], [`verify_envelope`]) and hands
//!   back ([`Ready`]); `names` gives metrics names to the outputs.
//! - `persist`, `config`: what a restart needs, and the configuration.
//! - `view_change_checks`: the checks of VIEW-CHANGE and NEW-VIEW, and Q from V.
//! - `replica`: the state machine; its module doc lists which file owns which part
//!   of its state.
//!
//! The test-only fault switches (`Replica::set_unsafe_*`, `set_byzantine_forge_q`,
//! `check_new_view_skipping_q`) exist only with the cargo feature `test-faults`,
//! which the simulator and this crate's tests enable and the `rbft` binary never
//! does (see `Cargo.toml`).
//!
//! # Not built yet
//!
//! Recovery's amnesia bound does not cover a replica wiped before its chain's first
//! commit (every replica of a new chain starts empty, and abstaining there would
//! stop them all).
#![forbid(unsafe_code)]

mod checkpoint;
mod config;
mod envelope;
mod input;
mod log;
mod membership;
mod message;
mod names;
mod output;
mod persist;
mod quorum;
mod recovery;
mod replica;
mod types;
mod update;
mod verify;
mod view_change;
mod view_change_checks;

pub use checkpoint::StableCheckpoint;
pub use config::{ConfigError, ReplicaConfig};
pub use envelope::{
    open_new_view, open_recovery, open_update, open_view_change, Envelope, VerifiedNewView,
    VerifiedRecovery, VerifiedUpdate, VerifiedViewChange,
};
pub use input::{verify_envelope, ExecOutcome, Input};
pub use membership::{
    switch_height, Epoch, Membership, MembershipChange, MembershipError, MAX_ROSTER,
};
pub use message::{
    Batch, Checkpoint, Commit, Heartbeat, Message, MessageKind, PrePrepare, Prepare, Signed,
    SignedMessage, MAX_PAYLOAD_LEN,
};
pub use output::{
    CommittedBlock, ExecuteRequest, Fault, IgnoreReason, Ignored, Outgoing, PersistEntry,
    ProposalRequest, Ready, RecoveryEvent, RecoveryPhase, RecoveryReason, RecoveryStatus, Target,
    TransferRequest, ViewChangeReason, ViewChangeStarted,
};
pub use persist::{CommitRecord, PersistedState, RestoreError, MAX_PERSISTED_MESSAGES};
pub use quorum::{max_faulty, primary_of, quorum};
pub use recovery::{validator_set_digest, Recovery, SignedRecovery, MAX_RECOVERY_LEN};
pub use replica::Replica;
pub use types::{
    Digest, ReplicaId, SeqNo, View, MAX_BATCH_TXS, MAX_CHAIN_ID_LEN, MAX_LOG_WINDOW, MAX_VALIDATORS,
};
pub use update::{SignedUpdate, Update, MAX_UPDATE_LEN};
pub use verify::{verify, Rejected, Verified};
pub use view_change::{
    largest_view_change_messages, BadCertificatePrePrepare, BadNewView, BadQ, BadViewChange,
    NewView, PreparedCertificate, SignedNewView, SignedViewChange, ViewChange, MAX_NEW_VIEW_LEN,
    MAX_VIEW_CHANGE_LEN,
};
#[cfg(feature = "test-faults")]
pub use view_change_checks::check_new_view_skipping_q;
pub use view_change_checks::{
    check_new_view, check_view_change, check_view_change_size, select, CheckedNewView, Selection,
};
