//! What a replica needs from disk to restart without equivocating (DESIGN.md
//! section 2: a restart must never sign two digests for one `(view, seq)`).
//!
//! The host builds a [`PersistedState`] by applying every [`PersistEntry`] a step
//! returns ([`PersistedState::apply`]) and every committed block
//! ([`PersistedState::record_commit`]), and gives it to [`crate::Replica::new`] on
//! restart. A host that restored its ledger some other way sets `last_committed`
//! from its ledger's tip.

use crate::checkpoint::StableCheckpoint;
use crate::envelope::{decode_new_view, decode_view_change};
use crate::message::{Message, SignedMessage};
use crate::output::{CommittedBlock, PersistEntry};
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
    /// it; a move to another view drops the log of older views. A write that would
    /// pass a bound is refused and leaves the state as it was.
    pub fn apply(&mut self, entry: &PersistEntry) -> Result<(), TooMany> {
        match entry {
            PersistEntry::Message(signed) => self.log.try_push(signed.clone())?,
            PersistEntry::StableCheckpoint(stable) => {
                let seq = stable.seq;
                self.retain_log(|message| message.seq() > seq);
                self.prepared
                    .retain(|c| certificate_seq(c).is_some_and(|s| s > seq));
                self.stable_checkpoint = Some(stable.clone());
            }
            PersistEntry::Prepared(certificate) => {
                // Kept in height order. Heights mostly prepare in order, so the place
                // is found from the newest back, decoding one or two certificates.
                let seq = certificate_seq(certificate);
                let mut at = self.prepared.len();
                while at > 0 {
                    let here = certificate_seq(&self.prepared[at - 1]);
                    if here == seq {
                        self.prepared[at - 1] = certificate.clone();
                        return Ok(());
                    }
                    if here < seq {
                        break;
                    }
                    at -= 1;
                }
                self.prepared.try_push(certificate.clone())?;
                self.prepared[at..].rotate_right(1);
            }
            PersistEntry::ViewChange(signed) => {
                if let Some(vc) = decode_view_change(signed) {
                    self.move_to(vc.new_view);
                    self.changing = true;
                }
                self.view_change = Some(signed.clone());
            }
            PersistEntry::Resumed { seq, timestamp_ms } => {
                if *seq >= self.last_committed {
                    self.last_committed = *seq;
                    self.last_committed_timestamp_ms = *timestamp_ms;
                }
                self.commits.retain(|c| c.seq <= *seq);
            }
            PersistEntry::NewView(signed) => {
                if let Some(nv) = decode_new_view(signed) {
                    self.move_to(nv.view);
                    self.changing = false;
                }
                self.new_view = Some(signed.clone());
            }
        }
        Ok(())
    }

    /// The view moves to `view`: messages of older views promise nothing any more.
    fn move_to(&mut self, view: View) {
        self.view = view;
        self.retain_log(|message| message.view().is_none_or(|v| v >= view));
    }

    fn retain_log(&mut self, keep: impl Fn(&Message) -> bool) {
        self.log.retain(|signed| {
            Message::from_canonical_bytes(&signed.payload)
                .map(|message| keep(&message))
                .unwrap_or(false)
        });
    }

    /// Records a block the ledger wrote.
    pub fn record_commit(&mut self, block: &CommittedBlock) {
        self.last_committed = block.seq;
        self.last_committed_timestamp_ms = block.timestamp_ms;
        self.commits.retain(|c| c.seq < block.seq);
        if self.commits.len() == MAX_LOG_WINDOW as usize {
            self.commits.remove(0);
        }
        let record = CommitRecord {
            seq: block.seq,
            digest: block.digest,
            block_hash: block.block_hash,
            state_root: block.state_root,
        };
        self.commits
            .try_push(record)
            .expect("room was made for the newest");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Prepare;
    use crate::types::ReplicaId;
    use crypto::{Hash, SigningKey};

    /// A full log refuses one more message and keeps every one it held: an overflow
    /// must never cost the replica what it promised.
    #[test]
    fn an_overflowing_write_is_refused_and_loses_nothing() {
        let key = SigningKey::from_seed([1; 32]);
        let prepare = Message::Prepare(Prepare {
            view: View(0),
            seq: SeqNo(1),
            digest: Hash([1; 32]),
        });
        let signed = SignedMessage::sign(&key, "c", ReplicaId(0), &prepare);
        let mut state = PersistedState::default();
        for _ in 0..MAX_PERSISTED_MESSAGES {
            state
                .apply(&PersistEntry::Message(signed.clone()))
                .expect("within the bound");
        }
        let before = state.clone();
        assert!(state.apply(&PersistEntry::Message(signed)).is_err());
        assert_eq!(state, before);
    }

    fn certificate(key: &SigningKey, view: u64, seq: u64) -> PreparedCertificate {
        let pre_prepare = Message::PrePrepare(crate::message::PrePrepare {
            view: View(view),
            seq: SeqNo(seq),
            digest: Hash([seq as u8; 32]),
            batch: crate::message::Batch {
                tx_hashes: BoundedVec::empty(),
                proposer: ReplicaId(0),
                timestamp_ms: seq,
            },
            result: Hash::ZERO,
        });
        PreparedCertificate {
            pre_prepare: SignedMessage::sign(key, "c", ReplicaId(0), &pre_prepare),
            prepares: BoundedVec::empty(),
        }
    }

    /// Prepared certificates stay one per height, in height order, whatever order
    /// they are written in; a newer one for a height replaces the older.
    #[test]
    fn prepared_certificates_stay_one_per_height_in_order() {
        let key = SigningKey::from_seed([2; 32]);
        let mut state = PersistedState::default();
        for seq in [3, 5, 4, 1, 6, 2] {
            state
                .apply(&PersistEntry::Prepared(certificate(&key, 0, seq)))
                .unwrap();
        }
        state
            .apply(&PersistEntry::Prepared(certificate(&key, 1, 4)))
            .unwrap();
        let seqs: Vec<u64> = state
            .prepared
            .iter()
            .map(|c| certificate_seq(c).unwrap().0)
            .collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(state.prepared[3], certificate(&key, 1, 4));
    }
}
