//! Request-response inside the swarm task: a request from the node goes to libp2p, a
//! request from a peer goes to the node with a oneshot to answer through, and failures
//! come back as typed [`NetError`]s.

use super::{NetEvent, RequestReply, SwarmTask};
use crate::net::codec::OverLimit;
use crate::net::NetError;
use consensus::ReplicaId;
use futures::future::BoxFuture;
use futures::FutureExt;
use libp2p::request_response::{self, OutboundFailure, ResponseChannel};
use tokio::sync::oneshot;

/// A peer's request waiting for the node's answer (`None`: no answer in time).
pub type PendingAnswer = BoxFuture<'static, (ResponseChannel<Vec<u8>>, Option<Vec<u8>>)>;

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
                    if let Some((_, reply)) = self.outbound.remove(&request_id) {
                        let _ = reply.send(Ok(response));
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

    fn on_inbound_request(
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
