//! Blocks: the hashed header and the transactions.

use crate::tx::SignedTransaction;
use crypto::{BoundedVec, Canonical, Hash, PublicKey};
use serde::{Deserialize, Serialize};

/// The most transactions one block may hold (the genesis `batch_max_txs` is at most
/// this).
pub const MAX_BLOCK_TXS: usize = 10_000;

/// The hashed part of a block (DESIGN.md section 7). Nothing here depends on the
/// view the block commits in; the view and the commit certificate are stored beside
/// the block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    pub height: u64,
    /// The hash of block `height - 1`; zero for genesis.
    pub parent: Hash,
    /// The ordering digest of the batch this block executes (for genesis, the hash
    /// of the genesis document).
    pub batch_digest: Hash,
    /// The merkle root of the transaction hashes, in block order.
    pub tx_root: Hash,
    /// The state root after executing this block.
    pub state_root: Hash,
    pub tx_count: u32,
    /// The batch's timestamp, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The replica that proposed the batch (for genesis, the admin key).
    pub proposer: PublicKey,
}

impl Canonical for BlockHeader {
    const NAME: &'static str = "block header";
    const MAX_ENCODED_LEN: usize = 10 + 4 * 32 + 5 + 10 + 32;
}

impl BlockHeader {
    /// The block hash: SHA-256 of the canonical header.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&self.to_canonical_bytes())
    }
}

/// A block: header and transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: BoundedVec<SignedTransaction, MAX_BLOCK_TXS>,
}

impl Canonical for Block {
    const NAME: &'static str = "block";
    const MAX_ENCODED_LEN: usize = BlockHeader::MAX_ENCODED_LEN
        + 3
        + MAX_BLOCK_TXS * <SignedTransaction as Canonical>::MAX_ENCODED_LEN;
}

impl Block {
    /// The block at `height` on `parent` holding `txs`, whose execution gave
    /// `state_root`. Panics past [`MAX_BLOCK_TXS`]: callers bound their batches.
    pub fn assemble(
        height: u64,
        parent: Hash,
        batch_digest: Hash,
        timestamp_ms: u64,
        proposer: PublicKey,
        txs: Vec<SignedTransaction>,
        state_root: Hash,
    ) -> Block {
        let hashes: Vec<Hash> = txs.iter().map(SignedTransaction::hash).collect();
        Block {
            header: BlockHeader {
                height,
                parent,
                batch_digest,
                tx_root: crypto::merkle_root(&hashes),
                state_root,
                tx_count: txs.len() as u32,
                timestamp_ms,
                proposer,
            },
            txs: BoundedVec::new(txs).expect("a block holds at most MAX_BLOCK_TXS transactions"),
        }
    }

    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The hashes of the transactions, in block order.
    pub fn tx_hashes(&self) -> Vec<Hash> {
        self.txs.iter().map(SignedTransaction::hash).collect()
    }

    /// Whether the header's count and merkle root describe these transactions.
    pub fn body_matches_header(&self) -> bool {
        self.header_describes(&self.tx_hashes())
    }

    /// The same check on hashes the caller already computed ([`Block::tx_hashes`]).
    pub fn header_describes(&self, tx_hashes: &[Hash]) -> bool {
        self.header.tx_count as usize == tx_hashes.len()
            && self.header.tx_root == crypto::merkle_root(tx_hashes)
    }
}

/// Where a committed transaction is: its block height and position in the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

impl Canonical for TxLocation {
    const NAME: &'static str = "transaction location";
    const MAX_ENCODED_LEN: usize = 15;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, ChainId, Transaction, TxKind};
    use crypto::SigningKey;

    fn block(n: u64) -> Block {
        let key = SigningKey::from_seed([1; 32]);
        let txs: Vec<SignedTransaction> = (0..n)
            .map(|nonce| {
                Transaction {
                    chain_id: ChainId::new("c").unwrap(),
                    signer: key.public_key(),
                    nonce,
                    kind: TxKind::Transfer {
                        to: Address([2; 20]),
                        amount: 1,
                    },
                }
                .sign(&key)
            })
            .collect();
        let hashes: Vec<Hash> = txs.iter().map(SignedTransaction::hash).collect();
        Block {
            header: BlockHeader {
                height: 1,
                parent: Hash::ZERO,
                batch_digest: crypto::sha256(b"batch"),
                tx_root: crypto::merkle_root(&hashes),
                state_root: Hash::ZERO,
                tx_count: n as u32,
                timestamp_ms: 5,
                proposer: key.public_key(),
            },
            txs: BoundedVec::new(txs).unwrap(),
        }
    }

    #[test]
    fn block_round_trips_and_body_matches_header() {
        let b = block(3);
        assert!(b.body_matches_header());
        let back = Block::from_canonical_bytes(&b.to_canonical_bytes()).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.hash(), b.hash());
    }

    #[test]
    fn every_header_field_changes_the_hash() {
        let b = block(1);
        let h = b.hash();
        let mut variants = vec![];
        let mut x = b.header.clone();
        x.height += 1;
        variants.push(x);
        let mut x = b.header.clone();
        x.parent = crypto::sha256(b"p");
        variants.push(x);
        let mut x = b.header.clone();
        x.batch_digest = crypto::sha256(b"d");
        variants.push(x);
        let mut x = b.header.clone();
        x.tx_root = crypto::sha256(b"t");
        variants.push(x);
        let mut x = b.header.clone();
        x.state_root = crypto::sha256(b"s");
        variants.push(x);
        let mut x = b.header.clone();
        x.tx_count += 1;
        variants.push(x);
        let mut x = b.header.clone();
        x.timestamp_ms += 1;
        variants.push(x);
        let mut x = b.header.clone();
        x.proposer = SigningKey::from_seed([9; 32]).public_key();
        variants.push(x);
        for v in variants {
            assert_ne!(v.hash(), h, "{v:?}");
        }
    }

    #[test]
    fn body_that_does_not_match_the_header_is_detected() {
        let mut b = block(3);
        let mut txs = b.txs.clone().into_inner();
        txs.swap(0, 1);
        b.txs = BoundedVec::new(txs).unwrap();
        assert!(!b.body_matches_header());
        let mut c = block(3);
        c.header.tx_count = 2;
        assert!(!c.body_matches_header());
    }
}
