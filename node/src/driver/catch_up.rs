//! Getting what this node lacks from its peers: the bodies of a batch it must
//! execute, and, when the replica's recovery (DESIGN.md section 5.2) asks for it,
//! the committed blocks up to a proven checkpoint (the transfer itself is
//! [`super::transfer`]).
//!
//! Everything fetched is checked before use: bodies by their signatures and hashes;
//! blocks by their commit certificate, the hash chain and re-execution; the
//! checkpoint by its proof. Answering peers' fetches is [`crate::serve`].

use super::transfer::{self, ask, CatchUpEvent};
use super::{Driver, DriverError, DriverEvent};
use crate::net::NetHandle;
use crate::shared::Shared;
use crate::wire::{FetchRequest, FetchResponse};
use consensus::ExecuteRequest;
use consensus::{Input, RecoveryEvent, SeqNo, TransferRequest};
use crypto::{BoundedVec, Hash};
use ledger::VerifiedTx;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The state transfer the replica asked for, while it runs.
#[derive(Debug, Default)]
pub(super) struct TransferState {
    /// The generation of the transfer in progress, if any: events of an older
    /// one are stale.
    pub running: Option<u64>,
    pub generation: u64,
    /// The ledger's tip when the running transfer started (its governance changes
    /// above it go to the replica with `Input::Transferred`).
    pub from: u64,
}

impl Driver {
    /// The replica asked for a state transfer (DESIGN.md section 5.2 step 3): copy
    /// the blocks from the ledger's tip up to its checkpoint from the peers it
    /// names. The replica orders nothing meanwhile.
    pub(super) fn start_transfer(&mut self, request: TransferRequest) {
        self.transfer.generation += 1;
        let generation = self.transfer.generation;
        self.transfer.running = Some(generation);
        // The replica orders nothing while it transfers and redoes its executions
        // afterwards; an execution still queued (waiting for bodies) would run on
        // a ledger the transfer has moved.
        self.executions.clear();
        let height = self.shared.store.read().expect("store lock").tip().height;
        self.transfer.from = height;
        let target = request.target.seq.0;
        self.shared
            .metrics
            .recovery_target_height
            .set(target as i64);
        tracing::info!(
            height,
            target,
            peers = ?request.peers.iter().map(|p| p.0).collect::<Vec<_>>(),
            "recovery: transferring blocks"
        );
        tokio::spawn(transfer::transfer(
            self.net.clone(),
            self.events_tx.clone(),
            self.checker(),
            request.peers,
            height,
            request.target,
            generation,
        ));
    }

    pub(super) fn on_catch_up(&mut self, event: CatchUpEvent) -> Result<(), DriverError> {
        let current = self.transfer.running;
        match event {
            CatchUpEvent::Blocks {
                generation,
                chunk,
                applied,
            } if current == Some(generation) => {
                let count = chunk.blocks.len() as u64;
                let outcome = self.apply_chunk(chunk)?;
                match &outcome {
                    Ok(_) => {
                        self.shared.metrics.transferred_blocks.inc_by(count);
                        let tip = self.shared.store.read().expect("store lock").tip();
                        self.shared.metrics.height.set(tip.height as i64);
                        self.follow_membership()?;
                    }
                    Err(refusal) => tracing::warn!(%refusal, "block transfer: a chunk was refused"),
                }
                // The task may have given up on this chunk already.
                let _ = applied.send(outcome);
                Ok(())
            }
            CatchUpEvent::Blocks { applied, .. } => {
                let _ = applied.send(Err(transfer::Refusal::Stale));
                Ok(())
            }
            CatchUpEvent::Reached { generation, .. } if current == Some(generation) => {
                self.finish_transfer()
            }
            CatchUpEvent::Failed { generation, reason } if current == Some(generation) => {
                tracing::warn!(%reason, "block transfer stopped short; recovery asks again");
                self.finish_transfer()
            }
            _ => Ok(()),
        }
    }

    /// Tells the replica where the ledger got to: at the checkpoint it resumes
    /// there; short of it, it asks the others again. What was executed on the
    /// old tip is gone.
    fn finish_transfer(&mut self) -> Result<(), DriverError> {
        self.transfer.running = None;
        self.shared.metrics.recovery_target_height.set(0);
        let (tip, timestamp_ms) = {
            let store = self.shared.store.read().expect("store lock");
            let tip = store.tip();
            let timestamp_ms = store
                .block(tip.height)
                .ok()
                .flatten()
                .map_or(0, |block| block.header.timestamp_ms);
            (tip, timestamp_ms)
        };
        {
            let mut pool = self.shared.mempool.lock().expect("mempool lock");
            self.executor.reset(&mut pool);
        }
        self.executions.clear();
        tracing::info!(height = tip.height, "block transfer ended");
        let changes = self.changes_above(self.transfer.from);
        self.step(Input::Transferred {
            seq: SeqNo(tip.height),
            block_hash: tip.hash,
            timestamp_ms,
            changes,
        })
    }

    /// Logs what recovery did and counts it.
    pub(super) fn on_recovery_events(&mut self, events: &[RecoveryEvent]) {
        for event in events {
            match event {
                RecoveryEvent::Started { reason, round } => {
                    self.shared
                        .metrics
                        .recoveries
                        .get_or_create(&crate::metrics::ReasonLabel {
                            reason: reason.name(),
                        })
                        .inc();
                    tracing::info!(reason = reason.name(), round, "recovery started");
                }
                RecoveryEvent::Finished { view, committed } => {
                    tracing::info!(view = view.0, height = committed.0, "recovery finished");
                }
                other => tracing::info!(event = ?other, "recovery"),
            }
        }
    }
}

/// Waits between the rounds of asking every peer for missing bodies.
const FETCH_BACKOFF_MS: [u64; 3] = [250, 500, 1_000];

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
        let proposer = request.batch.proposer;
        let me = shared.me();
        let mut peers = vec![proposer];
        peers.extend(
            shared
                .membership()
                .at(request.seq)
                .members
                .iter()
                .copied()
                .filter(|p| *p != proposer && Some(*p) != me),
        );
        let mut wanted: HashSet<Hash> = missing.iter().copied().collect();
        let mut found = Vec::new();
        // A node that just started may ask before any peer is connected: missing
        // bodies are no proof the primary misbehaved, so it asks again a few times
        // before the batch counts as unexecutable.
        let mut attempts = Vec::new();
        for round in 0..=FETCH_BACKOFF_MS.len() {
            let wait = round.checked_sub(1).map(|r| FETCH_BACKOFF_MS[r]);
            for (k, peer) in peers.iter().enumerate() {
                attempts.push((*peer, if k == 0 { wait } else { None }));
            }
        }
        for (peer, wait) in attempts {
            if wanted.is_empty() {
                break;
            }
            if let Some(ms) = wait {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if Some(peer) == me {
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
