//! What can go wrong operating the network (STYLE.md habit 5: typed, with fields).
//! Byzantine input is not here: a peer that sends garbage is punished, not an `Err`.

use consensus::ReplicaId;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("bad listen address {addr:?}: {reason}")]
    BadListenAddr { addr: String, reason: String },
    #[error("bad address {addr:?} for validator {peer:?}: {reason}")]
    BadPeerAddr {
        peer: ReplicaId,
        addr: String,
        reason: String,
    },
    #[error("validator {peer:?} has a public key libp2p does not accept")]
    BadPeerKey { peer: ReplicaId },
    #[error(
        "the new roster moves or repeats the key of {peer:?}; ids are positions and never change"
    )]
    RosterReordered { peer: ReplicaId },
    #[error("the new roster has {got} keys, fewer than the {had} already known; it only grows")]
    RosterShrunk { had: usize, got: usize },
    #[error("invalid limits: {0}")]
    BadLimits(&'static str),
    #[error("could not build the transport: {0}")]
    Transport(String),
    #[error("no validator {peer:?}")]
    UnknownPeer { peer: ReplicaId },
    #[error("not connected to {peer:?}")]
    NotConnected { peer: ReplicaId },
    #[error("{peer:?} has not shown our genesis hash on this connection")]
    NotAgreed { peer: ReplicaId },
    #[error("request of {len} bytes is over the limit of {max}")]
    RequestTooLarge { len: usize, max: usize },
    #[error("response from {peer:?} is over the limit of {max} bytes")]
    ResponseTooLarge { peer: ReplicaId, max: usize },
    #[error("no response from {peer:?} within the timeout")]
    Timeout { peer: ReplicaId },
    #[error("{peer:?} closed the request without answering")]
    NoResponse { peer: ReplicaId },
    #[error("request to {peer:?} failed: {reason}")]
    RequestFailed { peer: ReplicaId, reason: String },
    #[error("the network task has stopped")]
    Stopped,
}
