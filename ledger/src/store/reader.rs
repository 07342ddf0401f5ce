//! Reads of the committed chain (blocks, certificates, the transaction index, the
//! tip as written) that need no lock on the [`super::Store`].
//!
//! A transaction is read out of its block's bytes by the offsets the store keeps
//! for each block ([`spans_key`]), so a lookup by hash decodes one transaction, not
//! the thousands beside it.
//!
//! Committed history never changes once its write batch is durable, and RocksDB
//! serves concurrent reads, so a node's API and its answers to peers read through a
//! [`ChainReader`] while the store's owner keeps committing: a slow reader (one
//! decoding a large block) never holds anything the committing side waits for.

use super::schema::*;
use super::{StoreError, Tip};
use crate::block::{Block, TxLocation};
use crate::tx::SignedTransaction;
use crypto::{Canonical, Hash};
use rocksdb::{IteratorMode, DB};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A cheap, cloneable handle for reading the committed chain. See the module
/// documentation.
#[derive(Clone)]
pub struct ChainReader {
    db: Arc<DB>,
    path: Arc<PathBuf>,
}

/// What [`ChainReader::transactions`] found.
#[derive(Debug, Default)]
pub struct FoundTxs {
    /// Committed transactions with where they are, in height order.
    pub txs: Vec<(SignedTransaction, TxLocation)>,
    /// Hashes that are committed but were left out because answering them would
    /// have decoded more blocks than allowed.
    pub over_budget: usize,
    /// The highest height any of the asked hashes is committed at.
    pub highest: Option<u64>,
}

impl ChainReader {
    pub(super) fn new(db: Arc<DB>, path: &Path) -> ChainReader {
        ChainReader {
            db,
            path: Arc::new(path.to_owned()),
        }
    }

