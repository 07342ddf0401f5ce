//! The gate: a behaviour that only lets validators in: any key on the roster, which
//! grows while the node runs. A connection whose Noise handshake authenticated anyone
//! else, or a validator serving a punishment, is denied
//! before any protocol runs on it, so its frames never reach the node. It also tells
//! the swarm where each validator lives, and bounds connections per peer and the
//! handshakes in progress (anyone can start one, before we know who they are).

use super::peers::Peers;
use libp2p::core::{transport::PortUse, Endpoint, Multiaddr};
use libp2p::swarm::{
    dummy, ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::PeerId;
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// Two validators that dial each other at once end up with two connections; more
/// than that is waste or abuse.
pub const MAX_CONNECTIONS_PER_PEER: usize = 2;
/// Inbound connections still in their Noise handshake.
pub const MAX_PENDING_INBOUND: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0} is not a validator")]
    NotAValidator(PeerId),
    #[error("{0} is serving a punishment")]
    Punished(PeerId),
    #[error("{0} already has {MAX_CONNECTIONS_PER_PEER} connections")]
    TooManyConnections(PeerId),
    #[error("that is us")]
    Ourselves,
    #[error("{MAX_PENDING_INBOUND} inbound handshakes already in progress")]
    TooManyHandshakes,
}

pub struct Gate {
    peers: Arc<Peers>,
    established: HashMap<PeerId, usize>,
    pending_inbound: HashSet<ConnectionId>,
}

impl Gate {
    pub fn new(peers: Arc<Peers>) -> Self {
        Gate {
            peers,
            established: HashMap::new(),
            pending_inbound: HashSet::new(),
        }
    }

    fn admit(&self, peer: PeerId) -> Result<dummy::ConnectionHandler, ConnectionDenied> {
        let refused = match self.peers.replica(&peer) {
            _ if peer == self.peers.local => Refused::Ourselves,
            None => Refused::NotAValidator(peer),
            Some(replica) if self.peers.is_banned(replica, Instant::now()) => {
                Refused::Punished(peer)
            }
            Some(_)
                if self.established.get(&peer).copied().unwrap_or(0)
                    >= MAX_CONNECTIONS_PER_PEER =>
            {
                Refused::TooManyConnections(peer)
            }
            Some(_) => return Ok(dummy::ConnectionHandler),
        };
        tracing::debug!(%peer, reason = %refused, "connection refused");
        Err(ConnectionDenied::new(refused))
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        if self.pending_inbound.len() >= MAX_PENDING_INBOUND {
            tracing::debug!("inbound connection refused: too many handshakes in progress");
            return Err(ConnectionDenied::new(Refused::TooManyHandshakes));
        }
        self.pending_inbound.insert(connection_id);
        Ok(())
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        _effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        let Some(peer) = maybe_peer else {
            return Ok(vec![]);
        };
        let Some(replica) = self.peers.replica(&peer) else {
            return Err(ConnectionDenied::new(Refused::NotAValidator(peer)));
        };
        if self.peers.is_banned(replica, Instant::now()) {
            return Err(ConnectionDenied::new(Refused::Punished(peer)));
        }
        // Dials made by other behaviours (request-response, streams) name only the peer.
        match self.peers.validator(replica) {
            Some(validator) if addresses.is_empty() => Ok(vec![validator.addr]),
            _ => Ok(vec![]),
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.pending_inbound.remove(&connection_id);
        self.admit(peer)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(peer)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            // Every inbound connection that does not become established ends here.
            FromSwarm::ListenFailure(failure) => {
                self.pending_inbound.remove(&failure.connection_id);
            }
            FromSwarm::ConnectionEstablished(established) => {
                *self.established.entry(established.peer_id).or_default() += 1;
            }
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                remaining_established,
                ..
            }) => {
                if remaining_established == 0 {
                    self.established.remove(&peer_id);
                } else {
                    self.established.insert(peer_id, remaining_established);
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        libp2p::core::util::unreachable(event)
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
