//! The host's side of the pool: what the replica is told it holds, and what a
//! commit takes out of it.

use super::ledger::Ledger;
use crate::mempool::{AdmitError, Mempool};
use crypto::Hash;
use ledger::{Address, Block};
use std::collections::BTreeSet;

/// How many pooled transactions could go into the next proposal, counting up to
/// `cap` (a batch's worth: the replica asks no more than whether a batch is full),
/// and when the oldest of them arrived (`Input::TxsAvailable`). Only those not
/// proposed yet whose nonce follows the committed nonce without a gap count: a
/// transaction waiting for a missing nonce is not pending work, and reporting it
/// would make the primary cut empty batches and the backups suspect it.
pub fn available(ledger: &impl Ledger, pool: &Mempool, cap: usize) -> (usize, u64) {
    pool.includable(|address| ledger.account(address).nonce, cap)
}

/// After `blocks` committed on `ledger`: their transactions leave the pool, and so
/// does every pooled transaction of their senders whose nonce the ledger has now
/// used (it can never commit). The pool's drain rate counts them. Returns what was
/// dropped and why.
pub fn settle<'b>(
    ledger: &impl Ledger,
    pool: &mut Mempool,
    blocks: impl Iterator<Item = &'b Block> + Clone,
) -> Vec<(Hash, AdmitError)> {
    let hashes: Vec<Hash> = blocks.clone().flat_map(Block::tx_hashes).collect();
    let senders: BTreeSet<Address> = blocks
        .clone()
        .flat_map(|block| block.txs.iter().map(|t| t.tx.sender()))
        .collect();
    for block in blocks.clone() {
        pool.note_committed(block.header.timestamp_ms, block.txs.len());
    }
    pool.remove_committed(hashes.iter());
    pool.revalidate(senders.iter(), |address| ledger.account(address))
}
