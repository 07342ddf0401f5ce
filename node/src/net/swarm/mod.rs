//! The swarm task: owns the libp2p `Swarm`, dials and re-dials the validators to dial
//! (the roster may grow; it is read on every redial tick) with exponential backoff, reports connections, carries request-response, and disconnects
//! punished peers. Frames do not pass through here: writers and readers own their
//! streams, so a busy stream never stalls the swarm.

use super::codec::{BytesCodec, REQUEST_PROTOCOL};
use super::gate::Gate;
use super::peers::Peers;
use super::{NetError, NetEvent, Shutdown};
use consensus::ReplicaId;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::timeout::TransportTimeout;
use libp2p::core::transport::Boxed;
use libp2p::core::{upgrade, Transport};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identity, noise, tcp, yamux, PeerId, Swarm};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

mod requests;

/// Events (connections, requests) waiting for room in the node's channel. Frames never
/// wait here; they wait in their readers.
const EVENT_BACKLOG: usize = 256;
/// A connection that lived this long was a success: the next redial starts from the
/// shortest backoff again. One that died sooner (a peer that refuses us) keeps doubling.
const STABLE_CONNECTION: Duration = Duration::from_secs(2);
/// Inbound requests a peer may have in flight on one connection.
const MAX_CONCURRENT_REQUESTS: usize = 64;
/// A connection whose sent bytes go unacknowledged this long is closed by the kernel
/// (`TCP_USER_TIMEOUT`), so that the redial makes a new one. Without it, a peer cut
/// off by a partition keeps the old connection, and TCP retransmits into it with an
/// exponential backoff: after a 15 s partition the next retransmission came up to
/// 13 s after the heal, and commits waited for it. Far above any round trip and any
/// pause of a loaded peer's reader (the peer acknowledges what its kernel buffers).
const SILENT_PEER_TIMEOUT: Duration = Duration::from_secs(10);
/// A dial (TCP connect, noise and yamux handshakes) that takes longer is abandoned
/// and tried again by the redial: a SYN lost to a partition is otherwise
/// retransmitted after 1, 3, 7, 15... s and the dial stays pending for minutes.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

pub type RequestReply = oneshot::Sender<Result<Vec<u8>, NetError>>;

pub enum Command {
    Request {
        to: ReplicaId,
        bytes: Vec<u8>,
        reply: RequestReply,
    },
    Disconnect(ReplicaId),
}

#[derive(NetworkBehaviour)]
#[behaviour(prelude = "libp2p::swarm::derive_prelude")]
pub struct Behaviour {
    // First, so that a refused connection never reaches the other behaviours.
    gate: Gate,
    pub frames: libp2p_stream::Behaviour,
    requests: request_response::Behaviour<BytesCodec>,
}

pub struct Limits {
    pub request_timeout: Duration,
    pub redial_min: Duration,
    pub redial_max: Duration,
    pub max_response_bytes: usize,
}

pub fn build(
    keypair: identity::Keypair,
    peers: Arc<Peers>,
    codec: BytesCodec,
    request_timeout: Duration,
) -> Result<Swarm<Behaviour>, NetError> {
    let transport_error = |e: &dyn std::fmt::Display| NetError::Transport(e.to_string());
    let requests = request_response::Behaviour::with_codec(
        codec,
        [(REQUEST_PROTOCOL, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(request_timeout)
            .with_max_concurrent_streams(MAX_CONCURRENT_REQUESTS),
    );
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(tcp_transport)
        .map_err(|e| transport_error(&e))?
        // Validators may be listed by DNS name (`/dns4/node1.example.org/tcp/8100`);
        // names are resolved with the system's resolver at every dial.
        .with_dns()
        .map_err(|e| transport_error(&e))?
        .with_behaviour(|_| Behaviour {
            gate: Gate::new(peers),
            frames: libp2p_stream::Behaviour::new(),
            requests,
        })
        .map_err(|e| transport_error(&e))?
        // Validators stay connected whether or not a stream is open right now.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(u64::MAX)))
        .build();
    Ok(swarm)
}

/// TCP with noise and yamux, as `SwarmBuilder::with_tcp` makes it, plus the two
/// limits above: every connection, dialled or accepted, gets
/// [`SILENT_PEER_TIMEOUT`], and every dial [`DIAL_TIMEOUT`].
fn tcp_transport(
    keypair: &identity::Keypair,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true)).map(
        |stream: tcp::tokio::TcpStream, _| {
            if let Err(error) =
                socket2::SockRef::from(&stream.0).set_tcp_user_timeout(Some(SILENT_PEER_TIMEOUT))
            {
                tracing::warn!(%error, "TCP_USER_TIMEOUT not set; a cut-off peer is noticed late");
            }
            stream
        },
    );
    let upgraded = tcp
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(noise::Config::new(keypair)?)
        .multiplex(yamux::Config::default());
    Ok(
        TransportTimeout::with_outgoing_timeout(upgraded, DIAL_TIMEOUT)
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
    )
}

