//! `NetHandle`: what the node holds to use the network. Cheap to clone; every method
//! but `request` returns at once. Dropping the last handle stops the network, as
//! [`NetHandle::shutdown`] does.

use super::hello::HELLO_TIMEOUT;
use super::peers::Peers;
use super::swarm::Command;
use super::{NetError, Punisher, Writers};
use bytes::Bytes;
use consensus::ReplicaId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Clone)]
pub struct NetHandle {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub peers: Arc<Peers>,
    pub writers: Writers,
    pub punisher: Punisher,
    pub commands: mpsc::Sender<Command>,
    pub shutdown: watch::Sender<bool>,
    pub max_frame_bytes: usize,
    pub max_request_bytes: usize,
    pub request_timeout: Duration,
}

impl NetHandle {
    pub(crate) fn new(inner: Inner) -> Self {
        NetHandle {
            inner: Arc::new(inner),
        }
    }

    /// This node's replica id: the position of its key on the roster, once it is
    /// there (a joining node's key is not at first).
    pub fn me(&self) -> Option<ReplicaId> {
        self.inner.peers.me()
    }

    /// Takes a new roster (issue 7): every key ever admitted, in id order, with where
    /// to dial it. It must extend the current one (ids never change; an address may).
    /// The gate admits every key on it; we dial the ids in `dial` (members of the
    /// current and pending sets) and stop re-dialling the others. Peers it adds get
    /// their queue and writer at once.
    pub fn set_roster(
        &self,
        roster: &[(crypto::PublicKey, String)],
        dial: &[ReplicaId],
    ) -> Result<(), NetError> {
        let added = self.inner.peers.update(roster, dial)?;
        for peer in added {
            tracing::info!(peer = peer.0, "roster: new validator");
            self.inner.writers.spawn(peer);
        }
        Ok(())
    }

    /// How many keys the roster holds.
    pub fn roster_len(&self) -> usize {
        self.inner.peers.roster_len()
    }

    /// Queues a frame for one peer. Never blocks; when that peer's queue is full the
    /// OLDEST queued frames are dropped (to fit `peer_queue` frames and
    /// `peer_queue_bytes`) and counted in [`NetHandle::dropped_frames`].
    /// A frame over `max_frame_bytes` is a bug of the caller: it is logged and not sent
    /// (the peer would punish us for it).
    pub fn send(&self, to: ReplicaId, frame: Bytes) {
        let Some(slot) = self.inner.peers.slot(to) else {
            tracing::debug!(
                peer = to.0,
                "frame for ourselves or an unknown peer dropped"
            );
            return;
        };
        if frame.len() > self.inner.max_frame_bytes {
            tracing::warn!(
                peer = to.0,
                len = frame.len(),
                max = self.inner.max_frame_bytes,
                "frame over the limit not sent"
            );
            return;
        }
        tracing::trace!(peer = to.0, len = frame.len(), "frame queued");
        let dropped = slot.queue.push(frame);
        if dropped > 0 {
            tracing::debug!(
                peer = to.0,
                dropped,
                "peer queue full: oldest frames dropped"
            );
        }
    }

    /// The same frame to every other validator we dial; the bytes are shared, not
    /// copied.
    pub fn broadcast(&self, frame: Bytes) {
        let peers = &self.inner.peers;
        for (peer, _) in peers.others() {
            if peers.dialled(peer) {
                self.send(peer, frame.clone());
            }
        }
    }

    /// Sends a request and waits for the answer, at most `request_timeout` (after the
    /// peer's genesis hello, if it just connected). A peer that has not shown our
    /// genesis hash gets no request: [`NetError::NotAgreed`].
    pub async fn request(&self, to: ReplicaId, bytes: Vec<u8>) -> Result<Vec<u8>, NetError> {
        let max = self.inner.max_request_bytes;
        if bytes.len() > max {
            return Err(NetError::RequestTooLarge {
                len: bytes.len(),
                max,
            });
        }
        if self.inner.peers.slot(to).is_none() {
            return Err(NetError::UnknownPeer { peer: to });
        }
        if !self.inner.peers.is_connected(to) {
            return Err(NetError::NotConnected { peer: to });
        }
        self.until_agreed(to).await?;
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            self.inner
                .commands
                .send(Command::Request { to, bytes, reply })
                .await
                .map_err(|_| NetError::Stopped)?;
            answer.await.map_err(|_| NetError::Stopped)?
        };
        // libp2p times the request out too; this bound also covers a full command queue.
        let deadline = self.inner.request_timeout + Duration::from_millis(100);
        tokio::time::timeout(deadline, exchange)
            .await
            .unwrap_or(Err(NetError::Timeout { peer: to }))
    }

    /// Waits for a just-connected peer's genesis hello, at most `HELLO_TIMEOUT` (and
    /// never longer than a request may take): fetches go only to peers that showed our
    /// genesis.
    async fn until_agreed(&self, peer: ReplicaId) -> Result<(), NetError> {
        let Some(slot) = self.inner.peers.slot(peer) else {
            return Err(NetError::UnknownPeer { peer });
        };
        let mut agreed = slot.agreed.subscribe();
        let wait = HELLO_TIMEOUT.min(self.inner.request_timeout);
        let waited = tokio::time::timeout(wait, agreed.wait_for(|a| *a)).await;
        if matches!(waited, Ok(Ok(_))) {
            Ok(())
        } else {
            Err(NetError::NotAgreed { peer })
        }
    }

    /// Fetch requests refused because their sender had not shown our genesis hash
    /// (for metrics).
    pub fn refused_requests(&self) -> u64 {
        self.inner.peers.refused_requests()
    }

    /// Disconnects a peer that sent garbage and refuses it for the cooldown.
    pub fn punish(&self, peer: ReplicaId, reason: &str) {
        self.inner.punisher.punish(peer, reason);
    }

    /// The validators we have at least one connection to.
    pub fn connected(&self) -> Vec<ReplicaId> {
        self.inner
            .peers
            .others()
            .into_iter()
            .filter(|(_, slot)| *slot.connected.borrow())
            .map(|(id, _)| id)
            .collect()
    }

    /// Frames dropped because a peer's queue was full (for metrics).
    pub fn dropped_frames(&self) -> u64 {
        self.inner.peers.dropped_frames()
    }

    /// Frames waiting for one peer (for metrics).
    pub fn queued_frames(&self, peer: ReplicaId) -> usize {
        self.inner
            .peers
            .slot(peer)
            .map_or(0, |slot| slot.queue.len())
    }

    /// Stops the swarm task and every reader and writer; connections close. The event
    /// receiver ends once the last of them is gone.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}
