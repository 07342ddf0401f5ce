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

/// Signed messages of `kind` from the API's hex form: (replica, payload hex,
/// signature) each, as certificates and checkpoint proofs serve them.
fn signed_entries<'a>(
    entries: impl ExactSizeIterator<Item = (u32, &'a str, crypto::Signature)>,
    kind: MessageKind,
) -> Result<BoundedVec<SignedMessage, { consensus::MAX_VALIDATORS }>, DecodeFault> {
    let count = entries.len();
    let mut signed = Vec::with_capacity(count);
    for (replica, payload, signature) in entries {
        let bytes = hex::decode(payload).map_err(|e| DecodeFault::PayloadNotHex {
            replica,
            reason: e.to_string(),
        })?;
        let len = bytes.len();
        let payload =
            BoundedBytes::new(bytes).map_err(|_| DecodeFault::PayloadTooLong { replica, len })?;
        signed.push(SignedMessage {
            sender: ReplicaId(replica),
            kind,
            payload,
            signature,
        });
    }
    BoundedVec::new(signed).map_err(|_| DecodeFault::TooManySignatures { count })
}

/// The certificate `info` describes, as the node stores it: the signed COMMITs
/// (sender = roster id) and the view. The public keys `info` names beside them
/// are the node's say-so; the checker takes keys from the genesis and the chain.
pub fn certificate_of(info: &CommitInfo) -> Result<Certificate, DecodeFault> {
    let entries = info
        .signatures
        .iter()
        .map(|e| (e.replica, e.payload.as_str(), e.signature));
    Ok(Certificate {
        view: info.view,
        // The route serves COMMITs only; the checker still decodes each payload
        // and refuses one that is not a COMMIT for this block.
        commits: signed_entries(entries, MessageKind::Commit)?,
    })
}

/// The stable checkpoint `info` describes, as the replicas keep it: the signed
/// CHECKPOINTs (sender = roster id). As for certificates, the keys `info` names
/// are the node's say-so; the checker's rule decodes each payload itself.
pub fn checkpoint_of(info: &CheckpointInfo) -> Result<StableCheckpoint, DecodeFault> {
    let entries = info
        .proof
        .iter()
        .map(|e| (e.replica, e.payload.as_str(), e.signature));
    Ok(StableCheckpoint {
        seq: SeqNo(info.height),
        block_hash: info.block_hash,
        proof: signed_entries(entries, MessageKind::Checkpoint)?,
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
