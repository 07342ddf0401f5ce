//! The normal-case messages (DESIGN.md sections 3 and 4) and their signed envelope.
//!
//! A message is signed over its canonical bytes in the domain
//! `rbft/v1 || chain_id || kind` (DESIGN.md section 2). The envelope carries those
//! exact bytes, so a message embedded as evidence (a commit certificate, a checkpoint
//! proof, later a view change) can be re-verified by anyone.

use crate::types::{Digest, ReplicaId, SeqNo, View, MAX_BATCH_TXS};
use crypto::codec::{BoundedBytes, BoundedVec, Canonical};
use crypto::{Domain, Hash, Signature, SigningKey};
use serde::{Deserialize, Serialize};

/// Longest varint encoding of a u64 / u32 in postcard.
const U64_MAX_LEN: usize = 10;
const U32_MAX_LEN: usize = 5;
const HASH_LEN: usize = 32;

/// What the primary orders at one height: transaction hashes (bodies travel once, on
/// forwarding), the proposer and its timestamp (DESIGN.md section 3 step 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub tx_hashes: BoundedVec<Hash, MAX_BATCH_TXS>,
    pub proposer: ReplicaId,
    pub timestamp_ms: u64,
}

impl Batch {
    /// The ordering digest `d`: SHA-256 of the batch's canonical bytes. It leaves out
    /// the parent hash and the state root (DESIGN.md section 3, last paragraphs).
    pub fn digest(&self) -> Digest {
        crypto::sha256(&self.to_canonical_bytes())
    }

    /// Whether some transaction hash appears twice: such a batch is malformed.
    pub fn has_duplicate_tx(&self) -> bool {
        let mut sorted: Vec<&Hash> = self.tx_hashes.iter().collect();
        sorted.sort_unstable();
        sorted.windows(2).any(|pair| pair[0] == pair[1])
    }
}

impl Canonical for Batch {
    const NAME: &'static str = "batch";
    // length prefix (3 bytes covers 10,000) + hashes + proposer + timestamp
    const MAX_ENCODED_LEN: usize = 3 + MAX_BATCH_TXS * HASH_LEN + U32_MAX_LEN + U64_MAX_LEN;
}

/// `<v, n, d, batch, result>` from the primary (DESIGN.md section 3 step 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrePrepare {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
    pub batch: Batch,
    /// The state root the primary got by executing the batch on the state after `n - 1`
    /// (RBFT). It is not part of `d`.
    pub result: Hash,
}

/// `<v, n, d, i>` from a backup (DESIGN.md section 3 step 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepare {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
}

/// `<v, n, d, b, i>`: the sender executed `d` and got block hash `b` (section 3 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub view: View,
    pub seq: SeqNo,
    pub digest: Digest,
    pub block_hash: Hash,
}

/// `<n, d(state), i>`: the hash of block `n`, every K heights (DESIGN.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: SeqNo,
    pub block_hash: Hash,
}

/// `<v, n>` from an idle primary every `idle_timeout / 2` (DESIGN.md section 5.1): it
/// is alive in view `v` and has proposed up to `n`. Never persisted: it promises
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub view: View,
    pub seq: SeqNo,
}

/// Every normal-case message; one variant per protocol message. The sender is in the
/// envelope ([`SignedMessage`]), not here. VIEW-CHANGE and NEW-VIEW embed these, so
/// they travel in envelopes of their own ([`crate::ViewChange`], [`crate::NewView`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    PrePrepare(PrePrepare),
    Prepare(Prepare),
    Commit(Commit),
    Checkpoint(Checkpoint),
    Heartbeat(Heartbeat),
}

const PRE_PREPARE_MAX_LEN: usize =
    U64_MAX_LEN + U64_MAX_LEN + HASH_LEN + Batch::MAX_ENCODED_LEN + HASH_LEN;

impl Canonical for Message {
    const NAME: &'static str = "consensus message";
    // variant tag + the largest variant
    const MAX_ENCODED_LEN: usize = 1 + PRE_PREPARE_MAX_LEN;
}

/// The kind of a message: it names the signing domain and must match the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MessageKind {
    PrePrepare,
    Prepare,
    Commit,
    Checkpoint,
    Heartbeat,
    ViewChange,
    NewView,
    NegotiateView,
    NegotiateViewResponse,
    RecoveryInit,
    RecoveryResponse,
    FetchPqc,
    AddNode,
    ReadyForN,
    FinishUpdate,
}

impl MessageKind {
    /// The `kind` of the signing domain.
    pub fn domain_kind(self) -> &'static str {
        match self {
            MessageKind::PrePrepare => "pre-prepare",
            MessageKind::Prepare => "prepare",
            MessageKind::Commit => "commit",
            MessageKind::Checkpoint => "checkpoint",
            MessageKind::Heartbeat => "heartbeat",
            MessageKind::ViewChange => "view-change",
            MessageKind::NewView => "new-view",
            MessageKind::NegotiateView => "negotiate-view",
            MessageKind::NegotiateViewResponse => "negotiate-view-response",
            MessageKind::RecoveryInit => "recovery-init",
            MessageKind::RecoveryResponse => "recovery-response",
            MessageKind::FetchPqc => "fetch-pqc",
            MessageKind::AddNode => "add-node",
            MessageKind::ReadyForN => "ready-for-n",
            MessageKind::FinishUpdate => "finish-update",
        }
    }

    pub fn domain(self, chain_id: &str) -> Domain<'_> {
        Domain::new(chain_id, self.domain_kind())
    }
}

