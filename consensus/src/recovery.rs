//! The recovery messages (DESIGN.md section 5.2) and their signed envelope.
//!
//! A replica that starts, restarts or finds itself behind asks the others for their
//! view ([`Recovery::NegotiateView`]), then for their latest stable checkpoint and
//! committed height ([`Recovery::RecoveryInit`]), transfers the blocks up to the
//! highest proven checkpoint, and then asks for the pre-prepares, prepares and
//! commits above it ([`Recovery::FetchPqc`]). Every request carries the asker's
//! round number and every answer echoes it, so an answer to an older round is never
//! counted in a newer one.
//!
//! The messages are signed like every other consensus message, in their own kind's
//! domain; an answer is evidence of what its sender claimed.

use crate::checkpoint::StableCheckpoint;
use crate::message::{MessageKind, Signed};
use crate::types::{ReplicaId, SeqNo, View};
use crypto::codec::Canonical;
use crypto::{Hash, SigningKey};
use serde::{Deserialize, Serialize};

/// The most bytes a recovery message may take. The largest honest one is a
/// RecoveryResponse whose checkpoint proof holds one CHECKPOINT per validator
/// (about 120 bytes each), far below this.
pub const MAX_RECOVERY_LEN: usize = 1 << 20;

/// One recovery message (DESIGN.md section 5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recovery {
    /// Step 1: "which view are you in?"
    NegotiateView { round: u64 },
    /// The answer: the sender's view, whether it is changing to it (it has not
    /// entered it yet), and its validator set (N and the digest of the ordered
    /// public keys), so a node with another membership is noticed.
    NegotiateViewResponse {
        round: u64,
        view: View,
        changing: bool,
        n: u32,
        validators: Hash,
    },
    /// Step 2: "what is your latest stable checkpoint and committed height?"
    RecoveryInit { round: u64 },
    /// The answer: the stable checkpoint with its proof (`None` at genesis), and the
    /// last committed height with its block hash.
    RecoveryResponse {
        round: u64,
        stable: Option<StableCheckpoint>,
        last_committed: SeqNo,
        last_block_hash: Option<Hash>,
    },
    /// Step 4: "send me the pre-prepares, prepares and commits you hold above
    /// `from`", answered with those messages themselves and the NEW-VIEW of the
    /// sender's view.
    FetchPqc { round: u64, from: SeqNo },
}

impl Recovery {
    pub fn kind(&self) -> MessageKind {
        match self {
            Recovery::NegotiateView { .. } => MessageKind::NegotiateView,
            Recovery::NegotiateViewResponse { .. } => MessageKind::NegotiateViewResponse,
            Recovery::RecoveryInit { .. } => MessageKind::RecoveryInit,
            Recovery::RecoveryResponse { .. } => MessageKind::RecoveryResponse,
            Recovery::FetchPqc { .. } => MessageKind::FetchPqc,
        }
    }

    pub fn round(&self) -> u64 {
        match self {
            Recovery::NegotiateView { round }
            | Recovery::NegotiateViewResponse { round, .. }
            | Recovery::RecoveryInit { round }
            | Recovery::RecoveryResponse { round, .. }
            | Recovery::FetchPqc { round, .. } => *round,
        }
    }
}

impl Canonical for Recovery {
    const NAME: &'static str = "recovery message";
    const MAX_ENCODED_LEN: usize = MAX_RECOVERY_LEN;
}

/// A signed recovery message.
pub type SignedRecovery = Signed<MAX_RECOVERY_LEN>;

impl SignedRecovery {
    pub fn sign(key: &SigningKey, chain_id: &str, sender: ReplicaId, message: &Recovery) -> Self {
        Self::sign_bytes(
            key,
            chain_id,
            sender,
            message.kind(),
            message.to_canonical_bytes(),
        )
    }
}

/// The digest of an ordered validator set, as NegotiateViewResponse reports it.
pub fn validator_set_digest(validators: &[crypto::PublicKey]) -> Hash {
    let mut hasher = crypto::Sha256::new();
    for key in validators {
        hasher.update(key.as_bytes());
    }
    hasher.finish()
}
