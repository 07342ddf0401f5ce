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
use crate::types::{Digest, SeqNo, View, MAX_LOG_WINDOW, MAX_VALIDATORS};
use crate::verify::Rejected;
use crate::view_change::{PreparedCertificate, SignedNewView, SignedViewChange};
use crypto::codec::{BoundedVec, Canonical, TooMany};
use crypto::Hash;
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
    /// checkpoint, in `view` (older views' are dropped when the view moves).
    pub log: BoundedVec<SignedMessage, MAX_PERSISTED_MESSAGES>,
    /// Changing to `view`: the VIEW-CHANGE is sent, the NEW-VIEW not yet accepted.
    pub changing: bool,
    /// The last VIEW-CHANGE this replica signed.
    pub view_change: Option<SignedViewChange>,
    /// The NEW-VIEW of the last view this replica entered.
    pub new_view: Option<SignedNewView>,
    /// The highest-view prepared certificate for each height above the stable
    /// checkpoint at which this replica is prepared (the P set), in height order.
    pub prepared: BoundedVec<PreparedCertificate, { MAX_LOG_WINDOW as usize }>,
    /// The most recent committed blocks (at most `MAX_LOG_WINDOW`, newest kept): a new
    /// view re-orders the ones above the stable checkpoint (or up to a window below
    /// it, when the view change began before the checkpoint), and this replica votes
    /// for them again with the same block hash.
    pub commits: BoundedVec<CommitRecord, { MAX_LOG_WINDOW as usize }>,
}

/// A committed height above the stable checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub seq: SeqNo,
    pub digest: Digest,
    pub block_hash: Hash,
    pub state_root: Hash,
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
            changing: false,
            view_change: None,
            new_view: None,
            prepared: BoundedVec::empty(),
            commits: BoundedVec::empty(),
        }
    }
}

impl PersistedState {
    /// Records one durable write. A stable checkpoint drops everything at or below
    /// it; a move to another view drops the log of older views.
    pub fn apply(&mut self, entry: &PersistEntry) -> Result<(), TooMany> {
        match entry {
            PersistEntry::Message(signed) => {
                let mut log = std::mem::replace(&mut self.log, BoundedVec::empty()).into_inner();
                log.push(signed.clone());
                self.log = BoundedVec::new(log)?;
            }
            PersistEntry::StableCheckpoint(stable) => {
                let seq = stable.seq;
                self.retain_log(|message| message.seq() > seq)?;
                let prepared = std::mem::replace(&mut self.prepared, BoundedVec::empty());
                self.prepared = BoundedVec::new(
                    prepared
                        .into_inner()
                        .into_iter()
                        .filter(|c| certificate_seq(c).is_some_and(|s| s > seq))
                        .collect(),
                )?;
                self.stable_checkpoint = Some(stable.clone());
            }
            PersistEntry::Prepared(certificate) => {
                let seq = certificate_seq(certificate);
                let mut prepared: Vec<PreparedCertificate> =
                    std::mem::replace(&mut self.prepared, BoundedVec::empty())
                        .into_inner()
                        .into_iter()
                        .filter(|c| certificate_seq(c) != seq)
                        .collect();
                prepared.push(certificate.clone());
                prepared.sort_by_key(certificate_seq);
                self.prepared = BoundedVec::new(prepared)?;
            }
            PersistEntry::ViewChange(signed) => {
                let view = crate::verify::decode_view_change(signed).map(|vc| vc.new_view);
                if let Some(view) = view {
                    self.move_to(view)?;
                    self.changing = true;
                }
                self.view_change = Some(signed.clone());
            }
            PersistEntry::NewView(signed) => {
                let view = crate::verify::decode_new_view(signed).map(|nv| nv.view);
                if let Some(view) = view {
                    self.move_to(view)?;
                    self.changing = false;
                }
                self.new_view = Some(signed.clone());
            }
        }
        Ok(())
    }

    /// The view moves to `view`: messages of older views promise nothing any more.
    fn move_to(&mut self, view: View) -> Result<(), TooMany> {
        self.view = view;
        self.retain_log(|message| message.view().is_none_or(|v| v >= view))
    }

    fn retain_log(&mut self, keep: impl Fn(&Message) -> bool) -> Result<(), TooMany> {
        let log: Vec<SignedMessage> = std::mem::replace(&mut self.log, BoundedVec::empty())
            .into_inner()
            .into_iter()
            .filter(|signed| {
                Message::from_canonical_bytes(&signed.payload)
                    .map(|message| keep(&message))
                    .unwrap_or(false)
            })
            .collect();
        self.log = BoundedVec::new(log)?;
        Ok(())
    }

    /// Records a block the ledger wrote.
    pub fn record_commit(&mut self, block: &CommittedBlock) {
        self.last_committed = block.seq;
        self.last_committed_timestamp_ms = block.timestamp_ms;
        let mut commits = std::mem::replace(&mut self.commits, BoundedVec::empty()).into_inner();
        commits.retain(|c| c.seq < block.seq);
        commits.push(CommitRecord {
            seq: block.seq,
            digest: block.digest,
            block_hash: block.block_hash,
            state_root: block.state_root,
        });
        let excess = commits.len().saturating_sub(MAX_LOG_WINDOW as usize);
        commits.drain(..excess);
        self.commits = BoundedVec::new(commits).expect("trimmed to the bound");
    }
}

/// The height a certificate is for (None if its pre-prepare does not decode).
pub(crate) fn certificate_seq(certificate: &PreparedCertificate) -> Option<SeqNo> {
    Message::from_canonical_bytes(&certificate.pre_prepare.payload)
        .ok()
        .map(|m| m.seq())
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
        + MAX_PERSISTED_MESSAGES * SignedMessage::MAX_ENCODED_LEN
        + 1
        + 1
        + SignedViewChange::MAX_ENCODED_LEN
        + 1
        + SignedNewView::MAX_ENCODED_LEN
        + 3
        + MAX_LOG_WINDOW as usize * (SignedMessage::MAX_ENCODED_LEN * (MAX_VALIDATORS + 1) + 3)
        + 3
        + MAX_LOG_WINDOW as usize * (10 + 32 * 3);
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
