//! One writer task per peer: it keeps one long-lived stream open to the peer and writes
//! the peer's queue into it as length-prefixed frames, flushing when the queue runs dry
//! (many small consensus frames share a flush; a 50 KB batch goes out at once).
//!
//! A frame being written when the stream breaks is lost; the consensus layer
//! retransmits. Frames queued while the peer is away wait in its bounded queue.

use super::framing::write_frame;
use super::hello;
use super::peers::{PeerSlot, Peers};
use super::{Punisher, Shutdown};
use consensus::ReplicaId;
use futures::io::BufWriter;
use futures::AsyncWriteExt;
use libp2p::{PeerId, StreamProtocol};
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// Version 2: the stream starts with the genesis hello ([`super::hello`]).
pub const FRAME_PROTOCOL: StreamProtocol = StreamProtocol::new("/rbft/frames/2");

/// Coalesces small frames into one write; larger frames bypass the buffer.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;
/// How long to wait for a stream to open before trying again.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a stream failed to open, so a peer that refuses does not make us spin.
const REOPEN_PAUSE: Duration = Duration::from_millis(200);

pub struct Writer {
    pub peer: ReplicaId,
    pub peer_id: PeerId,
    pub peers: Arc<Peers>,
    pub control: libp2p_stream::Control,
    pub shutdown: Shutdown,
    pub punisher: Punisher,
    /// Our genesis hash, shown to the peer first; the stream is used only if the
    /// peer's is the same.
    pub genesis: crypto::Hash,
}

impl Writer {
    pub async fn run(mut self) {
        let Some(slot) = self.peers.slot(self.peer) else {
            return;
        };
        let mut connected = slot.connected.subscribe();
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => return,
                up = connected.wait_for(|up| *up) => if up.is_err() { return },
            }
            let Some(stream) = self.open().await else {
                continue;
            };
            let mut stream = BufWriter::with_capacity(WRITE_BUFFER_BYTES, stream);
            let outcome = tokio::select! {
                _ = self.shutdown.wait() => return,
                result = write_queue(&slot, &mut stream) => result,
                _ = connected.wait_for(|up| !*up) => Ok(()),
            };
            match outcome {
                Ok(()) => tracing::debug!(
                    peer = self.peer.0,
                    "peer disconnected; frame stream dropped"
                ),
                Err(error) => tracing::debug!(peer = self.peer.0, %error, "frame stream broke"),
            }
        }
    }

    async fn open(&mut self) -> Option<libp2p::Stream> {
        let opened = tokio::time::timeout(
            OPEN_TIMEOUT,
            self.control.open_stream(self.peer_id, FRAME_PROTOCOL),
        )
        .await;
        match opened {
            Ok(Ok(mut stream)) => {
                let hello = async {
                    hello::send(&mut stream, &self.genesis).await?;
                    hello::read_answer(&mut stream).await
                };
                match tokio::time::timeout(hello::HELLO_TIMEOUT, hello).await {
                    Ok(Ok(theirs)) => {
                        if hello::agree(
                            &self.punisher,
                            self.peer,
                            &self.peer_id,
                            &self.genesis,
                            &theirs,
                        ) {
                            tracing::debug!(peer = self.peer.0, "frame stream open");
                            return Some(stream);
                        }
                    }
                    _ => tracing::debug!(peer = self.peer.0, "frame stream not accepted"),
                }
            }
            Ok(Err(error)) => {
                tracing::debug!(peer = self.peer.0, %error, "could not open a frame stream")
            }
            Err(_) => tracing::debug!(peer = self.peer.0, "opening a frame stream timed out"),
        }
        tokio::select! {
            _ = self.shutdown.wait() => {}
            _ = tokio::time::sleep(REOPEN_PAUSE) => {}
        }
        None
    }
}

/// Writes queued frames until the stream fails; never returns `Ok` on its own.
async fn write_queue(slot: &PeerSlot, stream: &mut BufWriter<libp2p::Stream>) -> io::Result<()> {
    loop {
        match slot.queue.pop() {
            Some(frame) => write_frame(stream, &frame).await?,
            None => {
                stream.flush().await?;
                slot.queue.ready().await;
            }
        }
    }
}
