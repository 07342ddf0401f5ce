//! Admission of transactions to the pool, from clients and from peers (DESIGN.md
//! section 8): decode and size happened at the edge; here the signatures are
//! checked in a batch on a blocking thread, then governance (admin key, committed
//! set), chain id, duplicate, nonce and balance under the pool's lock.

use crate::mempool::{self, AdmitError, Source};
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

impl Origin {
    /// Which share of the pool it may fill ([`Source`]).
    pub fn source(self) -> Source {
        match self {
            Origin::Client => Source::Client,
            Origin::Peer(_) => Source::Peer,
        }
    }
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
    // Both stages on the blocking pool: the signatures are CPU work, and the pool
    // and store locks may wait behind a commit; neither may hold an async thread.
    let admitting = Arc::clone(shared);
    let (results, admitted) = match tokio::task::spawn_blocking(move || {
        // A full pool refuses at once: checking signatures it would refuse anyway
        // is the work that sinks a node under more load than it can carry.
        let source = origin.source();
        let full = admitting.mempool.lock().expect("mempool lock").full(source);
        if let Some(full) = full {
            let refused = txs.iter().map(|_| Err(full.clone())).collect();
            return (refused, Vec::new());
        }
        // Validators send what waits long in their pools again (edge::reforward):
        // one this pool already holds is a duplicate, known without its signature.
        let (txs, known) = match origin {
            Origin::Client => (txs, Vec::new()),
            Origin::Peer(_) => split_known(&admitting, txs),
        };
        let checked = mempool::check(txs, admitting.genesis.chain_id.as_str());
        let (mut results, admitted) = insert_checked(&admitting, source, checked);
        for at in known {
            results.insert(at, Err(AdmitError::Duplicate));
        }
        (results, admitted)
    })
    .await
    {
        Ok(done) => done,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    };
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

/// Takes out of `txs` those the pool holds; returns the rest and the positions
/// (ascending) the taken ones had.
fn split_known(
    shared: &Shared,
    txs: Vec<SignedTransaction>,
) -> (Vec<SignedTransaction>, Vec<usize>) {
    let pool = shared.mempool.lock().expect("mempool lock");
    let mut fresh = Vec::with_capacity(txs.len());
    let mut known = Vec::new();
    for (at, tx) in txs.into_iter().enumerate() {
        if pool.contains(&tx.hash()) {
            known.push(at);
        } else {
            fresh.push(tx);
        }
    }
    (fresh, known)
}

/// Stage 2 for every checked transaction, under the store's and the pool's locks
/// (store before pool). Returns a result per transaction and the admitted ones.
fn insert_checked(
    shared: &Shared,
    source: Source,
    checked: Vec<Result<ledger::VerifiedTx, AdmitError>>,
) -> (Vec<Result<Hash, AdmitError>>, Vec<SignedTransaction>) {
    let now_ms = Shared::now_ms();
    let mut results = Vec::with_capacity(checked.len());
    let mut admitted = Vec::new();
    let store = shared.store.read().expect("store lock");
    let mut pool = shared.mempool.lock().expect("mempool lock");
    for result in checked {
        let result = result.and_then(|tx| {
            mempool::check_governance(&tx, &shared.genesis.admin, store.validators())?;
            let account = store.account(&tx.tx().sender()).unwrap_or_default();
            let signed = tx.signed().clone();
            let hash = pool.insert_from(source, tx, account, now_ms)?;
            admitted.push(signed);
            Ok(hash)
        });
        results.push(result);
    }
    shared.metrics.observe_pool(&pool);
    (results, admitted)
}
