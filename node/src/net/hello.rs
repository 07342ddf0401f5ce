//! The hello at the start of every frame stream: both sides show their genesis hash
//! before any frame flows, so that nodes of different chains (or of one chain whose
//! operators built two different genesis files) never exchange a message.
//!
//! ```text
//! opener -> acceptor   32 bytes: the opener's genesis hash
//! acceptor -> opener   1 byte STREAM_ACCEPTED, then 32 bytes: the acceptor's hash
//! ```
//!
//! Fixed sizes, so nothing a peer sends here is unbounded; each side compares the
//! hashes itself, and on a difference logs one line naming both, then disconnects
//! the peer and refuses it for the punishment cooldown (it is redialled after, and
//! refused again while the genesis differs). The acceptor answers even on a
//! mismatch, so that the opener learns the acceptor's hash and can name it too.

use super::Punisher;
use consensus::ReplicaId;
use crypto::Hash;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::PeerId;
use std::io;
use std::time::Duration;

/// The one byte a reader sends when it takes a stream. libp2p-stream drops inbound
/// streams it has no room for; without this a writer could pour frames into a stream
/// nobody reads until Yamux tells it so.
pub const STREAM_ACCEPTED: u8 = 0xA5;
/// How long either side waits for the other's part of the hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// The opener's part: its genesis hash.
pub async fn send<S: AsyncWrite + Unpin>(stream: &mut S, genesis: &Hash) -> io::Result<()> {
    stream.write_all(genesis.as_bytes()).await?;
    stream.flush().await
}

/// The acceptor reads the opener's hash.
pub async fn read_hash<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Hash> {
    let mut bytes = [0u8; 32];
    stream.read_exact(&mut bytes).await?;
    Ok(Hash(bytes))
}

/// The acceptor's answer: accepted, and its own hash.
pub async fn answer<S: AsyncWrite + Unpin>(stream: &mut S, genesis: &Hash) -> io::Result<()> {
    let mut bytes = [0u8; 33];
    bytes[0] = STREAM_ACCEPTED;
    bytes[1..].copy_from_slice(genesis.as_bytes());
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// The opener reads the answer: the acceptor's hash, if it took the stream.
pub async fn read_answer<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Hash> {
    let mut bytes = [0u8; 33];
    stream.read_exact(&mut bytes).await?;
    if bytes[0] != STREAM_ACCEPTED {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the stream was not accepted",
        ));
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[1..]);
    Ok(Hash(hash))
}

/// Whether `theirs` is our genesis. If so, the peer is agreed: fetches may flow with
/// it. If not, says so in the log, naming both hashes, and disconnects and refuses the
/// peer for a while.
pub fn agree(
    punisher: &Punisher,
    peer: ReplicaId,
    peer_id: &PeerId,
    ours: &Hash,
    theirs: &Hash,
) -> bool {
    if ours == theirs {
        if let Some(slot) = punisher.peers.slot(peer) {
            slot.agreed.send_replace(true);
        }
        return true;
    }
    tracing::error!(
        peer = peer.0,
        %peer_id,
        "genesis mismatch: peer {peer_id} runs genesis {theirs}, this node runs genesis {ours}; refusing it (check both genesis.json files with `rbft genesis check`)"
    );
    punisher.punish(peer, "genesis mismatch");
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[test]
    fn a_hello_and_its_answer_carry_the_hashes() {
        futures::executor::block_on(async {
            let ours = crypto::sha256(b"ours");
            let mut wire = Cursor::new(Vec::new());
            send(&mut wire, &ours).await.unwrap();
            answer(&mut wire, &crypto::sha256(b"theirs")).await.unwrap();
            let bytes = wire.into_inner();
            assert_eq!(bytes.len(), 32 + 33);
            let mut read = Cursor::new(bytes);
            assert_eq!(read_hash(&mut read).await.unwrap(), ours);
            assert_eq!(
                read_answer(&mut read).await.unwrap(),
                crypto::sha256(b"theirs")
            );
        });
    }

    #[test]
    fn an_answer_without_the_accept_byte_or_cut_short_is_an_error() {
        futures::executor::block_on(async {
            let mut wrong = Cursor::new(vec![0u8; 33]);
            assert!(read_answer(&mut wrong).await.is_err());
            let mut short = Cursor::new(vec![STREAM_ACCEPTED; 10]);
            assert!(read_answer(&mut short).await.is_err());
            let mut short = Cursor::new(vec![1u8; 31]);
            assert!(read_hash(&mut short).await.is_err());
        });
    }
}
