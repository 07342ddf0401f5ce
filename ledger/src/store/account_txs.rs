//! The account index: every committed transaction under the addresses it touches,
//! so an account's history is read newest first without scanning blocks.
//!
//! A key is the address (20 bytes), the block height (big-endian u64) and the
//! transaction's index in the block (big-endian u32); the value is the transaction's
//! hash and the block's timestamp (big-endian u64 ms), so a page of history lists
//! when each transaction committed without reading its block. Big-endian numbers sort as numbers, so one address's entries lie together
//! in commit order, and reading them backwards from a cursor is a reverse iteration
//! that stops at the first key of another address. The entries of a block are put
//! in the block's own write batch ([`super::Store::commit_blocks`]): the index never
//! lags the chain, even across a crash.
//!
//! Stores of format version 1 have no index; [`super::Store::open`] builds it from
//! the blocks once, in batches, before the store is used, and then records version 2.

use super::reader::ChainReader;
use super::schema::{CF_ACCOUNT_TXS, CF_BLOCKS};
use super::{KeyValue, StoreError};
use crate::account::Address;
use crate::block::Block;
use crate::tx::TxKind;
use crypto::{Canonical, Hash};
use rocksdb::{IteratorMode, WriteBatch};

/// Address (20) + height (8) + index (4).
const KEY_LEN: usize = 32;

/// The most entries one page may ask for.
pub const MAX_ACCOUNT_TXS_PAGE: usize = 1000;

/// Blocks whose index entries one write of the version-1 upgrade carries.
const BACKFILL_BLOCKS_PER_WRITE: usize = 1000;

/// Where a transaction is in the chain: the position an account's history is
/// ordered and paged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChainPosition {
    pub height: u64,
    pub index: u32,
}

/// One entry of an account's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTx {
    pub position: ChainPosition,
    pub hash: Hash,
    /// The timestamp of its block.
    pub timestamp_ms: u64,
}

fn key(address: &Address, position: ChainPosition) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    key[..20].copy_from_slice(&address.0);
    key[20..28].copy_from_slice(&position.height.to_be_bytes());
    key[28..].copy_from_slice(&position.index.to_be_bytes());
    key
}

fn position_of(key: &[u8]) -> Option<ChainPosition> {
    if key.len() != KEY_LEN {
        return None;
    }
    Some(ChainPosition {
        height: u64::from_be_bytes(key[20..28].try_into().ok()?),
        index: u32::from_be_bytes(key[28..].try_into().ok()?),
    })
}

/// The addresses a transaction touches: its signer's and, for a transfer, the
/// recipient's (once, when they are the same).
pub fn addresses_of(kind: &TxKind, sender: Address) -> Vec<Address> {
    match kind {
        TxKind::Transfer { to, .. } if *to != sender => vec![sender, *to],
        _ => vec![sender],
    }
}

/// The index entries of `block`, whose transactions' hashes are `tx_hashes`.
pub fn entries_of(block: &Block, tx_hashes: &[Hash]) -> Vec<KeyValue> {
    let height = block.header.height;
    let mut entries = Vec::with_capacity(2 * block.txs.len());
    for (index, (tx, hash)) in block.txs.iter().zip(tx_hashes).enumerate() {
        let position = ChainPosition {
            height,
            index: index as u32,
        };
        let mut value = hash.0.to_vec();
        value.extend_from_slice(&block.header.timestamp_ms.to_be_bytes());
        for address in addresses_of(&tx.tx.kind, tx.tx.sender()) {
            entries.push((key(&address, position).to_vec(), value.clone()));
        }
    }
    entries
}

impl ChainReader {
    /// Up to `limit` (at most [`MAX_ACCOUNT_TXS_PAGE`]) transactions touching
    /// `address`, newest first, strictly before `before` when given.
    pub fn account_txs(
        &self,
        address: &Address,
        before: Option<ChainPosition>,
        limit: usize,
    ) -> Result<Vec<AccountTx>, StoreError> {
        let limit = limit.min(MAX_ACCOUNT_TXS_PAGE);
        let start = match before {
            Some(position) => key(address, position),
            None => key(
                address,
                ChainPosition {
                    height: u64::MAX,
                    index: u32::MAX,
                },
            ),
        };
        let mode = IteratorMode::From(&start, rocksdb::Direction::Reverse);
        let mut out = Vec::new();
        for item in self.db().iterator_cf(self.cf(CF_ACCOUNT_TXS), mode) {
            if out.len() >= limit {
                break;
            }
            let (k, value) = item.map_err(|e| self.db_error(e))?;
            if !k.starts_with(&address.0) {
                break;
            }
            let position = position_of(&k)
                .ok_or_else(|| self.corrupt("an account index key is not 32 bytes"))?;
            if before == Some(position) {
                continue;
            }
            let malformed = || self.corrupt("an account index value is not a hash and a time");
            if value.len() != 40 {
                return Err(malformed());
            }
            let hash = Hash(value[..32].try_into().map_err(|_| malformed())?);
            let timestamp_ms = u64::from_be_bytes(value[32..].try_into().map_err(|_| malformed())?);
            out.push(AccountTx {
                position,
                hash,
                timestamp_ms,
            });
        }
        Ok(out)
    }
}

impl super::Store {
    /// Builds the account index of a version-1 store from its blocks, a batch of
    /// blocks per synced write. Safe to repeat after a crash: the entries are the
    /// same each time.
    pub(super) fn backfill_account_txs(&self) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let mut in_batch = 0;
        let index = self.cf(CF_ACCOUNT_TXS);
        for item in self.db.iterator_cf(self.cf(CF_BLOCKS), IteratorMode::Start) {
            let (_, value) = item.map_err(|e| self.db_error(e))?;
            let block = Block::from_canonical_bytes(&value).map_err(|e| self.corrupt(e))?;
            for (k, v) in entries_of(&block, &block.tx_hashes()) {
                batch.put_cf(index, k, v);
            }
            in_batch += 1;
            if in_batch == BACKFILL_BLOCKS_PER_WRITE {
                self.write(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        self.write(batch)
    }
}
