//! Request-response inside the swarm task: a request from the node goes to libp2p, a
//! request from a peer goes to the node with a oneshot to answer through, and failures
//! come back as typed [`NetError`]s.
//!
//! Fetches flow only with agreed peers (those that showed our genesis hash in a hello
//! on their current connection, [`crate::net::hello`]): no request goes to another,
//! no answer of another is delivered, and a request of another is refused. A request
//! that arrives while the hello is still under way (it runs on its own stream, so it
//! may lose the race) waits for it, at most `HELLO_TIMEOUT` or `request_timeout`, in a
//! bounded set.

use super::{NetEvent, RequestReply, SwarmTask};
use crate::net::codec::OverLimit;
use crate::net::hello::HELLO_TIMEOUT;
use crate::net::NetError;
use consensus::ReplicaId;
use futures::future::BoxFuture;
use futures::FutureExt;
use libp2p::request_response::{self, OutboundFailure, ResponseChannel};
use tokio::sync::oneshot;

/// A peer's request waiting for the node's answer (`None`: no answer in time).
pub type PendingAnswer = BoxFuture<'static, (ResponseChannel<Vec<u8>>, Option<Vec<u8>>)>;

/// A peer's request waiting for its sender to agree; the `bool` says whether it did.
pub type WaitingRequest = BoxFuture<'static, (ReplicaId, Vec<u8>, ResponseChannel<Vec<u8>>, bool)>;

/// Requests waiting for their sender's hello, from all peers together.
const MAX_UNAGREED_REQUESTS: usize = 64;

impl SwarmTask {
    pub(super) fn on_request_command(
        &mut self,
        to: ReplicaId,
        bytes: Vec<u8>,
        reply: RequestReply,
    ) {
        let validator = match self.peers.validator(to) {
            Some(validator) if Some(to) != self.peers.me() => validator,
            _ => {
                let _ = reply.send(Err(NetError::UnknownPeer { peer: to }));
                return;
            }
        };
        if !self.swarm.is_connected(&validator.peer_id) {
            let _ = reply.send(Err(NetError::NotConnected { peer: to }));
            return;
        }
        if !self.peers.is_agreed(to) {
            let _ = reply.send(Err(NetError::NotAgreed { peer: to }));
            return;
        }
        let id = self
            .swarm
            .behaviour_mut()
            .requests
            .send_request(&validator.peer_id, bytes);
        self.outbound.insert(id, (to, reply));
    }

    pub(super) fn on_request_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let Some(from) = self.peers.replica(&peer) else {
                        return;
                    };
                    self.on_inbound_request(from, request, channel);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((from, reply)) = self.outbound.remove(&request_id) {
                        let _ = reply.send(self.agreed_answer(from, response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some((peer, reply)) = self.outbound.remove(&request_id) {
                    tracing::debug!(peer = peer.0, %error, "request failed");
                    let _ = reply.send(Err(request_error(
                        peer,
                        error,
                        self.limits.max_response_bytes,
                    )));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                let replica = self.peers.replica(&peer).map(|r| r.0);
                tracing::debug!(peer = ?replica, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// An answer is delivered only if its sender is still agreed (it may have been
    /// banned, or have reconnected without a hello, since the request left).
    fn agreed_answer(&self, from: ReplicaId, bytes: Vec<u8>) -> Result<Vec<u8>, NetError> {
        if self.peers.is_agreed(from) {
            return Ok(bytes);
        }
        tracing::debug!(
            peer = from.0,
            "answer of a peer not agreed on the genesis dropped"
        );
        Err(NetError::NotAgreed { peer: from })
    }

    fn on_inbound_request(
        &mut self,
        from: ReplicaId,
        bytes: Vec<u8>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        let Some(slot) = self.peers.slot(from) else {
            return;
        };
        if *slot.agreed.borrow() {
            return self.on_agreed_request(from, bytes, channel);
        }
        if self.unagreed.len() >= MAX_UNAGREED_REQUESTS || !*slot.connected.borrow() {
            return self.refuse_request(from);
        }
        let mut agreed = slot.agreed.subscribe();
        // libp2p drops the request after `request_timeout` anyway.
        let wait = HELLO_TIMEOUT.min(self.limits.request_timeout);
        self.unagreed.push(
            async move {
                let waited = tokio::time::timeout(wait, agreed.wait_for(|a| *a)).await;
                let agreed = matches!(waited, Ok(Ok(_)));
                (from, bytes, channel, agreed)
            }
            .boxed(),
        );
    }

    pub(super) fn on_waited_request(
        &mut self,
        (from, bytes, channel, agreed): (ReplicaId, Vec<u8>, ResponseChannel<Vec<u8>>, bool),
    ) {
        // Checked again: the peer may have been banned since it agreed.
        if agreed && self.peers.is_agreed(from) {
            self.on_agreed_request(from, bytes, channel);
        } else {
            self.refuse_request(from); // dropping `channel` tells the peer no
        }
    }

    /// Counts and logs a request of a peer not agreed on the genesis; it is not served.
    fn refuse_request(&self, from: ReplicaId) {
        let refused = self.peers.count_refused_request();
        tracing::debug!(
            peer = from.0,
            refused,
            "request of a peer not agreed on the genesis refused"
        );
    }

    fn on_agreed_request(
        &mut self,
        from: ReplicaId,
        bytes: Vec<u8>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        let (reply, answer) = oneshot::channel();
        if !self.emit(NetEvent::Request { from, bytes, reply }) {
            return; // dropping `channel` tells the peer no
        }
        let timeout = self.limits.request_timeout;
        self.answers.push(
            async move {
                let answer = tokio::time::timeout(timeout, answer)
                    .await
                    .ok()
                    .and_then(Result::ok);
                (channel, answer)
            }
            .boxed(),
        );
    }

    pub(super) fn on_answer(&mut self, channel: ResponseChannel<Vec<u8>>, answer: Option<Vec<u8>>) {
        let Some(bytes) = answer else { return };
        if bytes.len() > self.limits.max_response_bytes {
            tracing::warn!(
                len = bytes.len(),
                max = self.limits.max_response_bytes,
                "response over the limit not sent"
            );
            return;
        }
        let _ = self
            .swarm
            .behaviour_mut()
            .requests
            .send_response(channel, bytes);
    }
}

fn request_error(peer: ReplicaId, error: OutboundFailure, max: usize) -> NetError {
    match error {
        OutboundFailure::Timeout => NetError::Timeout { peer },
        OutboundFailure::DialFailure | OutboundFailure::ConnectionClosed => {
            NetError::NotConnected { peer }
        }
        OutboundFailure::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<OverLimit>()) => {
            NetError::ResponseTooLarge { peer, max }
        }
        OutboundFailure::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            NetError::NoResponse { peer }
        }
        other => NetError::RequestFailed {
            peer,
            reason: other.to_string(),
        },
    }
}
