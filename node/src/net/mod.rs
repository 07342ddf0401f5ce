//! libp2p between validators (DESIGN.md section 8).
//!
//! The network moves opaque, bounded byte frames between validators; what they mean is
//! [`crate::wire`]'s business.
//!
//! - TCP + Noise + Yamux. A validator's libp2p identity is its ed25519 key
//!   ([`identity`]); the [`gate`] refuses every connection whose key is not on the
//!   roster or is serving a punishment. The roster (every key ever admitted, ids =
//!   positions) grows while the node runs: [`NetHandle::set_roster`].
//! - One-way frames ([`outbound`], [`inbound`]): one long-lived `libp2p-stream` stream
//!   per direction and peer, opened with the genesis hello ([`hello`]: a peer whose
//!   genesis hash differs from ours is refused, with both hashes in the log), then
//!   `u32` big-endian length + bytes ([`framing`]). Each peer has
//!   a bounded outbound [`queue`] that drops its oldest frame when full; inbound frames
//!   go to a bounded channel, and a full channel stops the reading (backpressure).
//! - Request-response ([`codec`]) for fetches, bounded both ways, with a timeout, and
//!   only with agreed peers: those whose hello on the current connection showed our
//!   genesis. Others get no request, their requests are refused (counted:
//!   [`NetHandle::refused_requests`]) and their answers are not delivered.
//! - The [`swarm`] task dials every roster key marked to dial (the members of the
//!   current and pending sets) and re-dials with exponential backoff.
//!
//! A peer that sends an oversized frame or breaks the framing is disconnected and refused
//! for `punish_cooldown`. Nothing here panics on peer input.

pub(crate) mod codec;
mod error;
pub(crate) mod framing;
mod gate;
mod handle;
pub(crate) mod hello;
mod identity;
mod inbound;
mod outbound;
mod peers;
mod queue;
mod swarm;

pub use error::NetError;
pub use handle::NetHandle;
pub use identity::{keypair, peer_id};

use consensus::ReplicaId;
use libp2p::Multiaddr;
use peers::Peers;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Commands (requests, disconnects) waiting for the swarm task.
const COMMAND_QUEUE: usize = 1024;

#[derive(Clone)]
pub struct NetConfig {
    /// The validator's ed25519 key; also its libp2p identity. Our id is the position
    /// of this key on the roster; a joining node's key may not be on it yet.
    pub key: crypto::SigningKey,
    /// The roster: index = `ReplicaId`: (key, multiaddr such as
    /// "/ip4/127.0.0.1/tcp/8100"); may include us.
    pub roster: Vec<(crypto::PublicKey, String)>,
    /// The ids we dial (the others may still connect to us).
    pub dial: Vec<ReplicaId>,
    /// Multiaddr to listen on.
    pub listen: String,
    /// The hash of our genesis: every frame stream starts by comparing it with the
    /// peer's ([`hello`]), and a peer with another genesis is refused.
    pub genesis: crypto::Hash,
    /// The largest one-way frame, sent or received.
    pub max_frame_bytes: usize,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    /// Outbound frames waiting per peer.
    pub peer_queue: usize,
    /// Bytes of outbound frames waiting per peer (at least `max_frame_bytes`).
    pub peer_queue_bytes: usize,
    /// Backoff between dials, doubling up to `redial_max`.
    pub redial_min: Duration,
    pub redial_max: Duration,
    pub request_timeout: Duration,
    /// How long a punished peer is refused.
    pub punish_cooldown: Duration,
    /// Capacity of the event channel `start` returns.
    pub event_queue: usize,
}

impl NetConfig {
    /// A configuration with the node's default limits that dials every key on
    /// `roster`.
    pub fn new(
        key: crypto::SigningKey,
        roster: Vec<(crypto::PublicKey, String)>,
        listen: String,
        genesis: crypto::Hash,
    ) -> Self {
        let dial = (0..roster.len()).map(|i| ReplicaId(i as u32)).collect();
        NetConfig {
            key,
            roster,
            dial,
            listen,
            genesis,
            max_frame_bytes: 16 << 20,
            max_request_bytes: 1 << 20,
            max_response_bytes: 16 << 20,
            peer_queue: 1024,
            peer_queue_bytes: 64 << 20,
            redial_min: Duration::from_millis(100),
            redial_max: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            punish_cooldown: Duration::from_secs(10),
            event_queue: 4096,
        }
    }

    fn check(&self) -> Result<(), NetError> {
        let limit = |ok: bool, what| {
            if ok {
                Ok(())
            } else {
                Err(NetError::BadLimits(what))
            }
        };
        limit(
            self.max_frame_bytes <= u32::MAX as usize,
            "max_frame_bytes must fit in a u32",
        )?;
        limit(
            self.max_request_bytes <= u32::MAX as usize,
            "max_request_bytes must fit in a u32",
        )?;
        limit(
            self.max_response_bytes <= u32::MAX as usize,
            "max_response_bytes must fit in a u32",
        )?;
        limit(self.peer_queue > 0, "peer_queue must be at least 1")?;
        limit(
            self.peer_queue_bytes >= self.max_frame_bytes,
            "peer_queue_bytes must hold the largest frame",
        )?;
        limit(self.event_queue > 0, "event_queue must be at least 1")?;
        limit(!self.redial_min.is_zero(), "redial_min must be positive")?;
        limit(
            self.redial_min <= self.redial_max,
            "redial_min must not exceed redial_max",
        )?;
        limit(
            !self.request_timeout.is_zero(),
            "request_timeout must be positive",
        )
    }
}

