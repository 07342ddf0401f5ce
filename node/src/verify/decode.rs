//! The API's JSON blocks, commit certificates and stable checkpoints turned back
//! into the ledger's [`Block`], the node's stored [`Certificate`] and the
//! replica's [`StableCheckpoint`], so that the checks run on the
//! very types the node hashes and verifies. Nothing a node served is trusted: a
//! value that does not fit its bound is a [`DecodeFault`], not a panic.

use crate::api::types::{BlockInfo, CheckpointInfo, CommitInfo};
use crate::wire::Certificate;
use consensus::{MessageKind, ReplicaId, SeqNo, SignedMessage, StableCheckpoint};
use crypto::{BoundedBytes, BoundedVec};
use ledger::{Block, BlockHeader};

/// Why a served block or certificate is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeFault {
    #[error("{count} transactions, more than a block may hold")]
    TooManyTxs { count: usize },
    #[error("{count} signatures, more than a validator set has")]
    TooManySignatures { count: usize },
    #[error("the signed message of replica {replica} is not hex: {reason}")]
    PayloadNotHex { replica: u32, reason: String },
    #[error("the signed message of replica {replica} is {len} bytes, longer than any message")]
    PayloadTooLong { replica: u32, len: usize },
}

/// The ledger block `info` describes. Its hash is the caller's to compare.
pub fn block_of(info: BlockInfo) -> Result<Block, DecodeFault> {
    let count = info.transactions.len();
    let txs = BoundedVec::new(info.transactions).map_err(|_| DecodeFault::TooManyTxs { count })?;
    Ok(Block {
        header: BlockHeader {
            height: info.height,
            parent: info.parent,
            batch_digest: info.batch_digest,
            tx_root: info.tx_root,
            state_root: info.state_root,
            tx_count: info.tx_count,
            timestamp_ms: info.timestamp_ms,
            proposer: info.proposer,
        },
        txs,
    })
}

/// The certificate `info` describes, as the node stores it: the signed COMMITs
/// (sender = roster id) and the view. The public keys `info` names beside them
/// are the node's say-so; the checker takes keys from the genesis and the chain.
pub fn certificate_of(info: &CommitInfo) -> Result<Certificate, DecodeFault> {
    let count = info.signatures.len();
    let mut commits = Vec::with_capacity(count);
    for entry in &info.signatures {
        let replica = entry.replica;
        let bytes = hex::decode(&entry.payload).map_err(|e| DecodeFault::PayloadNotHex {
            replica,
            reason: e.to_string(),
        })?;
        let len = bytes.len();
        let payload =
            BoundedBytes::new(bytes).map_err(|_| DecodeFault::PayloadTooLong { replica, len })?;
        commits.push(SignedMessage {
            sender: ReplicaId(replica),
            // The route serves COMMITs only; the checker still decodes each payload
            // and refuses one that is not a COMMIT for this block.
            kind: MessageKind::Commit,
            payload,
            signature: entry.signature,
        });
    }
    Ok(Certificate {
        view: info.view,
        commits: BoundedVec::new(commits).map_err(|_| DecodeFault::TooManySignatures { count })?,
    })
}

/// The stable checkpoint `info` describes, as the replicas keep it: the signed
/// CHECKPOINTs (sender = roster id). As for certificates, the keys `info` names
/// are the node's say-so; the checker's rule decodes each payload itself.
pub fn checkpoint_of(info: &CheckpointInfo) -> Result<StableCheckpoint, DecodeFault> {
    let count = info.proof.len();
    let mut proof = Vec::with_capacity(count);
    for entry in &info.proof {
        let replica = entry.replica;
        let bytes = hex::decode(&entry.payload).map_err(|e| DecodeFault::PayloadNotHex {
            replica,
            reason: e.to_string(),
        })?;
        let len = bytes.len();
        let payload =
            BoundedBytes::new(bytes).map_err(|_| DecodeFault::PayloadTooLong { replica, len })?;
        proof.push(SignedMessage {
            sender: ReplicaId(replica),
            kind: MessageKind::Checkpoint,
            payload,
            signature: entry.signature,
        });
    }
    Ok(StableCheckpoint {
        seq: SeqNo(info.height),
        block_hash: info.block_hash,
        proof: BoundedVec::new(proof).map_err(|_| DecodeFault::TooManySignatures { count })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::CommitSignature;

    fn commit_info(payload: &str) -> CommitInfo {
        let key = crypto::SigningKey::from_seed([1; 32]);
        CommitInfo {
            height: 1,
            block_hash: crypto::Hash::ZERO,
            view: 0,
            batch_digest: crypto::Hash::ZERO,
            signatures: vec![CommitSignature {
                replica: 3,
                public_key: key.public_key(),
                payload: payload.to_owned(),
                signature: key.sign(MessageKind::Commit.domain("c"), b"x"),
            }],
        }
    }

    #[test]
    fn a_payload_that_is_not_hex_names_its_replica() {
        let fault = certificate_of(&commit_info("zz")).unwrap_err();
        assert!(
            matches!(fault, DecodeFault::PayloadNotHex { replica: 3, .. }),
            "{fault}"
        );
    }

    #[test]
    fn a_certificate_keeps_its_senders_payloads_and_view() {
        let certificate = certificate_of(&commit_info("0102")).unwrap();
        assert_eq!(certificate.commits.len(), 1);
        assert_eq!(certificate.commits[0].sender, ReplicaId(3));
        assert_eq!(&*certificate.commits[0].payload, &[1u8, 2][..]);
    }
}
