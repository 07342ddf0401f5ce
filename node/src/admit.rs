//! Admission of transactions to the pool, from clients and from peers (DESIGN.md
//! section 8): decode and size happened at the edge; here the signatures are
//! checked in a batch on a blocking thread, then governance (admin key, committed
//! set), chain id, duplicate, nonce and balance under the pool's lock.

use crate::mempool::{self, AdmitError};
use crate::shared::Shared;
use consensus::ReplicaId;
use crypto::Hash;
use ledger::SignedTransaction;
use std::sync::Arc;

/// Where transactions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client of this node's API: admitted ones are forwarded to every validator.
    Client,
    /// Forwarded by a validator: never forwarded again.
    Peer(ReplicaId),
}

/// Admits `txs`; one result per transaction, in order.
pub async fn submit(
    shared: &Arc<Shared>,
    txs: Vec<SignedTransaction>,
    origin: Origin,
) -> Vec<Result<Hash, AdmitError>> {
    if txs.is_empty() {
        return Vec::new();
    }
    let chain_id = shared.genesis.chain_id.to_string();
    let checked = match tokio::task::spawn_blocking(move || mempool::check(txs, &chain_id)).await {
        Ok(checked) => checked,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    };
    let now_ms = Shared::now_ms();
    let mut results = Vec::with_capacity(checked.len());
    let mut admitted = Vec::new();
    {
        let store = shared.store.read().expect("store lock");
        let mut pool = shared.mempool.lock().expect("mempool lock");
        for result in checked {
            let result = result.and_then(|tx| {
                mempool::check_governance(&tx, &shared.genesis.admin, store.validators())?;
                let account = store.account(&tx.tx().sender()).unwrap_or_default();
                let signed = tx.signed().clone();
                let hash = pool.insert(tx, account, now_ms)?;
                admitted.push(signed);
                Ok(hash)
            });
            results.push(result);
        }
        shared.metrics.pool_size.set(pool.len() as i64);
    }
    let accepted = admitted.len();
    shared.metrics.admitted_txs.inc_by(accepted as u64);
    shared
        .metrics
        .rejected_txs
        .inc_by((results.len() - accepted) as u64);
    if accepted > 0 {
        shared.pool_changed.notify_one();
        if origin == Origin::Client {
            // Backpressure: a client waits while the forwarding queue is full, so
            // nothing admitted here goes unforwarded.
            let _ = shared.forward.send(admitted).await;
        }
    }
    results
}