/// When to dial a peer next.
struct Dialer {
    backoff: Duration,
    next_at: Instant,
    connected_at: Option<Instant>,
}

pub struct SwarmTask {
    pub swarm: Swarm<Behaviour>,
    pub peers: Arc<Peers>,
    pub commands: mpsc::Receiver<Command>,
    pub events: mpsc::Sender<NetEvent>,
    pub limits: Limits,
    pub shutdown: Shutdown,
    backlog: VecDeque<NetEvent>,
    outbound: HashMap<OutboundRequestId, (ReplicaId, RequestReply)>,
    answers: FuturesUnordered<requests::PendingAnswer>,
    unagreed: FuturesUnordered<requests::WaitingRequest>,
    dialers: Vec<Dialer>,
}

impl SwarmTask {
    pub fn new(
        swarm: Swarm<Behaviour>,
        peers: Arc<Peers>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetEvent>,
        limits: Limits,
        shutdown: Shutdown,
    ) -> Self {
        SwarmTask {
            swarm,
            peers,
            commands,
            events,
            limits,
            shutdown,
            backlog: VecDeque::new(),
            outbound: HashMap::new(),
            answers: FuturesUnordered::new(),
            unagreed: FuturesUnordered::new(),
            dialers: Vec::new(),
        }
    }

    /// The dialer of `replica`, made when the roster gained it. Both sides dial each
    /// other; the higher id waits one backoff first, so that usually one connection
    /// forms instead of two (a node not on the roster yet counts as the highest).
    fn dialer(&mut self, replica: ReplicaId) -> &mut Dialer {
        let now = Instant::now();
        let me = self.peers.me();
        let min = self.limits.redial_min;
        while self.dialers.len() <= replica.index() {
            let peer = ReplicaId(self.dialers.len() as u32);
            let first = me.is_some_and(|me| me < peer);
            self.dialers.push(Dialer {
                backoff: min,
                next_at: if first { now } else { now + min },
                connected_at: None,
            });
        }
        &mut self.dialers[replica.index()]
    }

