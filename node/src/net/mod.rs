//! TEMPORARY STUB (replaced by the net branch).
use consensus::ReplicaId;
use std::time::Duration;
pub struct NetConfig {
    pub key: crypto::SigningKey,
    pub me: ReplicaId,
    pub validators: Vec<(crypto::PublicKey, String)>,
    pub listen: String,
    pub max_frame_bytes: usize,
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
    pub peer_queue: usize,
    pub redial_min: Duration,
    pub redial_max: Duration,
    pub request_timeout: Duration,
}
pub enum NetEvent {
    Message {
        from: ReplicaId,
        bytes: Vec<u8>,
    },
    Request {
        from: ReplicaId,
        bytes: Vec<u8>,
        reply: tokio::sync::oneshot::Sender<Vec<u8>>,
    },
    Connected(ReplicaId),
    Disconnected(ReplicaId),
}
#[derive(Debug, thiserror::Error)]
#[error("net")]
pub struct NetError;
#[derive(Clone)]
pub struct NetHandle;
impl NetHandle {
    pub fn send(&self, _to: ReplicaId, _frame: bytes::Bytes) {}
    pub fn broadcast(&self, _frame: bytes::Bytes) {}
    pub async fn request(&self, _to: ReplicaId, _bytes: Vec<u8>) -> Result<Vec<u8>, NetError> {
        Err(NetError)
    }
    pub fn punish(&self, _peer: ReplicaId, _reason: &str) {}
    pub fn shutdown(&self) {}
}
pub async fn start(
    _config: NetConfig,
) -> Result<(NetHandle, tokio::sync::mpsc::Receiver<NetEvent>), NetError> {
    Err(NetError)
}
