//! The network edge (DESIGN.md section 8): every frame from a peer is decoded and
//! checked here before anything acts on it. Consensus messages have their
//! signatures checked and go to the driver; forwarded transactions go to
//! admission; fetches are answered by [`crate::serve`] within its limits. A frame
//! that does not decode, or a message whose signature does not hold, is garbage:
//! the peer is disconnected.
//!
//! Decoding (a public key decompressed per transaction) and signature checks run on
//! the blocking pool: the async runtime's threads only wait, and the API and the
//! network stay answerable however busy this node is. Consensus frames are checked
//! one at a time, in the order they came, and go to the driver; forwarded
//! transactions take a lane of their own (a bounded queue, a few batches admitted
//! at once), so consensus never waits behind them. When that queue is full, a
//! forwarded batch is dropped and counted: the node is past what it can admit.

use crate::admit::{self, Origin};
use crate::driver::DriverEvent;
use crate::net::{NetEvent, NetHandle};
use crate::serve::{self, Server};
use crate::shared::Shared;
use crate::wire::{FetchRequest, FetchResponse, PeerMessage, PeerMessageKind, MAX_FORWARD_TXS};
use consensus::ReplicaId;
use crypto::{BoundedVec, Canonical};
use ledger::SignedTransaction;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// Forwarded batches decoded and admitted at once.
const ADMISSIONS_IN_FLIGHT: usize = 4;
/// Forwarded batches waiting for admission; past it a batch is dropped (and
/// counted), never allowed to hold up the consensus messages behind it.
const FORWARDED_QUEUE: usize = 256;

/// Reads the network's events until it closes.
pub async fn run(
    shared: Arc<Shared>,
    net: NetHandle,
    mut events: mpsc::Receiver<NetEvent>,
    driver: mpsc::Sender<DriverEvent>,
    server: Arc<Server>,
) {
    let (forwarded_tx, forwarded_rx) = mpsc::channel(FORWARDED_QUEUE);
    tokio::spawn(admit_forwarded(shared.clone(), net.clone(), forwarded_rx));
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::Message { from, bytes } => match PeerMessage::kind_of(&bytes) {
                // Transactions go their own way: decoding them is slow, and
                // consensus must not queue behind them.
                Some(PeerMessageKind::Txs) => {
                    if forwarded_tx.try_send((from, bytes)).is_err() {
                        shared.metrics.dropped_forwarded.inc();
                    }
                }
                _ => {
                    let checking = shared.clone();
                    let checked =
                        tokio::task::spawn_blocking(move || check_consensus(&checking, &bytes))
                            .await;
                    match checked {
                        Ok(Ok(input)) => {
                            if driver.send(DriverEvent::Input(input)).await.is_err() {
                                return;
                            }
                        }
                        Ok(Err(garbage)) => net.punish(from, &garbage),
                        Err(join) => std::panic::resume_unwind(join.into_panic()),
                    }
                }
            },
            NetEvent::Request { from, bytes, reply } => {
                let request = match FetchRequest::from_canonical_bytes(&bytes) {
                    Ok(request) => request,
                    Err(e) => {
                        net.punish(from, &format!("undecodable request: {e}"));
                        continue;
                    }
                };
                let Some(slot) = server.admit(from) else {
                    shared.metrics.refused_fetches.inc();
                    let _ = reply.send(FetchResponse::Busy.to_canonical_bytes());
                    continue;
                };
                let shared = shared.clone();
                tokio::task::spawn_blocking(move || {
                    let response = serve::answer(&shared, request);
                    drop(slot);
                    shared.metrics.served_fetches.inc();
                    let _ = reply.send(response.to_canonical_bytes());
                });
            }
            NetEvent::Connected(peer) => set_connected(&shared, peer, true),
            NetEvent::Disconnected(peer) => set_connected(&shared, peer, false),
        }
    }
}

