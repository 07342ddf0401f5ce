//! The transaction pool (DESIGN.md section 8): bounded in count and bytes.
//!
//! Admission has two stages so that the expensive one never holds the pool:
//!
//! 1. [`check`] (stateless, run on a blocking thread): chain id and the signatures
//!    of a whole batch at once (batch verification). Size needs no check here: a
//!    decoded transaction's fields are all bounded, and raw bytes are bounded by the
//!    canonical decoder before they become a transaction.
//! 2. [`Mempool::insert`] (under the pool's lock): duplicate, the nonce against the
//!    sender's account and the pool, the balance, and the limits.
//!
//! Transactions leave in arrival order ([`Mempool::pending`]): the primary batches
//! them in that order, and marks those its proposals hold so that the next
//! proposal, and the count of what is ready, skip them without walking the pool
//! ([`ready`]). When a block commits, its transactions go
//! ([`Mempool::remove_committed`]) and any pooled transaction the new state makes
//! invalid forever (its nonce is used) is dropped with its reason
//! ([`Mempool::revalidate`]); the reasons of the most recent drops are kept for
//! `GET /txs/{hash}`. [`Mempool::summary`] tells what it holds, for `GET /pool`.

use crypto::{Canonical, Hash};
use ledger::{Account, Address, SignedTransaction, TxKind, VerifiedTx};
use std::collections::{BTreeMap, HashMap, VecDeque};

use drain::DrainMeter;

/// Limits of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolConfig {
    pub max_txs: usize,
    pub max_bytes: usize,
    /// How far ahead of the sender's next nonce a transaction may be.
    pub max_nonce_gap: u64,
    /// How many drop reasons are remembered.
    pub max_dropped: usize,
    /// Clients are refused while the pool holds more than this many milliseconds
    /// of commits at the rate blocks have been taking transactions out
    /// ([`drain`]): under more load than the network commits, the excess is
    /// refused at once instead of waiting in the pool for seconds. 0: only the
    /// limits in count and bytes apply.
    pub max_wait_ms: u64,
    /// ...but never below this many transactions, so that a quiet network (a rate
    /// near 0) takes a burst.
    pub min_backlog: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 50_000,
            max_bytes: 32 * 1024 * 1024,
            max_nonce_gap: 64,
            max_dropped: 10_000,
            max_wait_ms: 500,
            min_backlog: 4_096,
        }
    }
}

/// Who hands a transaction to the pool. Clients fill it to
/// [`CLIENT_SHARE_PERCENT`] of its limits; the rest is kept for transactions other
/// validators forward, so that under more load than the network carries, a
/// transaction one validator accepted is not refused by the others (a primary
/// that lacks it could not propose it, nor the sender's later nonces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Client,
    Peer,
}

/// The share of the pool's limits clients may fill (see [`Source`]).
pub const CLIENT_SHARE_PERCENT: usize = 80;

impl MempoolConfig {
    /// The most transactions and bytes `source` may fill the pool to.
    pub fn limits_for(&self, source: Source) -> (usize, usize) {
        match source {
            Source::Peer => (self.max_txs, self.max_bytes),
            Source::Client => (client_share(self.max_txs), client_share(self.max_bytes)),
        }
    }
}

/// A limit less the peers' reserve (rounded down, so a tiny pool keeps none).
fn client_share(limit: usize) -> usize {
    let reserve = limit as u128 * (100 - CLIENT_SHARE_PERCENT) as u128 / 100;
    limit - reserve as usize
}

/// Why a transaction was not admitted, or was dropped later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("bad signature")]
    BadSignature,
    #[error("transaction is for chain {got:?}, this is {expected:?}")]
    WrongChain { expected: String, got: String },
    #[error("transaction is already in the pool")]
    Duplicate,
    #[error("nonce {got} is used: the sender's next nonce is {next}")]
    StaleNonce { next: u64, got: u64 },
    #[error("nonce {got} is too far ahead of the sender's next nonce {next} (at most {max_gap})")]
    NonceTooFarAhead { next: u64, got: u64, max_gap: u64 },
    #[error("another pooled transaction already uses nonce {nonce}")]
    NonceInUse { nonce: u64 },
    #[error("balance {balance} does not cover the amount {amount}")]
    InsufficientBalance { balance: u64, amount: u64 },
    #[error("a transfer must move a positive amount")]
    ZeroAmount,
    #[error("the pool is full ({txs} transactions, {bytes} bytes); retry later")]
    Full { txs: usize, bytes: usize },
    #[error(
        "the pool holds {txs} transactions, more than {max_wait_ms} ms of commits at \
         {drain_per_s} per second; retry later"
    )]
    Busy {
        txs: usize,
        drain_per_s: u64,
        max_wait_ms: u64,
    },
    #[error("no longer executes: {reason}")]
    Unexecutable { reason: String },
    #[error("only the chain's admin key may sign governance transactions")]
    NotAdmin,
    // Keys as hex: a `PublicKey` keeps its decompressed point (192 bytes), which
    // would make every `Result` carrying this error large.
    #[error("{public_key} is already a validator")]
    AlreadyValidator { public_key: String },
    #[error("{public_key} is not a validator")]
    NotValidator { public_key: String },
}

