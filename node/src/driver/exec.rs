//! Committed blocks written to the store and announced: the block, its
//! certificate and state in one synced write, then the pool settled
//! ([`crate::host::pool::settle`]), the events published and the metrics counted.
//! The replica's commits are written by [`crate::host::Executor::commit`] and
//! announced by [`announce`]; blocks copied from a peer go through
//! [`write_blocks`].

use crate::events::Event;
use crate::shared::Shared;
use crate::wire::Certificate;
use crypto::{Canonical, Hash};
use ledger::{Block, StateDelta, StoreError};

/// Why committing failed. The node cannot go on without its ledger.
pub type CommitError = crate::host::CommitError<StoreError>;

/// Writes a committed block with its certificate (one synced write), then takes its
/// transactions out of the pool, drops pooled ones it made stale and counts it in
/// the metrics. Both ways a block commits go through here or [`write_blocks`]: the
/// replica's commits and blocks copied from a peer (and the API's tests, so that
/// they see what a commit does, events included).
pub fn write_block(
    shared: &Shared,
    block: &Block,
    certificate: &Certificate,
    delta: StateDelta,
) -> Result<(), StoreError> {
    write_blocks(shared, &[(block, certificate)], delta)
}

/// [`write_block`] for consecutive blocks whose joined delta is `delta`: one synced
/// write for all of them (`Store::commit_blocks`), all or none.
pub(super) fn write_blocks(
    shared: &Shared,
    blocks: &[(&Block, &Certificate)],
    delta: StateDelta,
) -> Result<(), StoreError> {
    let certificates: Vec<Vec<u8>> = blocks
        .iter()
        .map(|(_, certificate)| certificate.to_canonical_bytes())
        .collect();
    let group: Vec<(&Block, &[u8])> = blocks
        .iter()
        .zip(&certificates)
        .map(|((block, _), certificate)| (*block, certificate.as_slice()))
        .collect();
    let dropped = {
        let mut store = shared.store.write().expect("store lock");
        store.commit_blocks(&group, delta)?;
        let mut pool = shared.mempool.lock().expect("mempool lock");
        crate::host::pool::settle(&*store, &mut pool, blocks.iter().map(|(block, _)| *block))
    };
    let announced: Vec<(&Block, u64)> = blocks
        .iter()
        .map(|(block, certificate)| (*block, certificate.view))
        .collect();
    announce(shared, &announced, dropped);
    Ok(())
}

/// Announces blocks written to the store, each with the view of its certificate,
/// and the pooled transactions their commit dropped: events (`GET /events`) and
/// metrics. Called once the write is durable, blocks in order, each followed by
/// its transactions: a client told "committed" finds it at `/txs/{hash}`.
pub fn announce(
    shared: &Shared,
    blocks: &[(&Block, u64)],
    dropped: Vec<(Hash, crate::mempool::AdmitError)>,
) {
    let mut txs = 0;
    for (block, view) in blocks {
        publish_block(shared, block, *view);
        txs += block.txs.len() as u64;
    }
    for (hash, reason) in dropped {
        shared.events.publish(Event::TxDropped {
            hash,
            reason: reason.to_string(),
        });
    }
    let store = shared.store.read().expect("store lock");
    let pool = shared.mempool.lock().expect("mempool lock");
    let metrics = &shared.metrics;
    metrics.observe_pool(&pool);
    metrics.committed_blocks.inc_by(blocks.len() as u64);
    metrics.committed_txs.inc_by(txs);
    metrics.height.set(store.tip().height as i64);
}

/// Publishes a committed block and then each of its transactions (`GET /events`).
fn publish_block(shared: &Shared, block: &Block, view: u64) {
    let height = block.header.height;
    shared.events.publish(Event::Block {
        height,
        hash: block.hash(),
        tx_count: block.txs.len() as u64,
        view,
    });
    for hash in block.tx_hashes() {
        shared.events.publish(Event::TxCommitted { hash, height });
    }
}
