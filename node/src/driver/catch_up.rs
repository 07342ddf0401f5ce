//! Getting what this node lacks from its peers: the bodies of a batch it must
//! execute, and, when it has fallen behind the others' stable checkpoint, the
//! committed blocks up to it (a stand-in for the recovery protocol of DESIGN.md
//! section 5.2, which a later issue builds; the block transfer itself is
//! [`super::transfer`]). Also answers peers' fetches.
//!
//! Everything fetched is checked before use: bodies by their signatures and hashes;
//! blocks by their commit certificate, the hash chain and re-execution; the
//! checkpoint by its proof.

use super::transfer::{self, ask, CatchUpEvent};
use super::{Driver, DriverError, DriverEvent};
use crate::net::NetHandle;
use crate::shared::Shared;
use crate::wire::{FetchRequest, FetchResponse, FETCH_BLOCKS_BUDGET_BYTES};
use consensus::{ExecuteRequest, Message, PersistedState, ReplicaId, StableCheckpoint};
use crypto::{BoundedVec, Canonical, Hash};
use ledger::VerifiedTx;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long a node that f + 1 peers say is behind waits for normal progress before
/// it transfers blocks.
const STALL_BEFORE_CATCH_UP: Duration = Duration::from_millis(1000);

/// Notices that this node is behind.
#[derive(Default)]
pub struct Tracker {
    /// The highest CHECKPOINT height heard from each validator (bounded by N, so a
    /// Byzantine validator cannot crowd out the others' heights).
    highest: BTreeMap<u32, u64>,
    progress: (u64, Option<Instant>),
    running: Option<u64>,
    /// The ledger is ahead of what the replica can restart from (a transfer
    /// stopped between checkpoints): the replica stays paused until a transfer
    /// reaches a checkpoint.
    stranded: bool,
    generation: u64,
    /// After a failed transfer, the next one waits until then (doubling).
    retry_at: Option<Instant>,
    failures: u32,
}

/// The longest wait between failed transfers.
const MAX_RETRY: Duration = Duration::from_secs(30);

impl Tracker {
    pub fn heard_checkpoint(&mut self, sender: u32, seq: u64, height: u64) {
        if seq <= height {
            return;
        }
        let highest = self.highest.entry(sender).or_insert(0);
        *highest = (*highest).max(seq);
    }

    /// The highest height above `height` that `f + 1` peers checkpointed (at or
    /// above it), once the node has made no progress for a while.
    fn behind(&mut self, height: u64, f: usize) -> Option<u64> {
        let now = Instant::now();
        if self.progress.0 != height || self.progress.1.is_none() {
            self.progress = (height, Some(now));
        }
        let stalled = self
            .progress
            .1
            .is_some_and(|since| now.duration_since(since) >= STALL_BEFORE_CATCH_UP);
        if !stalled || self.retry_at.is_some_and(|at| now < at) {
            return None;
        }
        let mut above: Vec<u64> = self
            .highest
            .values()
            .copied()
            .filter(|s| *s > height)
            .collect();
        above.sort_unstable_by(|a, b| b.cmp(a));
        above.get(f).copied()
    }

    /// Whether the replica is paused: a transfer runs, or one left the ledger
    /// where the replica cannot restart.
    pub fn is_running(&self) -> bool {
        self.running.is_some() || self.stranded
    }

    pub fn strand(&mut self) {
        self.stranded = true;
    }

    fn failed(&mut self) {
        self.running = None;
        self.failures = self.failures.saturating_add(1);
        let wait = STALL_BEFORE_CATCH_UP
            .saturating_mul(1 << self.failures.min(5))
            .min(MAX_RETRY);
        self.retry_at = Some(Instant::now() + wait);
    }

    fn succeeded(&mut self) {
        self.running = None;
        self.stranded = false;
        self.failures = 0;
        self.retry_at = None;
    }
}