/// Governance transactions (AddValidator, RemoveValidator) checked against the
/// admin key and the committed validator set, so that a client hears at once that
/// one cannot execute instead of seeing it dropped later. Execution checks again
/// (the set may change before it is proposed), along with the set's size limits.
pub fn check_governance(
    tx: &VerifiedTx,
    admin: &crypto::PublicKey,
    validators: &[ledger::ValidatorInfo],
) -> Result<(), AdmitError> {
    let t = tx.tx();
    let is_validator = |key: &crypto::PublicKey| validators.iter().any(|v| v.public_key == *key);
    match &t.kind {
        TxKind::Transfer { .. } => Ok(()),
        _ if t.signer != *admin => Err(AdmitError::NotAdmin),
        TxKind::AddValidator { validator } if is_validator(&validator.public_key) => {
            Err(AdmitError::AlreadyValidator {
                public_key: validator.public_key.to_string(),
            })
        }
        TxKind::RemoveValidator { public_key } if !is_validator(public_key) => {
            Err(AdmitError::NotValidator {
                public_key: public_key.to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// Stage 1: chain id and signatures, for a batch at once. Pure; run it on a
/// blocking thread. The results are in the order of `txs`.
pub fn check(txs: Vec<SignedTransaction>, chain_id: &str) -> Vec<Result<VerifiedTx, AdmitError>> {
    let mut results: Vec<Option<Result<VerifiedTx, AdmitError>>> = Vec::with_capacity(txs.len());
    let mut to_verify = Vec::new();
    let mut slots = Vec::new();
    for tx in txs {
        if tx.tx.chain_id.as_str() != chain_id {
            results.push(Some(Err(AdmitError::WrongChain {
                expected: chain_id.to_owned(),
                got: tx.tx.chain_id.to_string(),
            })));
        } else {
            slots.push(results.len());
            results.push(None);
            to_verify.push(tx);
        }
    }
    for (slot, verified) in slots.into_iter().zip(VerifiedTx::verify_many(to_verify)) {
        results[slot] = Some(verified.map_err(|_| AdmitError::BadSignature));
    }
    results
        .into_iter()
        .map(|r| r.expect("every slot is filled"))
        .collect()
}

struct Entry {
    tx: VerifiedTx,
    sender: Address,
    arrival: u64,
    arrived_ms: u64,
    /// When this node last sent it to the other validators, or when it arrived.
    forwarded_ms: u64,
    bytes: usize,
    /// The height of this node's proposal that holds it, if one does.
    proposed_at: Option<u64>,
}

/// The pool. See the module documentation.
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<Hash, Entry>,
    /// Arrival order.
    order: BTreeMap<u64, Hash>,
    /// Arrival order of those in no proposal of this node ([`ready`]).
    unproposed: BTreeMap<u64, Hash>,
    /// The transactions of this node's proposals, by height.
    proposals: BTreeMap<u64, Vec<Hash>>,
    /// Pooled nonces of each sender.
    by_sender: HashMap<Address, BTreeMap<u64, Hash>>,
    bytes: usize,
    next_arrival: u64,
    dropped: HashMap<Hash, AdmitError>,
    dropped_order: VecDeque<Hash>,
    drain: DrainMeter,
}

impl Mempool {
    pub fn new(config: MempoolConfig) -> Self {
        Mempool {
            config,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            unproposed: BTreeMap::new(),
            proposals: BTreeMap::new(),
            by_sender: HashMap::new(),
            bytes: 0,
            next_arrival: 0,
            dropped: HashMap::new(),
            dropped_order: VecDeque::new(),
            drain: DrainMeter::default(),
        }
    }

    /// Stage 2: admits a checked transaction against the sender's committed
    /// `account` (an unknown sender is an empty account), within the pool's whole
    /// limits (a peer's).
    pub fn insert(
        &mut self,
        tx: VerifiedTx,
        account: Account,
        now_ms: u64,
    ) -> Result<Hash, AdmitError> {
        self.insert_from(Source::Peer, tx, account, now_ms)
    }

    /// [`Mempool::insert`] within the limits of `source`.
    pub fn insert_from(
        &mut self,
        source: Source,
        tx: VerifiedTx,
        account: Account,
        now_ms: u64,
    ) -> Result<Hash, AdmitError> {
        let hash = tx.hash();
        if self.entries.contains_key(&hash) {
            return Err(AdmitError::Duplicate);
        }
        let t = tx.tx();
        let sender = t.sender();
        if t.nonce < account.nonce {
            return Err(AdmitError::StaleNonce {
                next: account.nonce,
                got: t.nonce,
            });
        }
        if t.nonce - account.nonce > self.config.max_nonce_gap {
            return Err(AdmitError::NonceTooFarAhead {
                next: account.nonce,
                got: t.nonce,
                max_gap: self.config.max_nonce_gap,
            });
        }
        if self
            .by_sender
            .get(&sender)
            .is_some_and(|nonces| nonces.contains_key(&t.nonce))
        {
            return Err(AdmitError::NonceInUse { nonce: t.nonce });
        }
        if let TxKind::Transfer { amount, .. } = t.kind {
            if amount == 0 {
                return Err(AdmitError::ZeroAmount);
            }
            if amount > account.balance {
                return Err(AdmitError::InsufficientBalance {
                    balance: account.balance,
                    amount,
                });
            }
        }
        let bytes = tx.signed().to_canonical_bytes().len();
        let (_, max_bytes) = self.config.limits_for(source);
        if let Some(full) = self.full(source) {
            return Err(full);
        }
        if self.bytes + bytes > max_bytes {
            return Err(AdmitError::Full {
                txs: self.entries.len(),
                bytes: self.bytes,
            });
        }
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.order.insert(arrival, hash);
        self.unproposed.insert(arrival, hash);
        self.by_sender
            .entry(sender)
            .or_default()
            .insert(t.nonce, hash);
        self.bytes += bytes;
        self.entries.insert(
            hash,
            Entry {
                tx,
                sender,
                arrival,
                arrived_ms: now_ms,
                forwarded_ms: now_ms,
                bytes,
                proposed_at: None,
            },
        );
        Ok(hash)
    }

    /// [`AdmitError::Full`] when the pool holds as many transactions as `source`
    /// may fill it with (it may still have room in bytes for none);
    /// [`AdmitError::Busy`] when a client would wait longer than `max_wait_ms`
    /// ([`Mempool::client_limit`]); `None` while there is room.
    pub fn full(&self, source: Source) -> Option<AdmitError> {
        let (max_txs, _) = self.config.limits_for(source);
        let txs = self.entries.len();
        if txs >= max_txs {
            return Some(AdmitError::Full {
                txs,
                bytes: self.bytes,
            });
        }
        (source == Source::Client && txs >= self.client_limit()).then_some(AdmitError::Busy {
            txs,
            drain_per_s: self.drain.per_second(),
            max_wait_ms: self.config.max_wait_ms,
        })
    }

    /// How many transactions the pool may hold and still admit a client's: a
    /// `max_wait_ms` worth of commits at the recent rate, at least `min_backlog`,
    /// at most the clients' share of `max_txs`.
    pub fn client_limit(&self) -> usize {
        let (max_txs, _) = self.config.limits_for(Source::Client);
        if self.config.max_wait_ms == 0 {
            return max_txs;
        }
        let waited = self
            .drain
            .per_second()
            .saturating_mul(self.config.max_wait_ms)
            / 1_000;
        let waited = usize::try_from(waited).unwrap_or(usize::MAX);
        waited.max(self.config.min_backlog).min(max_txs)
    }

    /// A block with `txs` transactions committed at block time `timestamp_ms`: the
    /// rate [`Mempool::client_limit`] follows.
    pub fn note_committed(&mut self, timestamp_ms: u64, txs: usize) {
        self.drain.note(timestamp_ms, txs as u64);
    }

    /// Transactions committed per second lately, by block time.
    pub fn drain_per_second(&self) -> u64 {
        self.drain.per_second()
    }

    /// Pooled transactions in arrival order.
    pub fn pending(&self) -> impl Iterator<Item = &VerifiedTx> {
        self.order.values().map(|hash| &self.entries[hash].tx)
    }

    pub fn get(&self, hash: &Hash) -> Option<&VerifiedTx> {
        self.entries.get(hash).map(|e| &e.tx)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// When the oldest pooled transaction arrived.
    pub fn oldest_ms(&self) -> Option<u64> {
        self.order
            .values()
            .next()
            .map(|hash| self.entries[hash].arrived_ms)
    }

    /// Up to `max` pooled transactions that no proposal of this node holds and that
    /// arrived, or were last handed out here, `age_ms` or more before `now_ms`,
    /// oldest first; they count as handed out at `now_ms`. The node sends them to
    /// the other validators again ([`crate::edge::reforward`]): a forward lost to a
    /// partition or a dropped connection would otherwise leave a transaction in a
    /// backup's pool, where no primary ever sees it.
    pub fn take_to_reforward(
        &mut self,
        now_ms: u64,
        age_ms: u64,
        max: usize,
    ) -> Vec<SignedTransaction> {
        let mut out = Vec::new();
        for hash in self.unproposed.values() {
            if out.len() >= max {
                break;
            }
            let entry = self
                .entries
                .get_mut(hash)
                .expect("unproposed entries are pooled");
            if now_ms.saturating_sub(entry.forwarded_ms) >= age_ms {
                entry.forwarded_ms = now_ms;
                out.push(entry.tx.signed().clone());
            }
        }
        out
    }

    /// Whether the pool holds the transaction `hash`.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// Why a transaction that was in the pool was dropped, if it was recently.
    pub fn dropped_reason(&self, hash: &Hash) -> Option<&AdmitError> {
        self.dropped.get(hash)
    }

    /// The next nonce of `sender` from `committed` on that no pooled transaction
    /// of it uses.
    pub fn pending_nonce(&self, sender: &Address, committed: u64) -> u64 {
        let mut next = committed;
        if let Some(nonces) = self.by_sender.get(sender) {
            for nonce in nonces.range(committed..).map(|(n, _)| *n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Drops a pooled transaction that can never execute, recording why. Returns
    /// the recorded reason if it was in the pool.
    pub fn drop_invalid(&mut self, hash: &Hash, reason: String) -> Option<AdmitError> {
        self.remove(hash)?;
        let error = AdmitError::Unexecutable { reason };
        self.record_drop(*hash, error.clone());
        Some(error)
    }

    /// Removes the transactions of a committed block.
    pub fn remove_committed<'a>(&mut self, hashes: impl IntoIterator<Item = &'a Hash>) {
        for hash in hashes {
            self.remove(hash);
        }
    }

    /// Drops every pooled transaction of `senders` whose nonce the committed state
    /// has used (it can never commit), recording why. `account` reads the state.
    /// Returns the dropped transactions and why.
    pub fn revalidate<'a>(
        &mut self,
        senders: impl IntoIterator<Item = &'a Address>,
        account: impl Fn(&Address) -> Account,
    ) -> Vec<(Hash, AdmitError)> {
        let mut dropped = Vec::new();
        for sender in senders {
            let next = account(sender).nonce;
            let stale: Vec<(u64, Hash)> = match self.by_sender.get(sender) {
                Some(nonces) => nonces.range(..next).map(|(n, h)| (*n, *h)).collect(),
                None => continue,
            };
            for (nonce, hash) in stale {
                self.remove(&hash);
                let error = AdmitError::StaleNonce { next, got: nonce };
                self.record_drop(hash, error.clone());
                dropped.push((hash, error));
            }
        }
        dropped
    }

    fn remove(&mut self, hash: &Hash) -> Option<Entry> {
        let entry = self.entries.remove(hash)?;
        self.order.remove(&entry.arrival);
        self.unproposed.remove(&entry.arrival);
        // Its hash stays in `proposals` until that height is released: a stale
        // hash there is skipped.
        self.bytes -= entry.bytes;
        if let Some(nonces) = self.by_sender.get_mut(&entry.sender) {
            nonces.remove(&entry.tx.tx().nonce);
            if nonces.is_empty() {
                self.by_sender.remove(&entry.sender);
            }
        }
        Some(entry)
    }

    fn record_drop(&mut self, hash: Hash, reason: AdmitError) {
        if self.dropped.insert(hash, reason).is_none() {
            self.dropped_order.push_back(hash);
        }
        while self.dropped_order.len() > self.config.max_dropped {
            if let Some(old) = self.dropped_order.pop_front() {
                self.dropped.remove(&old);
            }
        }
    }
}

pub mod drain;
mod ready;
mod summary;

pub use summary::PoolSummary;

#[cfg(test)]
mod tests;