impl Message {
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::PrePrepare(_) => MessageKind::PrePrepare,
            Message::Prepare(_) => MessageKind::Prepare,
            Message::Commit(_) => MessageKind::Commit,
            Message::Checkpoint(_) => MessageKind::Checkpoint,
            Message::Heartbeat(_) => MessageKind::Heartbeat,
        }
    }

    /// The height the message is about.
    pub fn seq(&self) -> SeqNo {
        match self {
            Message::PrePrepare(m) => m.seq,
            Message::Prepare(m) => m.seq,
            Message::Commit(m) => m.seq,
            Message::Checkpoint(m) => m.seq,
            Message::Heartbeat(m) => m.seq,
        }
    }

    /// The view, for the messages that have one (a checkpoint does not).
    pub fn view(&self) -> Option<View> {
        match self {
            Message::PrePrepare(m) => Some(m.view),
            Message::Prepare(m) => Some(m.view),
            Message::Commit(m) => Some(m.view),
            Message::Checkpoint(_) => None,
            Message::Heartbeat(m) => Some(m.view),
        }
    }
}

/// The most payload bytes a signed normal-case message may carry.
pub const MAX_PAYLOAD_LEN: usize = Message::MAX_ENCODED_LEN;

/// A signed message as it travels and as it is kept as evidence: the sender, the kind
/// (which names the signing domain), the canonical bytes of the message exactly as
/// signed, and the signature. `MAX` bounds the payload; each family of messages has
/// its own bound ([`SignedMessage`], [`crate::SignedViewChange`],
/// [`crate::SignedNewView`]), so a message that embeds others has a finite one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<const MAX: usize> {
    pub sender: ReplicaId,
    pub kind: MessageKind,
    pub payload: BoundedBytes<MAX>,
    pub signature: Signature,
}

/// A signed normal-case [`Message`].
pub type SignedMessage = Signed<MAX_PAYLOAD_LEN>;

impl<const MAX: usize> Canonical for Signed<MAX> {
    const NAME: &'static str = "signed consensus message";
    // sender + kind + length prefix (5 bytes covers any usize we use) + payload + signature
    const MAX_ENCODED_LEN: usize = U32_MAX_LEN + 1 + 5 + MAX + 64;
}

impl<const MAX: usize> Signed<MAX> {
    /// Signs `bytes`, the canonical encoding of a message of `kind`, as `sender`.
    pub(crate) fn sign_bytes(
        key: &SigningKey,
        chain_id: &str,
        sender: ReplicaId,
        kind: MessageKind,
        bytes: Vec<u8>,
    ) -> Self {
        let signature = key.sign(kind.domain(chain_id), &bytes);
        let payload = BoundedBytes::new(bytes)
            .expect("a message's canonical bytes are within its envelope by its Canonical bound");
        Signed {
            sender,
            kind,
            payload,
            signature,
        }
    }
}

impl SignedMessage {
    /// Signs `message` as `sender` for `chain_id`. The replica signs its own messages
    /// with this; tests and the simulator's Byzantine actors use it to forge theirs.
    pub fn sign(key: &SigningKey, chain_id: &str, sender: ReplicaId, message: &Message) -> Self {
        Self::sign_bytes(
            key,
            chain_id,
            sender,
            message.kind(),
            message.to_canonical_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_batch() -> Batch {
        Batch {
            tx_hashes: BoundedVec::new(vec![Hash([0xff; 32]); MAX_BATCH_TXS]).expect("bound"),
            proposer: ReplicaId(u32::MAX),
            timestamp_ms: u64::MAX,
        }
    }

    /// The bounds are honest: the largest possible message encodes within them
    /// (`to_canonical_bytes` asserts it) and decodes again.
    #[test]
    fn largest_messages_fit_their_bounds() {
        let batch = full_batch();
        assert!(batch.to_canonical_bytes().len() <= Batch::MAX_ENCODED_LEN);
        let message = Message::PrePrepare(PrePrepare {
            view: View(u64::MAX),
            seq: SeqNo(u64::MAX),
            digest: batch.digest(),
            batch,
            result: Hash([0xff; 32]),
        });
        let key = SigningKey::from_seed([7; 32]);
        let signed = SignedMessage::sign(&key, "chain", ReplicaId(u32::MAX), &message);
        let bytes = signed.to_canonical_bytes();
        assert!(bytes.len() <= SignedMessage::MAX_ENCODED_LEN);
        assert_eq!(SignedMessage::from_canonical_bytes(&bytes), Ok(signed));
    }

    /// DESIGN.md section 3 step 2: the digest covers the batch, so any change to the
    /// transactions, proposer or timestamp changes it.
    #[test]
    fn digest_covers_every_batch_field() {
        let base = Batch {
            tx_hashes: BoundedVec::new(vec![crypto::sha256(b"a")]).expect("bound"),
            proposer: ReplicaId(0),
            timestamp_ms: 5,
        };
        let mut other_txs = base.clone();
        other_txs.tx_hashes = BoundedVec::new(vec![crypto::sha256(b"b")]).expect("bound");
        let mut other_proposer = base.clone();
        other_proposer.proposer = ReplicaId(1);
        let mut other_time = base.clone();
        other_time.timestamp_ms = 6;
        for changed in [other_txs, other_proposer, other_time] {
            assert_ne!(changed.digest(), base.digest());
        }
        assert!(!base.has_duplicate_tx());
    }
}