impl Driver {
    /// Starts a block transfer if this node is behind and none runs.
    pub(super) fn maybe_catch_up(&mut self) {
        if self.catch_up.running.is_some() {
            return;
        }
        let height = self.shared.store.read().expect("store lock").tip().height;
        let f = consensus::max_faulty(self.config.n());
        let Some(target) = self.catch_up.behind(height, f) else {
            return;
        };
        self.catch_up.generation += 1;
        let generation = self.catch_up.generation;
        self.catch_up.running = Some(generation);
        tracing::info!(
            height,
            target,
            "behind the others' checkpoint: transferring blocks"
        );
        let peers: Vec<ReplicaId> = (0..self.config.n() as u32)
            .map(ReplicaId)
            .filter(|p| *p != self.shared.me)
            .collect();
        let (net, events, checker) = (self.net.clone(), self.events_tx.clone(), self.checker());
        tokio::spawn(async move {
            match transfer::find_target(&net, &checker, &peers, height).await {
                Some((target, peers)) => {
                    transfer::transfer(net, events, checker, peers, height, target, generation)
                        .await
                }
                None => {
                    let reason = format!("no peer has a proven stable checkpoint above {height}");
                    let event = CatchUpEvent::Failed { generation, reason };
                    let _ = events.send(DriverEvent::CatchUp(event)).await;
                }
            }
        });
    }

    pub(super) fn on_catch_up(&mut self, event: CatchUpEvent) -> Result<(), DriverError> {
        let current = self.catch_up.running;
        match event {
            CatchUpEvent::Blocks {
                generation,
                chunk,
                applied,
            } if current == Some(generation) => {
                let outcome = self.apply_chunk(chunk)?;
                if let Err(refusal) = &outcome {
                    tracing::warn!(%refusal, "block transfer: a chunk was refused");
                }
                // The task may have given up on this chunk already.
                let _ = applied.send(outcome);
                Ok(())
            }
            CatchUpEvent::Blocks { applied, .. } => {
                let _ = applied.send(Err(transfer::Refusal::Stale));
                Ok(())
            }
            CatchUpEvent::Reached { generation, stable } if current == Some(generation) => {
                self.catch_up.succeeded();
                self.restart_at_checkpoint(stable)
            }
            CatchUpEvent::Failed { generation, reason } if current == Some(generation) => {
                tracing::warn!(%reason, "block transfer failed; will retry");
                self.catch_up.failed();
                self.resume_replica()
            }
            _ => Ok(()),
        }
    }

    /// Restarts the replica at a stable checkpoint the ledger reached, keeping what
    /// it signed above it (so it can never sign something else there). The new
    /// replica is built before the log is replaced, so a checkpoint it refuses
    /// leaves the disk as it was.
    fn restart_at_checkpoint(&mut self, stable: StableCheckpoint) -> Result<(), DriverError> {
        let tip = self.shared.store.read().expect("store lock").tip();
        if tip.height != stable.seq.0
            || tip.hash != stable.block_hash
            || !self.checker().holds(&stable)
        {
            tracing::warn!(
                tip = tip.height,
                checkpoint = stable.seq.0,
                "transfer ended off a proven checkpoint"
            );
            self.catch_up.failed();
            return self.resume_replica();
        }
        {
            let store = self.shared.store.read().expect("store lock");
            self.log.flush(&store)?;
        }
        let mut state: PersistedState = self.log.state().clone();
        let seq = stable.seq;
        state.log.retain(|signed| {
            Message::from_canonical_bytes(&signed.payload)
                .map(|m| m.seq() > seq)
                .unwrap_or(false)
        });
        state.stable_checkpoint = Some(stable.clone());
        let replica = match consensus::Replica::new(
            self.config.clone(),
            self.key.clone(),
            Some(state.clone()),
        ) {
            Ok(replica) => replica,
            Err(e) => {
                tracing::warn!(error = %e, "the transferred checkpoint does not restore");
                self.catch_up.failed();
                return self.resume_replica();
            }
        };
        {
            let store = self.shared.store.read().expect("store lock");
            self.log.replace(&store, state)?;
        }
        self.replica = replica;
        self.executor.reset();
        self.executions.clear();
        self.fetching = None;
        *self.shared.stable_checkpoint.write().expect("lock") = Some(stable);
        tracing::info!(height = seq.0, "caught up to the checkpoint");
        self.publish();
        Ok(())
    }