    /// The tip as the last durable write recorded it. It may be a block ahead of
    /// [`super::Store::tip`] for the instant between the write and the store's
    /// update of its memory.
    pub fn tip(&self) -> Result<Tip, StoreError> {
        let bytes = self
            .db
            .get_pinned_cf(self.cf(CF_META), META_TIP)
            .map_err(|e| self.db_error(e))?
            .ok_or_else(|| self.corrupt("no tip"))?;
        Tip::from_canonical_bytes(&bytes).map_err(|e| self.corrupt(e))
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_BLOCKS), height_key(height))
            .map_err(|e| self.db_error(e))?
            .map(|bytes| Block::from_canonical_bytes(&bytes).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_BLOCK_HASHES), hash.0)
            .map_err(|e| self.db_error(e))?
            .map(|bytes| decode_height(&bytes).ok_or_else(|| self.corrupt("bad height entry")))
            .transpose()
    }

    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        match self.height_of(hash)? {
            Some(height) => self.block(height),
            None => Ok(None),
        }
    }

    /// Up to `limit` blocks from `from` upwards, in height order.
    pub fn blocks(&self, from: u64, limit: usize) -> Result<Vec<Block>, StoreError> {
        let mode = IteratorMode::From(&height_key(from), rocksdb::Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_BLOCKS), mode).take(limit) {
            let (_, value) = item.map_err(|e| self.db_error(e))?;
            out.push(Block::from_canonical_bytes(&value).map_err(|e| self.corrupt(e))?);
        }
        Ok(out)
    }

    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_TXS), hash.0)
            .map_err(|e| self.db_error(e))?
            .map(|bytes| TxLocation::from_canonical_bytes(&bytes).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// A committed transaction and where it is. Reads just that transaction from
    /// its block's bytes (one key decompression, not one per transaction of the
    /// block).
    pub fn transaction(
        &self,
        hash: &Hash,
    ) -> Result<Option<(SignedTransaction, TxLocation)>, StoreError> {
        let Some(location) = self.tx_location(hash)? else {
            return Ok(None);
        };
        let mut found = self.read_block_txs(location.height, &[(*hash, location)])?;
        Ok(found.pop())
    }

    /// The committed transactions among `hashes`, from at most `max_blocks`
    /// blocks (the lowest heights first), each block's bytes read once and only
    /// the transactions asked for decoded: a request for many hashes costs a key
    /// decompression per transaction it gets, within a bound. Hashes that are not
    /// committed are left out.
    pub fn transactions(&self, hashes: &[Hash], max_blocks: usize) -> Result<FoundTxs, StoreError> {
        let mut by_height: BTreeMap<u64, Vec<(Hash, TxLocation)>> = BTreeMap::new();
        for hash in hashes {
            if let Some(location) = self.tx_location(hash)? {
                by_height
                    .entry(location.height)
                    .or_default()
                    .push((*hash, location));
            }
        }
        let mut found = FoundTxs {
            highest: by_height.keys().next_back().copied(),
            ..FoundTxs::default()
        };
        for (k, (height, wanted)) in by_height.into_iter().enumerate() {
            if k >= max_blocks {
                found.over_budget += wanted.len();
                continue;
            }
            found.txs.extend(self.read_block_txs(height, &wanted)?);
        }
        Ok(found)
    }

    /// The transactions `wanted` of block `height`, each checked against its
    /// hash: sliced out of the block's bytes where the store holds their offsets
    /// ([`spans_key`]), else from the decoded block (a store written before them).
    fn read_block_txs(
        &self,
        height: u64,
        wanted: &[(Hash, TxLocation)],
    ) -> Result<Vec<(SignedTransaction, TxLocation)>, StoreError> {
        let block = self
            .db
            .get_pinned_cf(self.cf(CF_BLOCKS), height_key(height))
            .map_err(|e| self.db_error(e))?
            .ok_or_else(|| self.corrupt(format!("indexed block {height} is missing")))?;
        let spans = self
            .db
            .get_pinned_cf(self.cf(CF_TXS), spans_key(height))
            .map_err(|e| self.db_error(e))?;
        let mut out = Vec::with_capacity(wanted.len());
        let Some(spans) = spans else {
            let block = Block::from_canonical_bytes(&block).map_err(|e| self.corrupt(e))?;
            for (hash, location) in wanted {
                out.push((self.pick(&block, *hash, *location)?, *location));
            }
            return Ok(out);
        };
        let offset = |i: usize| -> Option<usize> {
            let bytes = spans.get(4 * i..4 * i + 4)?;
            Some(u32::from_be_bytes(bytes.try_into().ok()?) as usize)
        };
        for (hash, location) in wanted {
            let i = location.index as usize;
            let start = offset(i);
            let end = offset(i + 1).or(start.map(|_| block.len()));
            let bytes = match (start, end) {
                (Some(start), Some(end)) => block.get(start..end),
                _ => None,
            }
            .ok_or_else(|| self.corrupt(format!("block {height}: no span for transaction {i}")))?;
            let tx = SignedTransaction::from_canonical_bytes(bytes).map_err(|e| self.corrupt(e))?;
            if tx.hash() != *hash {
                return Err(self.corrupt(format!("block {height}: transaction {i} is not {hash}")));
            }
            out.push((tx, *location));
        }
        Ok(out)
    }

    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(CF_CERTIFICATES), height_key(height))
            .map_err(|e| self.db_error(e))
    }

    fn pick(
        &self,
        block: &Block,
        hash: Hash,
        location: TxLocation,
    ) -> Result<SignedTransaction, StoreError> {
        let tx = block
            .txs
            .get(location.index as usize)
            .cloned()
            .ok_or_else(|| self.corrupt("transaction index points past the block"))?;
        if tx.hash() != hash {
            let height = location.height;
            return Err(self.corrupt(format!(
                "block {height}: transaction {} is not {hash}",
                location.index
            )));
        }
        Ok(tx)
    }

    pub(super) fn db(&self) -> &DB {
        &self.db
    }

    pub(super) fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created when the store opens")
    }

    pub(super) fn db_error(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.path.as_ref().clone(),
            source,
        }
    }

    pub(super) fn corrupt(&self, what: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.as_ref().clone(),
            what: what.to_string(),
        }
    }
}