    pub async fn run(mut self) {
        let tick = (self.limits.redial_min / 2)
            .clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => break,
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(command) = self.commands.recv() => self.on_command(command),
                Some((channel, answer)) = self.answers.next(), if !self.answers.is_empty() => {
                    self.on_answer(channel, answer)
                }
                Some(waited) = self.unagreed.next(), if !self.unagreed.is_empty() => {
                    self.on_waited_request(waited)
                }
                // An owned permit, so that the branch does not hold `self` borrowed.
                permit = self.events.clone().reserve_owned(), if !self.backlog.is_empty() => {
                    match permit {
                        Ok(permit) => {
                            if let Some(event) = self.backlog.pop_front() {
                                permit.send(event);
                            }
                        }
                        Err(_) => break, // the node dropped its receiver
                    }
                }
                _ = ticks.tick() => self.redial(),
            }
        }
        self.stop();
    }

    fn stop(&mut self) {
        for (_, slot) in self.peers.others() {
            slot.connected.send_replace(false);
        }
        let connected: Vec<_> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        tracing::info!(me = ?self.peers.me().map(|me| me.0), "network stopped");
    }

    fn redial(&mut self) {
        let now = Instant::now();
        let peers = self.peers.clone();
        let redial_max = self.limits.redial_max;
        for (replica, slot) in peers.others() {
            if !peers.dialled(replica) {
                continue;
            }
            let dialer = self.dialer(replica);
            if *slot.connected.borrow() || now < dialer.next_at || peers.is_banned(replica, now) {
                continue;
            }
            let Some(validator) = peers.validator(replica) else {
                continue;
            };
            let backoff = dialer.backoff;
            dialer.next_at = now + backoff;
            dialer.backoff = (backoff * 2).min(redial_max);
            let opts = DialOpts::peer_id(validator.peer_id)
                .addresses(vec![validator.addr])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            tracing::debug!(
                peer = replica.0,
                backoff_ms = backoff.as_millis() as u64,
                "dialling"
            );
            if let Err(error) = self.swarm.dial(opts) {
                tracing::debug!(peer = replica.0, %error, "dial not started");
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                endpoint,
                ..
            } => {
                let Some(replica) = self.peers.replica(&peer_id) else {
                    return;
                };
                tracing::debug!(peer = replica.0, addr = %endpoint.get_remote_address(), "connection established");
                if num_established.get() == 1 {
                    tracing::info!(me = ?self.peers.me().map(|me| me.0), peer = replica.0, "connected");
                    self.dialer(replica).connected_at = Some(Instant::now());
                    if let Some(slot) = self.peers.slot(replica) {
                        // A new connection must show the genesis again (the peer may
                        // have restarted with another).
                        slot.agreed.send_replace(false);
                        slot.connected.send_replace(true);
                    }
                    self.emit(NetEvent::Connected(replica));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                let Some(replica) = self.peers.replica(&peer_id) else {
                    return;
                };
                if num_established == 0 {
                    let cause = cause
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "closed".into());
                    tracing::info!(me = ?self.peers.me().map(|me| me.0), peer = replica.0, %cause, "disconnected");
                    self.on_disconnected(replica);
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer_id),
                error,
                ..
            } => {
                let replica = self.peers.replica(&peer_id).map(|r| r.0);
                tracing::debug!(peer = ?replica, %error, "dial failed");
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                tracing::debug!(%send_back_addr, %error, "inbound connection refused or failed");
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(me = ?self.peers.me().map(|me| me.0), %address, "listening");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Requests(event)) => self.on_request_event(event),
            _ => {}
        }
    }

    fn on_disconnected(&mut self, replica: ReplicaId) {
        let now = Instant::now();
        if let Some(slot) = self.peers.slot(replica) {
            slot.agreed.send_replace(false);
            slot.connected.send_replace(false);
        }
        let redial_min = self.limits.redial_min;
        let dialer = self.dialer(replica);
        let stable = dialer
            .connected_at
            .take()
            .is_some_and(|at| now.duration_since(at) >= STABLE_CONNECTION);
        if stable {
            dialer.backoff = redial_min;
        }
        dialer.next_at = now + dialer.backoff;
        self.emit(NetEvent::Disconnected(replica));
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Request { to, bytes, reply } => self.on_request_command(to, bytes, reply),
            Command::Disconnect(replica) => {
                if let Some(validator) = self.peers.validator(replica) {
                    let _ = self.swarm.disconnect_peer_id(validator.peer_id);
                }
            }
        }
    }

    /// Hands an event to the node, or keeps it until there is room. Returns false if
    /// the event was dropped because the backlog is full too.
    fn emit(&mut self, event: NetEvent) -> bool {
        if self.backlog.is_empty() {
            match self.events.try_send(event) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
                Err(mpsc::error::TrySendError::Full(event)) => self.backlog.push_back(event),
            }
            return true;
        }
        if self.backlog.len() >= EVENT_BACKLOG {
            tracing::warn!(
                "event backlog full: the node is not reading network events; one dropped"
            );
            return false;
        }
        self.backlog.push_back(event);
        true
    }
}