    /// After a transfer that did not reach its checkpoint: if blocks were copied,
    /// the replica restarts from the log (which recorded them); it goes on where
    /// it was otherwise.
    fn resume_replica(&mut self) -> Result<(), DriverError> {
        let store_tip = self.shared.store.read().expect("store lock").tip().height;
        if store_tip == self.replica.last_committed().0 {
            return Ok(());
        }
        {
            let store = self.shared.store.read().expect("store lock");
            self.log.flush(&store)?;
        }
        match consensus::Replica::new(
            self.config.clone(),
            self.key.clone(),
            Some(self.log.state().clone()),
        ) {
            Ok(replica) => {
                self.replica = replica;
                self.executor.reset();
                self.publish();
            }
            Err(e) => {
                // Past the window of what it persisted: only a checkpoint can
                // bring it back. It stays paused and transfers again.
                tracing::warn!(error = %e, "the replica waits for a transfer to reach a checkpoint");
                self.catch_up.strand();
            }
        }
        Ok(())
    }
}

/// Fetches the bodies of `missing` (transactions of `request`'s batch), from the
/// batch's proposer first, then the others; verifies them and hands the driver
/// those that were asked for. Whatever is still missing makes the batch
/// unexecutable when the driver executes it.
pub fn fetch_bodies(
    net: NetHandle,
    shared: Arc<Shared>,
    events: mpsc::Sender<DriverEvent>,
    request: ExecuteRequest,
    missing: Vec<Hash>,
) {
    tokio::spawn(async move {
        let n = shared.genesis.validators.len() as u32;
        let proposer = request.batch.proposer;
        let mut peers = vec![proposer];
        peers.extend(
            (0..n)
                .map(ReplicaId)
                .filter(|p| *p != proposer && *p != shared.me),
        );
        let mut wanted: HashSet<Hash> = missing.iter().copied().collect();
        let mut found = Vec::new();
        for peer in peers {
            if wanted.is_empty() {
                break;
            }
            if peer == shared.me {
                continue;
            }
            let hashes: Vec<Hash> = wanted.iter().copied().collect();
            let Ok(hashes) = BoundedVec::new(hashes) else {
                break;
            };
            let Some(FetchResponse::Txs(txs)) = ask(&net, peer, FetchRequest::Txs(hashes)).await
            else {
                continue;
            };
            let chain_id = shared.genesis.chain_id.to_string();
            let txs: Vec<_> = txs
                .iter()
                .filter(|t| t.tx.chain_id.as_str() == chain_id)
                .cloned()
                .collect();
            let verified = tokio::task::spawn_blocking(move || VerifiedTx::verify_many(txs))
                .await
                .unwrap_or_default();
            for tx in verified.into_iter().flatten() {
                if wanted.remove(&tx.hash()) {
                    found.push(tx);
                }
            }
        }
        if !wanted.is_empty() {
            tracing::warn!(
                seq = request.seq.0,
                missing = wanted.len(),
                "bodies of a batch found nowhere"
            );
        }
        let _ = events
            .send(DriverEvent::Fetched {
                seq: request.seq,
                digest: request.digest,
                txs: found,
            })
            .await;
    });
}

/// Serves a peer's fetch from the pool and the store.
pub fn serve(shared: &Shared, request: FetchRequest) -> FetchResponse {
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
            // Committed ones from the store, without holding the pool.
            let store = shared.store.read().expect("store lock");
            for hash in misses {
                if let Ok(Some((tx, _))) = store.transaction(&hash) {
                    txs.push(tx);
                }
            }
            FetchResponse::Txs(BoundedVec::new(txs).expect("at most as many as asked"))
        }
        FetchRequest::Blocks { from, count } => {
            let store = shared.store.read().expect("store lock");
            let blocks = transfer::blocks_to_serve(&store, from, count, FETCH_BLOCKS_BUDGET_BYTES);
            FetchResponse::Blocks(BoundedVec::new(blocks).expect("at most MAX_FETCH_BLOCKS"))
        }
        FetchRequest::StableCheckpoint => {
            FetchResponse::StableCheckpoint(shared.stable_checkpoint.read().expect("lock").clone())
        }
    }
}
