//! The network edge (DESIGN.md section 8): every frame from a peer is decoded and
//! checked here before anything acts on it. Consensus messages have their
//! signatures checked and go to the driver; forwarded transactions go to
//! admission; fetches are answered from the pool and the store. A frame that does
//! not decode, or a message whose signature does not hold, is garbage: the peer is
//! disconnected.

use crate::admit::{self, Origin};
use crate::driver::{self, DriverEvent};
use crate::net::{NetEvent, NetHandle};
use crate::shared::Shared;
use crate::wire::{FetchRequest, PeerMessage, MAX_FORWARD_TXS};
use consensus::ReplicaId;
use crypto::{BoundedVec, Canonical};
use ledger::SignedTransaction;
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// Forwarded batches admitted at once; past it the edge waits (backpressure).
const ADMISSIONS_IN_FLIGHT: usize = 4;

/// Reads the network's events until it closes.
pub async fn run(
    shared: Arc<Shared>,
    net: NetHandle,
    mut events: mpsc::Receiver<NetEvent>,
    driver: mpsc::Sender<DriverEvent>,
) {
    let chain_id = shared.genesis.chain_id.to_string();
    let admissions = Arc::new(Semaphore::new(ADMISSIONS_IN_FLIGHT));
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::Message { from, bytes } => {
                let message = match PeerMessage::from_canonical_bytes(&bytes) {
                    Ok(message) => message,
                    Err(e) => {
                        net.punish(from, &format!("undecodable frame: {e}"));
                        continue;
                    }
                };
                match message {
                    PeerMessage::Consensus(envelope) => {
                        // A peer may relay others' signed messages (a checkpoint's
                        // proof, for one): the signature, not the connection, says
                        // who sent it.
                        // Against the roster: every key ever admitted (ids are
                        // positions in it); the replica checks membership per height.
                        let membership = shared.membership();
                        let keys = membership.roster();
                        let input = match consensus::verify_envelope(&envelope, keys, &chain_id) {
                            Ok(input) => input,
                            Err(e) => {
                                net.punish(from, &format!("bad consensus message: {e}"));
                                continue;
                            }
                        };
                        if driver.send(DriverEvent::Input(input)).await.is_err() {
                            return;
                        }
                    }
                    PeerMessage::Txs(txs) => {
                        let Ok(permit) = admissions.clone().acquire_owned().await else {
                            return;
                        };
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            admit::submit(&shared, txs.to_vec(), Origin::Peer(from)).await;
                            drop(permit);
                        });
                    }
                }
            }
            NetEvent::Request { from, bytes, reply } => {
                let request = match FetchRequest::from_canonical_bytes(&bytes) {
                    Ok(request) => request,
                    Err(e) => {
                        net.punish(from, &format!("undecodable request: {e}"));
                        continue;
                    }
                };
                let shared = shared.clone();
                tokio::task::spawn_blocking(move || {
                    let response = driver::serve(&shared, request);
                    let _ = reply.send(response.to_canonical_bytes());
                });
            }
            NetEvent::Connected(peer) => set_connected(&shared, peer, true),
            NetEvent::Disconnected(peer) => set_connected(&shared, peer, false),
        }
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

/// Forwards the transactions clients gave this node to every other validator, in
/// batches of at most [`MAX_FORWARD_TXS`].
pub async fn forward(net: NetHandle, mut batches: mpsc::Receiver<Vec<SignedTransaction>>) {
    while let Some(txs) = batches.recv().await {
        for chunk in txs.chunks(MAX_FORWARD_TXS) {
            let chunk = BoundedVec::new(chunk.to_vec()).expect("chunks are within the bound");
            let frame = PeerMessage::Txs(chunk).to_canonical_bytes();
            net.broadcast(frame.into());
        }
    }
}
