//! What the host feeds the replica (DESIGN.md section 1).

use crate::envelope::{
    open_new_view, open_recovery, open_update, open_view_change, Envelope, VerifiedNewView,
    VerifiedRecovery, VerifiedUpdate, VerifiedViewChange,
};
use crate::membership::MembershipChange;
use crate::message::Batch;
use crate::types::{Digest, SeqNo};
use crate::verify::{verify, Rejected, Verified};
use crypto::{Hash, PublicKey};

/// One input to [`crate::Replica::step`].
#[derive(Debug, Clone)]
pub enum Input {
    /// A message from another replica whose signature was checked by [`crate::verify()`].
    Message(Verified),
    /// A VIEW-CHANGE whose envelope verified ([`crate::verify_envelope`]); the replica
    /// checks its C and P sets.
    ViewChange(VerifiedViewChange),
    /// A NEW-VIEW whose envelope verified; the replica checks V and recomputes Q.
    NewView(VerifiedNewView),
    /// A recovery message whose envelope verified ([`crate::verify_envelope`]).
    Recovery(VerifiedRecovery),
    /// A membership message whose envelope verified (DESIGN.md section 6).
    Update(VerifiedUpdate),
    /// The host started (or restarted) the replica: run recovery (DESIGN.md section
    /// 5.2). A host sends it once, after the first tick (a host without persisted
    /// state calls [`crate::Replica::start_amnesiac`] before).
    Recover,
    /// The host's answer to [`crate::Ready::transfer`]: its ledger's tip after the
    /// transfer (the target checkpoint's height and block hash when it got there)
    /// and that block's batch timestamp.
    /// `changes`: the governance changes in the blocks the transfer applied, in
    /// chain order.
    Transferred {
        seq: SeqNo,
        block_hash: Hash,
        timestamp_ms: u64,
        changes: Vec<MembershipChange>,
    },
    /// Logical time from the host, in milliseconds; it never goes back (a smaller value
    /// is ignored). It drives the primary's batch timeout and bounds batch timestamps.
    Tick { now_ms: u64 },
    /// The host's pool holds `count` transactions that are in no proposal yet, the
    /// oldest of which arrived at `oldest_ms`. A proposal consumes this report: after
    /// answering a [`crate::ProposalRequest`] the host reports its pool again.
    TxsAvailable { count: usize, oldest_ms: u64 },
    /// The host's answer to [`crate::Ready::propose`] (primary only): the batch it
    /// chose and the state root it got by executing it on its speculative state after
    /// `seq - 1`.
    Proposal {
        seq: SeqNo,
        batch: Batch,
        result: Hash,
    },
    /// The host's answer to an [`crate::ExecuteRequest`] (DESIGN.md section 3 step 4).
    Executed {
        seq: SeqNo,
        digest: Digest,
        outcome: ExecOutcome,
    },
}

/// What executing a batch on the state after `seq - 1` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// The batch executed: the resulting state root, and the hash of the block header
    /// built from it (DESIGN.md section 7). `validators`: the validator set after
    /// the block, in ledger order, when the block holds a governance transaction
    /// (DESIGN.md section 6); the change counts once the height commits.
    Valid {
        state_root: Hash,
        block_hash: Hash,
        validators: Option<Vec<PublicKey>>,
    },
    /// The batch cannot be executed (a transaction is unknown, invalid, or badly
    /// signed): the primary proposed a malformed block.
    Invalid,
}

/// Checks any message from the network at the edge and makes it an input for the
/// replica.
pub fn verify_envelope(
    envelope: &Envelope,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<Input, Rejected> {
    match envelope {
        Envelope::Message(m) => verify(m, validators, chain_id).map(Input::Message),
        Envelope::ViewChange(m) => open_view_change(m, validators, chain_id).map(Input::ViewChange),
        Envelope::NewView(m) => open_new_view(m, validators, chain_id).map(Input::NewView),
        Envelope::Recovery(m) => open_recovery(m, validators, chain_id).map(Input::Recovery),
        Envelope::Update(m) => open_update(m, validators, chain_id).map(Input::Update),
    }
}
