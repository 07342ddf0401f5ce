//! The RocksDB ledger store (DESIGN.md section 7).
//!
//! A committed block, its transaction index entries, its account changes, its commit
//! certificate and the new tip are one write batch, written with `sync`, so after a
//! crash at any instant the store reopens to the last complete block.
//!
//! The store also keeps the whole account state in memory (accounts and the state
//! tree), rebuilt from the accounts column family when it opens and checked against
//! the tip's state root; RocksDB is the durable copy. Execution reads the memory
//! copy; nothing in memory changes until the write batch is durable.

mod account_txs;
mod evidence;
mod history;
mod reader;
mod schema;

pub use account_txs::{AccountTx, ChainPosition, MAX_ACCOUNT_TXS_PAGE};
pub use evidence::{EvidenceRefused, MAX_EVIDENCE, MAX_EVIDENCE_BYTES, MAX_EVIDENCE_PAGE};
pub use history::changes_in;
pub use reader::{ChainReader, FoundTxs};
pub use schema::{FORMAT_VERSION, MAX_CERTIFICATE_BYTES};

use crate::account::{Account, Address};
use crate::block::{Block, TxLocation};
use crate::genesis::{Genesis, ValidatorInfo};
use crate::state::{State, StateDelta, ValidatorChange};
use crate::tx::SignedTransaction;
use crypto::{Canonical, Hash};
use history::{history_height, history_key, StoredValidators, META_HISTORY_PREFIX};
use rocksdb::{ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions, DB};
use schema::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A key and its value in a column family.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The last committed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tip {
    pub height: u64,
    pub hash: Hash,
}

impl Canonical for Tip {
    const NAME: &'static str = "tip";
    const MAX_ENCODED_LEN: usize = 10 + 32;
}

/// One entry of the governance history: a block that changed the validator set,
/// and the set after it (ledger order).
pub type HistoryEntry = (u64, Vec<ValidatorInfo>);

/// What went wrong opening or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("RocksDB error at {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rocksdb::Error,
    },
    #[error("{path} holds the ledger of genesis {stored}, not of this genesis {given}; refusing to open it")]
    GenesisMismatch {
        path: PathBuf,
        stored: Hash,
        given: Hash,
    },
    #[error("{path} was written by a newer rbft (store format {found}; this build reads up to {supported}); refusing to open it")]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path} is not an rbft ledger store (no {cf} column family)")]
    NotAStore { path: PathBuf, cf: &'static str },
    #[error("the store at {path} is corrupt: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("block {got} does not follow the tip {tip}")]
    NotNext { tip: u64, got: u64 },
    #[error("block {height} names parent {got}, but the tip is {expected}")]
    WrongParent {
        height: u64,
        expected: Hash,
        got: Hash,
    },
    #[error("block {height}: the transactions do not match the header's count and root")]
    BodyMismatch { height: u64 },
    #[error("block {height}: the state delta was computed on state {delta_parent}, but the store is at {current}")]
    DeltaOnOtherState {
        height: u64,
        delta_parent: Hash,
        current: Hash,
    },
    #[error(
        "block {height}: header state root {header} differs from the executed root {executed}"
    )]
    StateRootMismatch {
        height: u64,
        header: Hash,
        executed: Hash,
    },
    #[error("commit certificate of {len} bytes is larger than the {max} allowed")]
    CertificateTooLarge { len: usize, max: usize },
    #[error("blocks up to {height}: the state delta's validator changes differ from the governance transactions in the blocks")]
    ValidatorChangesMismatch { height: u64 },
}

/// The ledger store. See the module documentation.
pub struct Store {
    db: Arc<DB>,
    reader: ChainReader,
    path: PathBuf,
    genesis_hash: Hash,
    tip: Tip,
    genesis_validators: Vec<ValidatorInfo>,
    validators: Vec<ValidatorInfo>,
    history: Vec<HistoryEntry>,
    state: State,
}

