//! What nodes send each other over libp2p (DESIGN.md section 8), in the canonical
//! encoding. The network layer moves bounded byte frames; these types give them
//! meaning, and a frame that does not decode is garbage from that peer.

use consensus::{Envelope, SignedMessage, StableCheckpoint, MAX_VALIDATORS};
use crypto::{BoundedVec, Canonical, Hash};
use ledger::{Block, SignedTransaction};
use serde::{Deserialize, Serialize};

/// The most transactions one forwarded batch carries ("small batches").
pub const MAX_FORWARD_TXS: usize = 256;
/// The most transaction bodies one fetch asks for.
pub const MAX_FETCH_TXS: usize = 10_000;
/// The most blocks one fetch returns. A block transfer writes each answer in one
/// synced write, so small blocks come many to an answer.
pub const MAX_FETCH_BLOCKS: usize = 256;
/// A node stops adding blocks to an answer once it holds this many bytes, so an
/// answer is at most this plus one block, however large the blocks.
pub const FETCH_BLOCKS_BUDGET_BYTES: usize = 4 << 20;

/// A one-way message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    Consensus(Envelope),
    /// Transactions a client gave the sender, forwarded so that every pool holds
    /// every pending transaction (DESIGN.md section 3 step 1).
    Txs(BoundedVec<SignedTransaction, MAX_FORWARD_TXS>),
}

/// What a [`PeerMessage`] frame carries, read from its first byte without
/// decoding the rest (the edge queues transactions and consensus apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMessageKind {
    Consensus,
    Txs,
}

impl PeerMessage {
    /// The kind of the frame `bytes`, or `None` when its first byte names no
    /// variant (the frame is garbage). Postcard writes an enum's variant index as
    /// a varint first; a test holds this to the encoding.
    pub fn kind_of(bytes: &[u8]) -> Option<PeerMessageKind> {
        match bytes.first()? {
            0 => Some(PeerMessageKind::Consensus),
            1 => Some(PeerMessageKind::Txs),
            _ => None,
        }
    }
}

impl Canonical for PeerMessage {
    const NAME: &'static str = "peer message";
    const MAX_ENCODED_LEN: usize = {
        let txs = 3 + MAX_FORWARD_TXS * <SignedTransaction as Canonical>::MAX_ENCODED_LEN;
        let envelope = <Envelope as Canonical>::MAX_ENCODED_LEN;
        1 + if txs > envelope { txs } else { envelope }
    };
}

/// A request that expects an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchRequest {
    /// The bodies of these transactions (a batch this node must execute).
    Txs(BoundedVec<Hash, MAX_FETCH_TXS>),
    /// Committed blocks from `from`, at most `count` (and `MAX_FETCH_BLOCKS`).
    Blocks { from: u64, count: u32 },
    /// The peer's latest stable checkpoint with its proof.
    StableCheckpoint,
}

impl Canonical for FetchRequest {
    const NAME: &'static str = "fetch request";
    const MAX_ENCODED_LEN: usize = 1 + 3 + MAX_FETCH_TXS * 32;
}

/// A committed block with its commit certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedBlock {
    pub block: Block,
    pub certificate: Certificate,
}

/// The answer to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchResponse {
    /// The bodies this node has, in any order; missing ones are left out.
    Txs(BoundedVec<SignedTransaction, MAX_FETCH_TXS>),
    /// Consecutive blocks from the height asked for (empty when it has none), at
    /// most as many as asked and within [`FETCH_BLOCKS_BUDGET_BYTES`] but the last.
    Blocks(BoundedVec<CertifiedBlock, MAX_FETCH_BLOCKS>),
    /// `None` while no checkpoint is stable.
    StableCheckpoint(Option<StableCheckpoint>),
    /// The peer answers as many fetches as it can afford at once; ask another
    /// (`crate::serve`).
    Busy,
}

impl Canonical for FetchResponse {
    const NAME: &'static str = "fetch response";
    const MAX_ENCODED_LEN: usize = {
        let txs = 3 + MAX_FETCH_TXS * <SignedTransaction as Canonical>::MAX_ENCODED_LEN;
        let blocks = 3
            + FETCH_BLOCKS_BUDGET_BYTES
            + <Block as Canonical>::MAX_ENCODED_LEN
            + <Certificate as Canonical>::MAX_ENCODED_LEN;
        1 + if txs > blocks { txs } else { blocks }
    };
}

/// A block's commit certificate as the store keeps it: the `q` COMMITs, and the
/// view they were signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub view: u64,
    pub commits: BoundedVec<SignedMessage, MAX_VALIDATORS>,
}

impl Certificate {
    /// The certificate of a block the replica committed.
    pub fn of(info: &consensus::CommittedBlock) -> Certificate {
        Certificate {
            view: info.view.0,
            commits: BoundedVec::new(info.certificate.clone())
                .expect("a certificate holds at most one COMMIT per validator"),
        }
    }
}

impl Canonical for Certificate {
    const NAME: &'static str = "commit certificate";
    const MAX_ENCODED_LEN: usize = ledger::MAX_CERTIFICATE_BYTES;
}

#[cfg(test)]
mod tests {
    use super::*;
    use consensus::{Heartbeat, Message, ReplicaId, SeqNo, View};
    use crypto::SigningKey;
    use ledger::{ChainId, Transaction, TxKind};

    #[test]
    fn the_kind_of_a_frame_is_its_first_byte() {
        let key = SigningKey::from_seed([7; 32]);
        let heartbeat = Message::Heartbeat(Heartbeat {
            view: View(3),
            seq: SeqNo(9),
        });
        let signed = SignedMessage::sign(&key, "kind-test", ReplicaId(0), &heartbeat);
        let consensus = PeerMessage::Consensus(Envelope::Message(signed)).to_canonical_bytes();
        assert_eq!(
            PeerMessage::kind_of(&consensus),
            Some(PeerMessageKind::Consensus)
        );
        let tx = Transaction {
            chain_id: ChainId::new("kind-test").unwrap(),
            signer: key.public_key(),
            nonce: 0,
            kind: TxKind::Transfer {
                to: ledger::Address::of(&key.public_key()),
                amount: 1,
            },
        }
        .sign(&key);
        let txs = PeerMessage::Txs(BoundedVec::new(vec![tx]).unwrap()).to_canonical_bytes();
        assert_eq!(PeerMessage::kind_of(&txs), Some(PeerMessageKind::Txs));
        assert_eq!(PeerMessage::kind_of(&[2]), None);
        assert_eq!(PeerMessage::kind_of(&[]), None);
    }
}
