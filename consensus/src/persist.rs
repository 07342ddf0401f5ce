//! What a replica needs from disk to restart without equivocating (DESIGN.md
//! section 2: a restart must never sign two digests for one `(view, seq)`).
//!
//! The host builds a [`PersistedState`] by applying every [`PersistEntry`] a step
//! returns ([`PersistedState::apply`]) and every committed block
//! ([`PersistedState::record_commit`]), and gives it to [`crate::Replica::new`] on
//! restart. A host that restored its ledger some other way sets `last_committed`
//! from its ledger's tip.

use crate::message::{Message, SignedMessage};
use crate::output::{CommittedBlock, PersistEntry, StableCheckpoint};
use crate::types::{SeqNo, View, MAX_LOG_WINDOW, MAX_VALIDATORS};
use crate::verify::Rejected;
use crypto::codec::{BoundedVec, Canonical, TooMany};
use serde::{Deserialize, Serialize};

/// Per height a replica persists at most a pre-prepare, a prepare and a commit, plus
/// a checkpoint every K heights: four messages per height of the window is a bound.
pub const MAX_PERSISTED_MESSAGES: usize = 4 * MAX_LOG_WINDOW as usize;

/// The consensus state a host keeps durably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistedState {
    pub view: View,
    /// The last stable checkpoint and its proof; `None` means genesis (h = 0).
    pub stable_checkpoint: Option<StableCheckpoint>,
    /// The ledger's committed height.
    pub last_committed: SeqNo,
    /// The timestamp of the batch at `last_committed` (0 at genesis): the floor for
    /// the next batch's timestamp.
    pub last_committed_timestamp_ms: u64,
    /// Messages this replica signed, and pre-prepares it accepted, above the stable
    /// checkpoint.
    pub log: BoundedVec<SignedMessage, MAX_PERSISTED_MESSAGES>,
}

impl Default for PersistedState {
    /// Genesis: view 0, nothing committed, nothing signed.
    fn default() -> Self {
        PersistedState {
            view: View(0),
            stable_checkpoint: None,
            last_committed: SeqNo(0),
            last_committed_timestamp_ms: 0,
            log: BoundedVec::empty(),
        }
    }
}

impl PersistedState {
    /// Records one durable write. A stable checkpoint drops the log at or below it.
    pub fn apply(&mut self, entry: &PersistEntry) -> Result<(), TooMany> {
        match entry {
            PersistEntry::Message(signed) => {
                let mut log = std::mem::replace(&mut self.log, BoundedVec::empty()).into_inner();
                log.push(signed.clone());
                self.log = BoundedVec::new(log)?;
            }
            PersistEntry::StableCheckpoint(stable) => {
                let above = |signed: &SignedMessage| {
                    Message::from_canonical_bytes(&signed.payload)
                        .map(|message| message.seq() > stable.seq)
                        .unwrap_or(false)
                };
                let log: Vec<SignedMessage> = std::mem::replace(&mut self.log, BoundedVec::empty())
                    .into_inner()
                    .into_iter()
                    .filter(above)
                    .collect();
                self.log = BoundedVec::new(log)?;
                self.stable_checkpoint = Some(stable.clone());
            }
        }
        Ok(())
    }

    /// Records a block the ledger wrote.
    pub fn record_commit(&mut self, block: &CommittedBlock) {
        self.last_committed = block.seq;
        self.last_committed_timestamp_ms = block.timestamp_ms;
    }
}

const STABLE_CHECKPOINT_MAX_LEN: usize =
    10 + 32 + 2 + MAX_VALIDATORS * SignedMessage::MAX_ENCODED_LEN;

impl Canonical for PersistedState {
    const NAME: &'static str = "persisted consensus state";
    // view + option tag + checkpoint + height + timestamp + length prefix + messages
    const MAX_ENCODED_LEN: usize = 10
        + 1
        + STABLE_CHECKPOINT_MAX_LEN
        + 10
        + 10
        + 3
        + MAX_PERSISTED_MESSAGES * SignedMessage::MAX_ENCODED_LEN;
}

/// Why a persisted state does not restore. The state came from this replica's own
/// disk, so this is an operating error (corruption or a host bug), not a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("the stable checkpoint at {seq} has no valid proof of q matching signatures")]
    CheckpointProof { seq: SeqNo },
    #[error("committed height {last_committed} is outside the window ({low}, {high}]")]
    CommittedOutsideWindow {
        last_committed: SeqNo,
        low: SeqNo,
        high: SeqNo,
    },
    #[error("persisted message {index} does not verify: {reason}")]
    BadMessage { index: usize, reason: Rejected },
    #[error("persisted message {index} is neither ours nor a pre-prepare from the primary")]
    ForeignMessage { index: usize },
    #[error("persisted messages {index} and an earlier one disagree for {seq}")]
    Conflicting { index: usize, seq: SeqNo },
}
