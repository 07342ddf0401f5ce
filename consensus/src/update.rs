//! The membership-change messages of DESIGN.md section 6 that are not view-change
//! messages, and their signed envelope.
//!
//! A governance change committed at height `h` takes effect above the switch height
//! ([`crate::switch_height`]). Around it:
//! - each validator of the epoch in force that commits the authorisation of a new
//!   validator X sends [`Update::AddNode`]; a validator holding AddNode for X from a
//!   quorum of that epoch admits X: it answers X's recovery requests and sends X its
//!   broadcasts, so X follows the normal case without voting;
//! - X, admitted and caught up past `h`, sends [`Update::ReadyForN`] (an
//!   announcement: the switch does not wait for it);
//! - at the switch height every validator changes to the first view of the new epoch
//!   whose primary was a validator of the old one, with a VIEW-CHANGE carrying the switch checkpoint (RBFT's AgreeUpdateN: the new
//!   N, f, q follow from the chain, the view from the message, and its C set is the
//!   switch checkpoint; its P set is empty, since nothing above the switch is
//!   ordered in the old epoch); the new epoch's primary of that view answers with
//!   the NEW-VIEW (RBFT's UpdateN), which resets every validator's view-change state;
//! - each validator that entered that view sends [`Update::FinishUpdate`]; the
//!   primary proposes once it holds a quorum of them (or a retransmit interval
//!   later).

use crate::message::{MessageKind, Signed};
use crate::types::{ReplicaId, SeqNo, View};
use crypto::codec::Canonical;
use crypto::SigningKey;
use serde::{Deserialize, Serialize};

/// The most bytes a membership message may take (they are a few dozen).
pub const MAX_UPDATE_LEN: usize = 64;

/// One membership-change message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Update {
    /// "I committed the authorisation of `joiner` at `authorized_at`."
    AddNode {
        joiner: ReplicaId,
        authorized_at: SeqNo,
    },
    /// From a joining validator: "I am admitted and hold the chain up to `committed`."
    ReadyForN { committed: SeqNo },
    /// "I entered `view`, the first view of the epoch above `switch`."
    FinishUpdate { switch: SeqNo, view: View },
}

impl Update {
    pub fn kind(&self) -> MessageKind {
        match self {
            Update::AddNode { .. } => MessageKind::AddNode,
            Update::ReadyForN { .. } => MessageKind::ReadyForN,
            Update::FinishUpdate { .. } => MessageKind::FinishUpdate,
        }
    }
}

impl Canonical for Update {
    const NAME: &'static str = "membership message";
    const MAX_ENCODED_LEN: usize = MAX_UPDATE_LEN;
}

/// A signed membership message.
pub type SignedUpdate = Signed<MAX_UPDATE_LEN>;

impl SignedUpdate {
    pub fn sign(key: &SigningKey, chain_id: &str, sender: ReplicaId, message: &Update) -> Self {
        Self::sign_bytes(
            key,
            chain_id,
            sender,
            message.kind(),
            message.to_canonical_bytes(),
        )
    }
}
