//! Reads of the committed chain (blocks, certificates, the transaction index, the
//! tip as written) that need no lock on the [`super::Store`].
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

    /// A committed transaction and where it is.
    pub fn transaction(
        &self,
        hash: &Hash,
    ) -> Result<Option<(SignedTransaction, TxLocation)>, StoreError> {
        let Some(location) = self.tx_location(hash)? else {
            return Ok(None);
        };
        let block = self.indexed_block(location.height)?;
        let tx = self.pick(&block, location)?;
        Ok(Some((tx, location)))
    }

    /// The committed transactions among `hashes`, decoding each block they are in
    /// once and at most `max_blocks` blocks (the lowest heights first): a block
    /// holds thousands of transactions, and decoding one costs a key decompression
    /// per transaction, so a request for many hashes must not decode a block per
    /// hash. Hashes that are not committed are left out.
    pub fn transactions(&self, hashes: &[Hash], max_blocks: usize) -> Result<FoundTxs, StoreError> {
        let mut by_height: BTreeMap<u64, Vec<TxLocation>> = BTreeMap::new();
        for hash in hashes {
            if let Some(location) = self.tx_location(hash)? {
                by_height.entry(location.height).or_default().push(location);
            }
        }
        let mut found = FoundTxs {
            highest: by_height.keys().next_back().copied(),
            ..FoundTxs::default()
        };
        for (k, (height, locations)) in by_height.into_iter().enumerate() {
            if k >= max_blocks {
                found.over_budget += locations.len();
                continue;
            }
            let block = self.indexed_block(height)?;
            for location in locations {
                found.txs.push((self.pick(&block, location)?, location));
            }
        }
        Ok(found)
    }

    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(CF_CERTIFICATES), height_key(height))
            .map_err(|e| self.db_error(e))
    }

    /// A block the transaction index names must be in the store.
    fn indexed_block(&self, height: u64) -> Result<Block, StoreError> {
        self.block(height)?
            .ok_or_else(|| self.corrupt(format!("indexed block {height} is missing")))
    }

    fn pick(&self, block: &Block, location: TxLocation) -> Result<SignedTransaction, StoreError> {
        block
            .txs
            .get(location.index as usize)
            .cloned()
            .ok_or_else(|| self.corrupt("transaction index points past the block"))
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created when the store opens")
    }

    fn db_error(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.path.as_ref().clone(),
            source,
        }
    }

    fn corrupt(&self, what: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.as_ref().clone(),
            what: what.to_string(),
        }
    }
}
