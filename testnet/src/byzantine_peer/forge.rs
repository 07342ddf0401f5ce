//! The frames the Byzantine peer sends: each is signed with its own validator key
//! where a signature is wanted (so it reaches the replica's rules, not just the
//! signature check), or broken on purpose where it is not.

use consensus::{
    Batch, Checkpoint, Commit, Envelope, Message, PrePrepare, Prepare, ReplicaId, SeqNo,
    SignedMessage, View,
};
use crypto::{BoundedVec, Canonical, Hash, SigningKey};
use node::wire::PeerMessage;
use rand::{Rng, RngCore};

/// Who signs, for which chain.
pub struct Signer {
    pub key: SigningKey,
    pub me: ReplicaId,
    pub chain_id: String,
}

impl Signer {
    /// `message` signed and framed as the node sends it.
    pub fn frame(&self, message: &Message) -> Vec<u8> {
        let signed = SignedMessage::sign(&self.key, &self.chain_id, self.me, message);
        PeerMessage::Consensus(Envelope::Message(signed)).to_canonical_bytes()
    }

    /// Two pre-prepares for one `(view, seq)` with different (empty) batches: the
    /// primary equivocating. Each claims `result` as the state root.
    pub fn equivocating_pre_prepares(
        &self,
        view: View,
        seq: SeqNo,
        timestamp_ms: u64,
        result: Hash,
    ) -> [Vec<u8>; 2] {
        [timestamp_ms, timestamp_ms + 1].map(|timestamp_ms| {
            let batch = Batch {
                tx_hashes: BoundedVec::new(Vec::new()).expect("empty"),
                proposer: self.me,
                timestamp_ms,
            };
            self.frame(&Message::PrePrepare(PrePrepare {
                view,
                seq,
                digest: batch.digest(),
                batch,
                result,
            }))
        })
    }

    /// A PREPARE for a digest nobody proposed.
    pub fn prepare(&self, view: View, seq: SeqNo, rng: &mut impl RngCore) -> Vec<u8> {
        self.frame(&Message::Prepare(Prepare {
            view,
            seq,
            digest: random_hash(rng),
        }))
    }

    /// A COMMIT for a digest and block nobody proposed.
    pub fn commit(&self, view: View, seq: SeqNo, rng: &mut impl RngCore) -> Vec<u8> {
        self.frame(&Message::Commit(Commit {
            view,
            seq,
            digest: random_hash(rng),
            block_hash: random_hash(rng),
        }))
    }

    /// A CHECKPOINT for a block that does not exist.
    pub fn checkpoint(&self, seq: SeqNo, rng: &mut impl RngCore) -> Vec<u8> {
        self.frame(&Message::Checkpoint(Checkpoint {
            seq,
            block_hash: random_hash(rng),
        }))
    }
}

pub fn random_hash(rng: &mut impl RngCore) -> Hash {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    Hash(bytes)
}

/// Random bytes: a frame that decodes as nothing, or as a message whose signature
/// fails.
pub fn garbage(rng: &mut impl RngCore) -> Vec<u8> {
    let len = rng.gen_range(1..2048);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A valid frame with its signature's last byte flipped.
pub fn bad_signature(frame: &[u8]) -> Vec<u8> {
    let mut bytes = frame.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    bytes
}