impl Store {
    /// Opens the store at `path` for `genesis`, creating it (with block 0) if it
    /// does not exist. A store made for another genesis, or by a newer format,
    /// is refused before anything in it is written.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<Store, StoreError> {
        let genesis_hash = genesis.hash();
        let existing = path.join("CURRENT").exists();
        let stored_version = if existing {
            check_identity(path, genesis_hash)?
        } else {
            None
        };
        let db = Arc::new(open_db(path)?);
        let mut store = Store {
            reader: ChainReader::new(db.clone(), path),
            db,
            path: path.to_owned(),
            genesis_hash,
            tip: Tip {
                height: 0,
                hash: Hash::ZERO,
            },
            genesis_validators: genesis.validators.to_vec(),
            validators: Vec::new(),
            history: Vec::new(),
            state: State::default(),
        };
        match store.meta(META_TIP)? {
            None => store.initialise(genesis)?,
            Some(bytes) => store.load(&bytes)?,
        }
        if stored_version.is_some_and(|version| version < FORMAT_VERSION) {
            store.upgrade()?;
        }
        Ok(store)
    }

    fn initialise(&mut self, genesis: &Genesis) -> Result<(), StoreError> {
        let state = genesis.initial_state();
        let block = genesis.block(&state);
        let tip = Tip {
            height: 0,
            hash: block.hash(),
        };
        let mut batch = WriteBatch::default();
        let blocks = self.cf(CF_BLOCKS);
        batch.put_cf(blocks, height_key(0), block.to_canonical_bytes());
        batch.put_cf(self.cf(CF_BLOCK_HASHES), tip.hash.0, height_key(0));
        let accounts = self.cf(CF_ACCOUNTS);
        for (address, account) in state.accounts() {
            batch.put_cf(accounts, address.0, account.to_canonical_bytes());
        }
        let meta = self.cf(CF_META);
        batch.put_cf(meta, META_FORMAT_VERSION, FORMAT_VERSION.to_be_bytes());
        batch.put_cf(meta, META_GENESIS_HASH, self.genesis_hash.0);
        batch.put_cf(meta, META_TIP, tip.to_canonical_bytes());
        let validators = StoredValidators::of(&genesis.validators);
        batch.put_cf(meta, META_VALIDATORS, validators.to_canonical_bytes());
        self.write(batch)?;
        self.tip = tip;
        self.validators = genesis.validators.to_vec();
        self.state = state;
        Ok(())
    }

    /// Brings a store of an older format to this one: builds what the older
    /// format lacks, then records the version (a crash in between repeats it).
    fn upgrade(&mut self) -> Result<(), StoreError> {
        self.backfill_account_txs()?;
        let mut batch = WriteBatch::default();
        batch.put_cf(
            self.cf(CF_META),
            META_FORMAT_VERSION,
            FORMAT_VERSION.to_be_bytes(),
        );
        self.write(batch)
    }

    fn load(&mut self, tip_bytes: &[u8]) -> Result<(), StoreError> {
        self.tip = Tip::from_canonical_bytes(tip_bytes).map_err(|e| self.corrupt(e))?;
        let validators = self
            .meta(META_VALIDATORS)?
            .ok_or_else(|| self.corrupt("no validator set"))?;
        self.validators = StoredValidators::from_canonical_bytes(&validators)
            .map_err(|e| self.corrupt(e))?
            .0
            .into_inner();
        self.history = self.load_history()?;
        let expected = self
            .history
            .last()
            .map_or(&self.genesis_validators, |(_, set)| set);
        if *expected != self.validators {
            return Err(self.corrupt(
                "the validator set differs from the last entry of the governance history \
                 (or from genesis when there is none)",
            ));
        }
        let mut accounts = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_ACCOUNTS), IteratorMode::Start)
        {
            let (key, value) = item.map_err(|e| self.db_error(e))?;
            let address = Address(
                key.as_ref()
                    .try_into()
                    .map_err(|_| self.corrupt("account key is not 20 bytes"))?,
            );
            let account = Account::from_canonical_bytes(&value).map_err(|e| self.corrupt(e))?;
            accounts.push((address, account));
        }
        self.state = State::from_accounts(accounts);
        let tip_block = self
            .block(self.tip.height)?
            .ok_or_else(|| self.corrupt(format!("tip block {} is missing", self.tip.height)))?;
        if tip_block.hash() != self.tip.hash {
            return Err(self.corrupt("the tip block's hash differs from the recorded tip"));
        }
        if tip_block.header.state_root != self.state.root() {
            return Err(self.corrupt(format!(
                "the accounts hash to {}, but block {} says {}",
                self.state.root(),
                self.tip.height,
                tip_block.header.state_root
            )));
        }
        Ok(())
    }

    /// Reads the governance history, checking that its heights rise and stay at or
    /// below the tip.
    fn load_history(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        let mode = IteratorMode::From(META_HISTORY_PREFIX, rocksdb::Direction::Forward);
        let mut history: Vec<HistoryEntry> = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_META), mode) {
            let (key, value) = item.map_err(|e| self.db_error(e))?;
            if !key.starts_with(META_HISTORY_PREFIX) {
                break;
            }
            let height = history_height(&key)
                .ok_or_else(|| self.corrupt("a governance history key is malformed"))?;
            if height == 0 || height > self.tip.height {
                return Err(self.corrupt(format!(
                    "governance history entry at height {height}, outside 1..={}",
                    self.tip.height
                )));
            }
            let set = StoredValidators::from_canonical_bytes(&value)
                .map_err(|e| self.corrupt(e))?
                .0
                .into_inner();
            history.push((height, set));
        }
        Ok(history)
    }

    /// Commits the next block, with its certificate and the state delta its
    /// execution produced, as one synced write. On `Err` nothing changed, on disk or
    /// in memory; a caller that cannot write its ledger must stop.
    pub fn commit_block(
        &mut self,
        block: &Block,
        certificate: &[u8],
        delta: StateDelta,
    ) -> Result<(), StoreError> {
        self.commit_blocks(&[(block, certificate)], delta)
    }

    /// Commits consecutive blocks from the next height, each with its certificate,
    /// as one synced write: all of them or, on `Err`, none (on disk and in memory).
    /// `delta` takes the state from the tip to the last block's state root (one
    /// block's delta, or several joined with [`StateDelta::absorb`]); the roots of
    /// the blocks before the last are the caller's to check as it executes them.
    /// Panics on an empty `blocks`.
    pub fn commit_blocks(
        &mut self,
        blocks: &[(&Block, &[u8])],
        delta: StateDelta,
    ) -> Result<(), StoreError> {
        let (last, _) = blocks
            .last()
            .expect("commit_blocks needs at least one block");
        let mut tip = self.tip;
        let mut batch = WriteBatch::default();
        let mut validators = self.validators.clone();
        let mut changes = Vec::new();
        let mut new_history = Vec::new();
        for (block, certificate) in blocks {
            tip = self.put_block(&mut batch, tip, block, certificate)?;
            let block_changes = changes_in(block);
            if !block_changes.is_empty() {
                validators = ValidatorChange::apply_all(&validators, &block_changes);
                new_history.push((tip.height, validators.clone()));
                changes.extend(block_changes);
            }
        }
        if changes != delta.validator_changes {
            return Err(StoreError::ValidatorChangesMismatch {
                height: last.header.height,
            });
        }
        if delta.parent_root != self.state.root() {
            return Err(StoreError::DeltaOnOtherState {
                height: last.header.height,
                delta_parent: delta.parent_root,
                current: self.state.root(),
            });
        }
        if delta.state_root != last.header.state_root {
            return Err(StoreError::StateRootMismatch {
                height: last.header.height,
                header: last.header.state_root,
                executed: delta.state_root,
            });
        }
        let accounts = self.cf(CF_ACCOUNTS);
        for (address, account) in &delta.accounts {
            batch.put_cf(accounts, address.0, account.to_canonical_bytes());
        }
        let meta = self.cf(CF_META);
        batch.put_cf(meta, META_TIP, tip.to_canonical_bytes());
        for (height, set) in &new_history {
            let stored = StoredValidators::of(set);
            batch.put_cf(meta, history_key(*height), stored.to_canonical_bytes());
        }
        if !new_history.is_empty() {
            let stored = StoredValidators::of(&validators);
            batch.put_cf(meta, META_VALIDATORS, stored.to_canonical_bytes());
        }
        self.write(batch)?;

        self.state.apply(delta);
        self.tip = tip;
        self.validators = validators;
        self.history.extend(new_history);
        Ok(())
    }

    /// Checks that `block` follows `tip` and adds it, its transaction index entries
    /// and its certificate to `batch`. Returns the tip it makes.
    fn put_block(
        &self,
        batch: &mut WriteBatch,
        tip: Tip,
        block: &Block,
        certificate: &[u8],
    ) -> Result<Tip, StoreError> {
        let header = &block.header;
        let height = header.height;
        if height != tip.height + 1 {
            return Err(StoreError::NotNext {
                tip: tip.height,
                got: height,
            });
        }
        if header.parent != tip.hash {
            return Err(StoreError::WrongParent {
                height,
                expected: tip.hash,
                got: header.parent,
            });
        }
        // Hashed once: for the body check and for the index entries below.
        let tx_hashes = block.tx_hashes();
        if !block.header_describes(&tx_hashes) {
            return Err(StoreError::BodyMismatch { height });
        }
        if certificate.len() > MAX_CERTIFICATE_BYTES {
            return Err(StoreError::CertificateTooLarge {
                len: certificate.len(),
                max: MAX_CERTIFICATE_BYTES,
            });
        }
        let tip = Tip {
            height,
            hash: block.hash(),
        };
        let encoded = block.to_canonical_bytes();
        let txs = self.cf(CF_TXS);
        batch.put_cf(txs, spans_key(height), tx_spans(block, encoded.len()));
        batch.put_cf(self.cf(CF_BLOCKS), height_key(height), encoded);
        batch.put_cf(self.cf(CF_BLOCK_HASHES), tip.hash.0, height_key(height));
        for (index, tx_hash) in tx_hashes.iter().enumerate() {
            let location = TxLocation {
                height,
                index: index as u32,
            };
            batch.put_cf(txs, tx_hash.0, location.to_canonical_bytes());
        }
        let account_txs = self.cf(CF_ACCOUNT_TXS);
        for (key, value) in account_txs::entries_of(block, &tx_hashes) {
            batch.put_cf(account_txs, key, value);
        }
        batch.put_cf(self.cf(CF_CERTIFICATES), height_key(height), certificate);
        Ok(tip)
    }

    pub fn tip(&self) -> Tip {
        self.tip
    }

    pub fn genesis_hash(&self) -> Hash {
        self.genesis_hash
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The committed state (execution builds its views on this).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The validator set after every committed governance transaction (the
    /// genesis set while there is none).
    pub fn validators(&self) -> &[ValidatorInfo] {
        &self.validators
    }

    /// The validator set of the genesis document (ledger order).
    pub fn genesis_validators(&self) -> &[ValidatorInfo] {
        &self.genesis_validators
    }

    /// The governance history, in height order: for every committed block holding
    /// an AddValidator or RemoveValidator, its height and the set after it.
    pub fn validator_history(&self) -> &[HistoryEntry] {
        &self.history
    }

    pub fn account(&self, address: &Address) -> Option<Account> {
        self.state.account(address)
    }

    /// The account as stored on disk (the crash test compares it with memory).
    pub fn account_on_disk(&self, address: &Address) -> Result<Option<Account>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_ACCOUNTS), address.0)
            .map_err(|e| self.db_error(e))?
            .map(|bytes| Account::from_canonical_bytes(&bytes).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// A handle for reading the committed chain without this store's lock
    /// ([`ChainReader`]).
    pub fn reader(&self) -> ChainReader {
        self.reader.clone()
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.reader.block(height)
    }

    pub fn height_of(&self, hash: &Hash) -> Result<Option<u64>, StoreError> {
        self.reader.height_of(hash)
    }

    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        self.reader.block_by_hash(hash)
    }

    /// Up to `limit` blocks from `from` upwards, in height order.
    pub fn blocks(&self, from: u64, limit: usize) -> Result<Vec<Block>, StoreError> {
        self.reader.blocks(from, limit)
    }

    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.reader.tx_location(hash)
    }

    /// A committed transaction and where it is.
    pub fn transaction(
        &self,
        hash: &Hash,
    ) -> Result<Option<(SignedTransaction, TxLocation)>, StoreError> {
        self.reader.transaction(hash)
    }

    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader.certificate(height)
    }

    /// Reads a key of the consensus log (DESIGN.md section 7: the driver owns its
    /// keys and values).
    pub fn consensus_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(CF_CONSENSUS), key)
            .map_err(|e| self.db_error(e))
    }

    /// Every key and value of the consensus log from `from` on, in key order.
    pub fn consensus_scan(&self, from: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let mode = IteratorMode::From(from, rocksdb::Direction::Forward);
        self.db
            .iterator_cf(self.cf(CF_CONSENSUS), mode)
            .map(|item| {
                item.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(|e| self.db_error(e))
            })
            .collect()
    }

    /// Writes to the consensus log as one synced batch: first deletes the keys in
    /// `[delete_from, delete_to)` if given, then puts `puts`.
    pub fn consensus_write(
        &self,
        delete: Option<(&[u8], &[u8])>,
        puts: &[KeyValue],
    ) -> Result<(), StoreError> {
        let cf = self.cf(CF_CONSENSUS);
        let mut batch = WriteBatch::default();
        if let Some((from, to)) = delete {
            batch.delete_range_cf(cf, from, to);
        }
        for (key, value) in puts {
            batch.put_cf(cf, key, value);
        }
        self.write(batch)
    }

    fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(CF_META), key)
            .map_err(|e| self.db_error(e))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        self.db
            .write_opt(batch, &options)
            .map_err(|e| self.db_error(e))
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.reader.cf(name)
    }

    fn db_error(&self, source: rocksdb::Error) -> StoreError {
        self.reader.db_error(source)
    }

    fn corrupt(&self, what: impl ToString) -> StoreError {
        self.reader.corrupt(what)
    }
}

