//! Short, stable names of faults and of the reasons inputs are ignored: the labels
//! of the node's metrics and the `kind` of its kept evidence. A name never changes
//! once released (dashboards and stored evidence use it).

use crate::output::{Fault, IgnoreReason};

impl Fault {
    /// The fault's kind, in snake case.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::WrongStateRoot { .. } => "wrong_state_root",
            Fault::InvalidBatch { .. } => "invalid_batch",
            Fault::EquivocatingPrimary { .. } => "equivocating_primary",
            Fault::EquivocatingVote { .. } => "equivocating_vote",
            Fault::PrepareFromPrimary { .. } => "prepare_from_primary",
            Fault::MalformedPrePrepare { .. } => "malformed_pre_prepare",
            Fault::BadViewChange { .. } => "bad_view_change",
            Fault::BadNewView { .. } => "bad_new_view",
            Fault::NewViewConflictsWithCommitted { .. } => "new_view_conflicts_with_committed",
            Fault::ExecutionDiverged { .. } => "execution_diverged",
        }
    }
}

impl IgnoreReason {
    /// The reason, in snake case.
    pub fn name(&self) -> &'static str {
        match self {
            IgnoreReason::FromSelf => "from_self",
            IgnoreReason::WrongView { .. } => "wrong_view",
            IgnoreReason::ChangingView => "changing_view",
            IgnoreReason::OldView { .. } => "old_view",
            IgnoreReason::OutsideWindow { .. } => "outside_window",
            IgnoreReason::AlreadyCommitted { .. } => "already_committed",
            IgnoreReason::NotFromPrimary { .. } => "not_from_primary",
            IgnoreReason::PrepareFromPrimary => "prepare_from_primary",
            IgnoreReason::Duplicate => "duplicate",
            IgnoreReason::ConflictingDigest { .. } => "conflicting_digest",
            IgnoreReason::ConflictingVote => "conflicting_vote",
            IgnoreReason::DigestMismatch { .. } => "digest_mismatch",
            IgnoreReason::TooManyTxs { .. } => "too_many_txs",
            IgnoreReason::DuplicateTx => "duplicate_tx",
            IgnoreReason::WrongProposer { .. } => "wrong_proposer",
            IgnoreReason::TimestampBeforePrevious { .. } => "timestamp_before_previous",
            IgnoreReason::TimestampAfterNext { .. } => "timestamp_after_next",
            IgnoreReason::TimestampTooFarAhead { .. } => "timestamp_too_far_ahead",
            IgnoreReason::NotACheckpointHeight => "not_a_checkpoint_height",
            IgnoreReason::NotRequested => "not_requested",
            IgnoreReason::Recovering => "recovering",
            IgnoreReason::StaleRecovery => "stale_recovery",
            IgnoreReason::NotAMember { .. } => "not_a_member",
            IgnoreReason::BeyondSwitch { .. } => "beyond_switch",
            IgnoreReason::UnknownEpoch { .. } => "unknown_epoch",
            IgnoreReason::BadMembershipChange { .. } => "bad_membership_change",
        }
    }
}