/// Decodes a consensus frame and checks its signature (blocking: key
/// decompression and signature checks). `Err` says why the frame is garbage.
fn check_consensus(shared: &Shared, bytes: &[u8]) -> Result<consensus::Input, String> {
    let message =
        PeerMessage::from_canonical_bytes(bytes).map_err(|e| format!("undecodable frame: {e}"))?;
    let PeerMessage::Consensus(envelope) = message else {
        return Err("a transaction frame in the consensus lane".into());
    };
    // A peer may relay others' signed messages (a checkpoint's proof, for one):
    // the signature, not the connection, says who sent it. Against the roster:
    // every key ever admitted (ids are positions in it); the replica checks
    // membership per height.
    let membership = shared.membership();
    let chain_id = shared.genesis.chain_id.as_str();
    consensus::verify_envelope(&envelope, membership.roster(), chain_id)
        .map_err(|e| format!("bad consensus message: {e}"))
}

/// Decodes and admits the transaction batches peers forward, a few at once.
async fn admit_forwarded(
    shared: Arc<Shared>,
    net: NetHandle,
    mut batches: mpsc::Receiver<(ReplicaId, Vec<u8>)>,
) {
    let admissions = Arc::new(Semaphore::new(ADMISSIONS_IN_FLIGHT));
    while let Some((from, bytes)) = batches.recv().await {
        let Ok(permit) = admissions.clone().acquire_owned().await else {
            return;
        };
        let (shared, net) = (shared.clone(), net.clone());
        tokio::spawn(async move {
            let decoded =
                tokio::task::spawn_blocking(move || PeerMessage::from_canonical_bytes(&bytes))
                    .await;
            match decoded {
                Ok(Ok(PeerMessage::Txs(txs))) => {
                    admit::submit(&shared, txs.into_inner(), Origin::Peer(from)).await;
                }
                Ok(Ok(PeerMessage::Consensus(_))) => {
                    net.punish(from, "a consensus frame in the transaction lane");
                }
                Ok(Err(e)) => net.punish(from, &format!("undecodable frame: {e}")),
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            }
            drop(permit);
        });
    }
}

fn set_connected(shared: &Shared, peer: ReplicaId, up: bool) {
    let mut connected = shared.connected.write().expect("lock");
    if up {
        connected.insert(peer);
    } else {
        connected.remove(&peer);
    }
    shared.metrics.peers.set(connected.len() as i64);
}

/// How often the pool is looked through for transactions to send again...
pub const REFORWARD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// ...those that have waited this long since they arrived or were last sent...
pub const REFORWARD_AGE_MS: u64 = 3_000;
/// ...at most this many each time.
pub const REFORWARD_MAX: usize = 1_024;

/// Sends the other validators, again, the pooled transactions that have waited
/// long ([`crate::mempool::Mempool::take_to_reforward`]). A forward is sent once and
/// lost if a peer is cut off or its connection drops; a transaction left only in
/// a backup's pool would never be proposed, nor any later nonce of its sender.
/// Healthy pools empty within a block or two, so this sends nothing then; under
/// load it is bounded by [`REFORWARD_MAX`] per [`REFORWARD_EVERY`], and receivers
/// drop what they hold before checking a signature.
pub async fn reforward(shared: Arc<Shared>, net: NetHandle) {
    let mut tick = tokio::time::interval(REFORWARD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let txs = shared
            .mempool
            .lock()
            .expect("mempool lock")
            .take_to_reforward(Shared::now_ms(), REFORWARD_AGE_MS, REFORWARD_MAX);
        if txs.is_empty() {
            continue;
        }
        shared.metrics.reforwarded_txs.inc_by(txs.len() as u64);
        broadcast_txs(&net, &txs);
    }
}

/// Forwards the transactions clients gave this node to every other validator, in
/// batches of at most [`MAX_FORWARD_TXS`].
pub async fn forward(net: NetHandle, mut batches: mpsc::Receiver<Vec<SignedTransaction>>) {
    while let Some(txs) = batches.recv().await {
        broadcast_txs(&net, &txs);
    }
}

/// `txs` to every other validator, in frames of at most [`MAX_FORWARD_TXS`].
fn broadcast_txs(net: &NetHandle, txs: &[SignedTransaction]) {
    for chunk in txs.chunks(MAX_FORWARD_TXS) {
        let chunk = BoundedVec::new(chunk.to_vec()).expect("chunks are within the bound");
        net.broadcast(PeerMessage::Txs(chunk).to_canonical_bytes().into());
    }
}
