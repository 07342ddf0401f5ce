//! Inbound frame streams: one task accepts them, one task per stream reads frames into
//! the node's bounded event channel. When that channel is full the reader waits, which
//! stops reading the stream, which fills the Yamux window: backpressure to the sender
//! instead of memory here. A peer that breaks the framing is punished.

use super::framing::{read_frame, FrameError};
use super::hello;
use super::peers::{Peers, ReaderPlace};
use super::{NetEvent, Punisher, Shutdown};
use consensus::ReplicaId;
use futures::io::BufReader;
use futures::StreamExt;
use libp2p::PeerId;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Streams read at once from one peer: the current one and one being replaced.
const MAX_READERS_PER_PEER: usize = 4;
const READ_BUFFER_BYTES: usize = 64 * 1024;

pub struct Acceptor {
    pub peers: Arc<Peers>,
    pub incoming: libp2p_stream::IncomingStreams,
    pub events: mpsc::Sender<NetEvent>,
    pub punisher: Punisher,
    pub max_frame_bytes: usize,
    pub shutdown: Shutdown,
    /// Our genesis hash: a stream whose opener shows another is refused.
    pub genesis: crypto::Hash,
}

impl Acceptor {
    pub async fn run(mut self) {
        loop {
            let next = tokio::select! {
                _ = self.shutdown.wait() => return,
                next = self.incoming.next() => next,
            };
            let Some((peer_id, stream)) = next else {
                return;
            };
            // The gate admits only validators; checked again because this is the edge.
            let Some(from) = self.peers.replica(&peer_id) else {
                tracing::debug!(%peer_id, "frame stream from a non-validator dropped");
                continue;
            };
            let Some(place) = ReaderPlace::take(&self.peers, from, MAX_READERS_PER_PEER) else {
                tracing::debug!(
                    peer = from.0,
                    "too many frame streams from one peer; dropped"
                );
                continue;
            };
            let reader = Reader {
                from,
                peer_id,
                genesis: self.genesis,
                _place: place,
                events: self.events.clone(),
                punisher: self.punisher.clone(),
                max_frame_bytes: self.max_frame_bytes,
                shutdown: self.shutdown.clone(),
            };
            tokio::spawn(reader.run(stream));
        }
    }
}

struct Reader {
    from: ReplicaId,
    peer_id: PeerId,
    genesis: crypto::Hash,
    _place: ReaderPlace,
    events: mpsc::Sender<NetEvent>,
    punisher: Punisher,
    max_frame_bytes: usize,
    shutdown: Shutdown,
}

impl Reader {
    async fn run(mut self, mut stream: libp2p::Stream) {
        let hello = async {
            let theirs = hello::read_hash(&mut stream).await?;
            hello::answer(&mut stream, &self.genesis).await?;
            Ok::<_, std::io::Error>(theirs)
        };
        let theirs = match tokio::time::timeout(hello::HELLO_TIMEOUT, hello).await {
            Ok(Ok(theirs)) => theirs,
            Ok(Err(error)) => {
                tracing::debug!(peer = self.from.0, %error, "frame stream gone before it was accepted");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = self.from.0, "no hello on a frame stream in time");
                return;
            }
        };
        if !hello::agree(
            &self.punisher,
            self.from,
            &self.peer_id,
            &self.genesis,
            &theirs,
        ) {
            return;
        }
        let mut stream = BufReader::with_capacity(READ_BUFFER_BYTES, stream);
        loop {
            let frame = tokio::select! {
                _ = self.shutdown.wait() => return,
                frame = read_frame(&mut stream, self.max_frame_bytes) => frame,
            };
            match frame {
                Ok(bytes) => {
                    tracing::trace!(peer = self.from.0, len = bytes.len(), "frame");
                    let event = NetEvent::Message {
                        from: self.from,
                        bytes,
                    };
                    let sent = tokio::select! {
                        _ = self.shutdown.wait() => return,
                        sent = self.events.send(event) => sent,
                    };
                    if sent.is_err() {
                        return; // the node stopped listening
                    }
                }
                Err(FrameError::Closed) => {
                    tracing::debug!(peer = self.from.0, "frame stream closed");
                    return;
                }
                Err(FrameError::Io(error)) => {
                    tracing::debug!(peer = self.from.0, %error, "frame stream broke");
                    return;
                }
                Err(too_large @ FrameError::TooLarge { .. }) => {
                    self.punisher.punish(self.from, &too_large.to_string());
                    return;
                }
            }
        }
    }
}
