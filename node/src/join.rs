//! A validator added while the network runs (issue 7, DESIGN.md section 6: "X starts
//! with the genesis and the peers' addresses ... and runs recovery as a non-voting
//! node"). Until its own key is on the roster of its ledger (its AddValidator is in
//! a block it holds) it has no replica id and runs no replica: it syncs as an
//! observer. It asks the validators it reaches for their stable checkpoints, takes
//! the highest with a valid proof, and copies the certified blocks up to it with
//! the state transfer of [`crate::driver::transfer`] (each certificate checked against the
//! membership of its height, which the blocks' governance transactions update as
//! they are applied), again and again until its key appears. Then the node starts
//! its replica, whose recovery and the consensus side do the rest.
//!
//! While it syncs, `/status` shows `replica: null`, `catching_up` and the target,
//! and it logs its progress.

use crate::driver::transfer::{self, CatchUpEvent, Checker};
use crate::driver::{DriverError, DriverEvent};
use crate::net::NetHandle;
use crate::shared::Shared;
use crate::status::RecoveryInfo;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Pause between attempts when no peer has a checkpoint above this node's tip.
const RETRY: Duration = Duration::from_millis(500);

/// Syncs until this node's key is on its ledger's roster. Returns `Ok(false)` when
/// told to stop first. Events for the driver that arrive meanwhile (consensus
/// messages a replica would take) are dropped: the replica recovers when it starts.
pub async fn sync_until_on_roster(
    shared: &Arc<Shared>,
    net: &NetHandle,
    events_tx: &mpsc::Sender<DriverEvent>,
    events: &mut mpsc::Receiver<DriverEvent>,
    stop: &mut watch::Receiver<bool>,
) -> Result<bool, DriverError> {
    let mut generation = 0;
    let mut dialled = Vec::new();
    while shared.me().is_none() {
        if *stop.borrow() {
            return Ok(false);
        }
        follow(shared, net, &mut dialled)?;
        let tip = shared.store.read().expect("store lock").tip().height;
        let checker = Checker::of_ledger(shared);
        let peers = net.connected();
        let target = match transfer::find_target(net, &checker, &peers, tip).await {
            Some(target) => target,
            None => {
                tracing::info!(
                    height = tip,
                    peers = peers.len(),
                    "joining: waiting for a validator with a stable checkpoint above this ledger"
                );
                publish(shared, None);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        let (stable, peers) = target;
        tracing::info!(
            height = tip,
            target = stable.seq.0,
            "joining: not on the roster yet; syncing blocks as an observer"
        );
        publish(shared, Some(stable.seq.0));
        generation += 1;
        tokio::spawn(transfer::transfer(
            net.clone(),
            events_tx.clone(),
            checker,
            peers,
            tip,
            stable,
            generation,
        ));
        if !run_transfer(shared, net, events, stop, generation, &mut dialled).await? {
            return Ok(false);
        }
    }
    shared.consensus.write().expect("lock").recovery = None;
    let me = shared.me().map(|me| me.0);
    tracing::info!(replica = ?me, "joining: this node's key is on the roster; starting the replica");
    Ok(true)
}

/// Applies what the transfer `generation` sends until it ends.
async fn run_transfer(
    shared: &Arc<Shared>,
    net: &NetHandle,
    events: &mut mpsc::Receiver<DriverEvent>,
    stop: &mut watch::Receiver<bool>,
    generation: u64,
    dialled: &mut Vec<consensus::ReplicaId>,
) -> Result<bool, DriverError> {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stop.changed() => return Ok(false),
        };
        let Some(event) = event else {
            return Ok(false);
        };
        let DriverEvent::CatchUp(event) = event else {
            continue;
        };
        match event {
            CatchUpEvent::Blocks {
                generation: g,
                chunk,
                applied,
            } if g == generation => {
                let count = chunk.blocks.len() as u64;
                let outcome = transfer::apply_to_ledger(shared, &chunk.blocks)?;
                if outcome.is_ok() {
                    shared.metrics.transferred_blocks.inc_by(count);
                    follow(shared, net, dialled)?;
                }
                let _ = applied.send(outcome);
            }
            CatchUpEvent::Blocks { applied, .. } => {
                let _ = applied.send(Err(transfer::Refusal::Stale));
            }
            CatchUpEvent::Reached { generation: g, .. } if g == generation => return Ok(true),
            CatchUpEvent::Failed {
                generation: g,
                reason,
            } if g == generation => {
                tracing::warn!(%reason, "joining: block transfer stopped short; asking again");
                return Ok(true);
            }
            _ => {}
        }
    }
}

/// Rebuilds the membership from the ledger and gives the network its roster.
fn follow(
    shared: &Shared,
    net: &NetHandle,
    dialled: &mut Vec<consensus::ReplicaId>,
) -> Result<(), DriverError> {
    let changed = shared.refresh_membership()?;
    let membership = shared.membership();
    let store = shared.store.read().expect("store lock");
    let dial = crate::membership::to_dial(&membership, store.tip().height);
    if changed.is_none() && dial == *dialled {
        return Ok(());
    }
    let roster = crate::membership::net_roster(&membership, &store);
    drop(store);
    match net.set_roster(&roster, &dial) {
        Ok(()) => *dialled = dial,
        Err(e) => tracing::error!(error = %e, "joining: the network refused the roster"),
    }
    Ok(())
}

/// What `/status` and `/consensus` show while syncing.
fn publish(shared: &Shared, target: Option<u64>) {
    let mut info = shared.consensus.write().expect("lock");
    info.recovery = Some(RecoveryInfo {
        reason: "joining".into(),
        phase: "transferring".into(),
        round: 0,
        target_height: target,
    });
    let height = shared.store.read().expect("store lock").tip().height;
    info.last_committed = height;
    shared.metrics.height.set(height as i64);
    shared
        .metrics
        .recovery_target_height
        .set(target.unwrap_or(0) as i64);
}