fn db_options() -> Options {
    let mut options = Options::default();
    options.create_if_missing(true);
    options.create_missing_column_families(true);
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    options.set_keep_log_file_num(4);
    options
}

fn open_db(path: &Path) -> Result<DB, StoreError> {
    let cfs = ALL_CFS
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, db_options()));
    DB::open_cf_descriptors(&db_options(), path, cfs).map_err(|source| StoreError::Db {
        path: path.to_owned(),
        source,
    })
}

/// Reads the format version and genesis hash of an existing store without writing
/// to it, and refuses a store that is not this chain's or is too new. Returns the
/// store's format version.
fn check_identity(path: &Path, genesis_hash: Hash) -> Result<Option<u32>, StoreError> {
    let existing = DB::list_cf(&Options::default(), path).map_err(|source| StoreError::Db {
        path: path.to_owned(),
        source,
    })?;
    if !existing.iter().any(|cf| cf == CF_META) {
        return Err(StoreError::NotAStore {
            path: path.to_owned(),
            cf: CF_META,
        });
    }
    let db = DB::open_cf_for_read_only(&Options::default(), path, [CF_META], false).map_err(
        |source| StoreError::Db {
            path: path.to_owned(),
            source,
        },
    )?;
    let meta = db.cf_handle(CF_META).expect("opened with the meta family");
    let get = |key: &[u8]| {
        db.get_cf(meta, key).map_err(|source| StoreError::Db {
            path: path.to_owned(),
            source,
        })
    };
    let corrupt = |what: &str| StoreError::Corrupt {
        path: path.to_owned(),
        what: what.to_owned(),
    };
    let mut version_found = None;
    if let Some(version) = get(META_FORMAT_VERSION)? {
        let found = u32::from_be_bytes(
            version
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("format version is not 4 bytes"))?,
        );
        if found > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                path: path.to_owned(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        version_found = Some(found);
    }
    if let Some(stored) = get(META_GENESIS_HASH)? {
        let stored = decode_hash(&stored).ok_or_else(|| corrupt("genesis hash is not 32 bytes"))?;
        if stored != genesis_hash {
            return Err(StoreError::GenesisMismatch {
                path: path.to_owned(),
                stored,
                given: genesis_hash,
            });
        }
    }
    Ok(version_found)
}

#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod tests;
