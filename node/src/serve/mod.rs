//! Answering peers' fetches (DESIGN.md section 8): bodies of transactions, committed
//! blocks with their certificates, the stable checkpoint.
//!
//! Answering must never slow this node's own consensus, however many peers ask and
//! however much they ask for:
//!
//! - answers run on the blocking pool and read the chain through a
//!   [`ledger::ChainReader`], never under the store's lock, so a slow answer never
//!   holds what the driver needs to commit;
//! - at most [`ServeLimits::total`] answers run at once, and at most
//!   [`ServeLimits::per_peer`] for one peer; a request past either is answered
//!   [`FetchResponse::Busy`] at once, and the asker tries another peer;
//! - every answer has a work budget: bodies of committed transactions come from at
//!   most [`MAX_SERVED_BLOCKS`] decoded blocks (a block of thousands of
//!   transactions costs a key decompression per transaction to decode), blocks
//!   stop at [`FETCH_BLOCKS_BUDGET_BYTES`].
//!
//! A peer that asks for bodies this node committed long ago is behind; it should
//! transfer blocks (its replica's recovery does), not fetch bodies one batch at a
//! time, so those answers stay small.

use crate::shared::Shared;
use crate::wire::{
    Certificate, CertifiedBlock, FetchRequest, FetchResponse, FETCH_BLOCKS_BUDGET_BYTES,
    MAX_FETCH_BLOCKS,
};
use consensus::ReplicaId;
use crypto::{BoundedVec, Canonical};
use ledger::ChainReader;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Blocks decoded at most to answer one fetch of transaction bodies.
pub const MAX_SERVED_BLOCKS: usize = 2;

/// How many answers may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    pub total: usize,
    pub per_peer: usize,
}

/// Counts the answers running, in total and per peer. See the module docs.
pub struct Server {
    limits: ServeLimits,
    running: Mutex<Running>,
}

#[derive(Default)]
struct Running {
    total: usize,
    per_peer: HashMap<ReplicaId, usize>,
}

/// A running answer's place; dropping it frees the place.
pub struct Slot {
    server: Arc<Server>,
    peer: ReplicaId,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.server.running.lock().expect("serve lock");
        running.total -= 1;
        if let Some(count) = running.per_peer.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                running.per_peer.remove(&self.peer);
            }
        }
    }
}

impl Server {
    pub fn new(limits: ServeLimits) -> Arc<Server> {
        Arc::new(Server {
            limits,
            running: Mutex::new(Running::default()),
        })
    }

    /// A place for one more answer to `peer`, or `None` when the limits are
    /// reached (the request is answered [`FetchResponse::Busy`]).
    pub fn admit(self: &Arc<Self>, peer: ReplicaId) -> Option<Slot> {
        let mut running = self.running.lock().expect("serve lock");
        let mine = running.per_peer.get(&peer).copied().unwrap_or(0);
        if running.total >= self.limits.total || mine >= self.limits.per_peer {
            return None;
        }
        running.total += 1;
        running.per_peer.insert(peer, mine + 1);
        Some(Slot {
            server: self.clone(),
            peer,
        })
    }
}

/// Answers a peer's fetch from the pool and the chain. Blocking: run it on the
/// blocking pool.
pub fn answer(shared: &Shared, request: FetchRequest) -> FetchResponse {
    match request {
        FetchRequest::Txs(hashes) => {
            let mut txs = Vec::new();
            let mut misses = Vec::new();
            {
                let pool = shared.mempool.lock().expect("mempool lock");
                for hash in hashes.iter() {
                    match pool.get(hash) {
                        Some(tx) => txs.push(tx.signed().clone()),
                        None => misses.push(*hash),
                    }
                }
            }
            // Committed ones from the chain, within the budget; without the pool's
            // lock or the store's.
            if let Ok(found) = shared.chain.transactions(&misses, MAX_SERVED_BLOCKS) {
                if found.over_budget > 0 {
                    shared
                        .metrics
                        .served_over_budget
                        .inc_by(found.over_budget as u64);
                }
                txs.extend(found.txs.into_iter().map(|(tx, _)| tx));
            }
            FetchResponse::Txs(BoundedVec::new(txs).expect("at most as many as asked"))
        }
        FetchRequest::Blocks { from, count } => {
            let blocks = blocks_to_serve(&shared.chain, from, count, FETCH_BLOCKS_BUDGET_BYTES);
            FetchResponse::Blocks(BoundedVec::new(blocks).expect("at most MAX_FETCH_BLOCKS"))
        }
        FetchRequest::StableCheckpoint => {
            FetchResponse::StableCheckpoint(shared.stable_checkpoint.read().expect("lock").clone())
        }
    }
}

/// The blocks from `from` that answer a fetch: at most `count` (and
/// [`MAX_FETCH_BLOCKS`]), and no more once `budget_bytes` are reached (so at most
/// that plus one block); fewer where the chain ends.
pub fn blocks_to_serve(
    chain: &ChainReader,
    from: u64,
    count: u32,
    budget_bytes: usize,
) -> Vec<CertifiedBlock> {
    let count = (count as usize).min(MAX_FETCH_BLOCKS);
    let mut blocks = Vec::new();
    let mut bytes = 0;
    for height in from..from.saturating_add(count as u64) {
        if bytes >= budget_bytes {
            break;
        }
        let (Ok(Some(block)), Ok(Some(cert))) = (chain.block(height), chain.certificate(height))
        else {
            break;
        };
        let Ok(certificate) = Certificate::from_canonical_bytes(&cert) else {
            break;
        };
        bytes += cert.len() + block.to_canonical_bytes().len();
        blocks.push(CertifiedBlock { block, certificate });
    }
    blocks
}

#[cfg(test)]
mod tests;