pub enum NetEvent {
    /// A one-way frame, in the order the peer sent them.
    Message {
        from: ReplicaId,
        bytes: Vec<u8>,
    },
    /// A request; answer through `reply` (dropping it answers nothing: the peer gets an
    /// error at once). Answers after `request_timeout` are not delivered.
    Request {
        from: ReplicaId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Vec<u8>>,
    },
    Connected(ReplicaId),
    Disconnected(ReplicaId),
}

impl std::fmt::Debug for NetEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetEvent::Message { from, bytes } => {
                write!(f, "Message({}, {} bytes)", from.0, bytes.len())
            }
            NetEvent::Request { from, bytes, .. } => {
                write!(f, "Request({}, {} bytes)", from.0, bytes.len())
            }
            NetEvent::Connected(peer) => write!(f, "Connected({})", peer.0),
            NetEvent::Disconnected(peer) => write!(f, "Disconnected({})", peer.0),
        }
    }
}

/// Resolves once the network is told to stop (or its handle is gone).
#[derive(Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Disconnects a peer and bans it for the cooldown; usable from any task.
#[derive(Clone)]
pub(crate) struct Punisher {
    peers: Arc<Peers>,
    commands: mpsc::Sender<swarm::Command>,
}

impl Punisher {
    pub fn punish(&self, peer: ReplicaId, reason: &str) {
        if self.peers.slot(peer).is_none() {
            return;
        }
        tracing::warn!(
            me = ?self.peers.me().map(|me| me.0),
            peer = peer.0,
            reason,
            "peer punished: disconnected and refused for a while"
        );
        self.peers.ban(peer, Instant::now());
        if self
            .commands
            .try_send(swarm::Command::Disconnect(peer))
            .is_err()
        {
            // The ban still holds: it is checked on every new connection.
            tracing::warn!(
                peer = peer.0,
                "command queue full: punished peer not disconnected at once"
            );
        }
    }
}

/// Starts the network: listens, dials the validators to dial, and returns the handle
/// and the channel of events. Must be called inside a tokio runtime; spawns one swarm
/// task, one writer per peer, one acceptor and one reader per inbound stream.
pub async fn start(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    config.check()?;
    let roster = identity::Roster::new(&config.roster)?;
    let keypair = identity::keypair(&config.key);
    let local = keypair.public().to_peer_id();
    let listen: Multiaddr = config
        .listen
        .parse()
        .map_err(|e: libp2p::multiaddr::Error| NetError::BadListenAddr {
            addr: config.listen.clone(),
            reason: e.to_string(),
        })?;

    let peers = Arc::new(Peers::new(
        local,
        roster,
        config.peer_queue,
        config.peer_queue_bytes,
        config.punish_cooldown,
    ));
    peers.update(&config.roster, &config.dial)?;
    let codec = codec::BytesCodec {
        max_request_bytes: config.max_request_bytes,
        max_response_bytes: config.max_response_bytes,
    };
    let mut swarm = swarm::build(keypair, peers.clone(), codec, config.request_timeout)?;
    swarm
        .listen_on(listen)
        .map_err(|e| NetError::BadListenAddr {
            addr: config.listen.clone(),
            reason: e.to_string(),
        })?;

    let (events_tx, events_rx) = mpsc::channel(config.event_queue);
    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shutdown = Shutdown(shutdown_rx);
    let punisher = Punisher {
        peers: peers.clone(),
        commands: commands_tx.clone(),
    };

    let mut control = swarm.behaviour().frames.new_control();
    let writers = Writers {
        peers: peers.clone(),
        control: control.clone(),
        shutdown: shutdown.clone(),
        punisher: punisher.clone(),
        genesis: config.genesis,
    };
    let incoming = control
        .accept(outbound::FRAME_PROTOCOL)
        .expect("a new stream behaviour has no protocol registered yet");
    tokio::spawn(
        inbound::Acceptor {
            peers: peers.clone(),
            incoming,
            events: events_tx.clone(),
            punisher: punisher.clone(),
            max_frame_bytes: config.max_frame_bytes,
            shutdown: shutdown.clone(),
            genesis: config.genesis,
        }
        .run(),
    );
    for (peer, _) in peers.others() {
        writers.spawn(peer);
    }
    let limits = swarm::Limits {
        request_timeout: config.request_timeout,
        redial_min: config.redial_min,
        redial_max: config.redial_max,
        max_response_bytes: config.max_response_bytes,
    };
    let task = swarm::SwarmTask::new(
        swarm,
        peers.clone(),
        commands_rx,
        events_tx,
        limits,
        shutdown,
    );
    tokio::spawn(task.run());

    let handle = NetHandle::new(handle::Inner {
        peers,
        writers,
        punisher,
        commands: commands_tx,
        shutdown: shutdown_tx,
        max_frame_bytes: config.max_frame_bytes,
        max_request_bytes: config.max_request_bytes,
        request_timeout: config.request_timeout,
    });
    Ok((handle, events_rx))
}

/// Starts the writer of a peer: at start, and for each peer the roster gains.
pub(crate) struct Writers {
    peers: Arc<Peers>,
    control: libp2p_stream::Control,
    shutdown: Shutdown,
    punisher: Punisher,
    genesis: crypto::Hash,
}

impl Writers {
    pub fn spawn(&self, peer: ReplicaId) {
        let Some(validator) = self.peers.validator(peer) else {
            return;
        };
        let writer = outbound::Writer {
            peer,
            peer_id: validator.peer_id,
            peers: self.peers.clone(),
            control: self.control.clone(),
            shutdown: self.shutdown.clone(),
            punisher: self.punisher.clone(),
            genesis: self.genesis,
        };
        tokio::spawn(writer.run());
    }
}
