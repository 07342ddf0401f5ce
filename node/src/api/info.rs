//! The node's routes: health, status, consensus, validators, peers, checkpoints,
//! metrics.

use super::error::ApiError;
use super::read;
use super::types::{
    CheckpointInfo, ConsensusInfo, Health, PeerEntry, PeersInfo, StatusInfo, ValidatorEntry,
    ValidatorsInfo,
};
use crate::shared::Shared;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use consensus::ReplicaId;
use ledger::Address;
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// The content type of the Prometheus text exposition.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn read_lock<'a, T>(lock: &'a RwLock<T>, what: &str) -> Result<RwLockReadGuard<'a, T>, ApiError> {
    lock.read()
        .map_err(|_| ApiError::internal(format!("the {what} lock is poisoned")))
}

/// `GET /health`.
pub async fn health() -> Json<Health> {
    Json(Health { ok: true })
}

/// `GET /status`.
pub async fn status(State(shared): State<Arc<Shared>>) -> Result<Json<StatusInfo>, ApiError> {
    read(&shared, |shared, store| {
        let tip = store.tip();
        let validators = store.validators().len();
        let pool_size = shared
            .mempool
            .lock()
            .map_err(|_| ApiError::internal("the mempool lock is poisoned"))?
            .len();
        let consensus = read_lock(&shared.consensus, "consensus")?.clone();
        let peers_connected = read_lock(&shared.connected, "connected peers")?.len();
        Ok(StatusInfo {
            chain_id: shared.genesis.chain_id.to_string(),
            genesis_hash: shared.genesis_hash,
            replica: shared.me.0,
            public_key: shared.public_key,
            height: tip.height,
            tip_hash: tip.hash,
            view: consensus.view,
            primary: consensus.primary,
            is_primary: consensus.primary == shared.me.0,
            changing_view: consensus.changing_view,
            low_watermark: consensus.low_watermark,
            high_watermark: consensus.high_watermark,
            pool_size,
            peers_connected,
            validators,
            catching_up: consensus.recovery.is_some(),
            target_height: consensus
                .recovery
                .as_ref()
                .and_then(|r| r.target_height)
                .map_or(tip.height, |target| target.max(tip.height)),
            uptime_ms: shared.started.elapsed().as_millis() as u64,
        })
    })
    .await
    .map(Json)
}

/// `GET /consensus`.
pub async fn consensus_info(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<ConsensusInfo>, ApiError> {
    Ok(Json(read_lock(&shared.consensus, "consensus")?.clone()))
}

/// `GET /validators`: the committed validator set.
pub async fn validators(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<ValidatorsInfo>, ApiError> {
    read(&shared, |_, store| {
        let set = store.validators();
        let n = set.len();
        Ok(ValidatorsInfo {
            // Membership change is not built yet (DESIGN.md section 6): the genesis
            // set holds from height 0.
            since_height: 0,
            f: consensus::max_faulty(n),
            quorum: consensus::quorum(n),
            validators: set
                .iter()
                .enumerate()
                .map(|(i, v)| ValidatorEntry {
                    replica: i as u32,
                    public_key: v.public_key,
                    address: Address::of(&v.public_key),
                    p2p_addr: v.p2p_addr.to_string(),
                })
                .collect(),
        })
    })
    .await
    .map(Json)
}

/// `GET /peers`: every other validator and whether it is connected.
pub async fn peers(State(shared): State<Arc<Shared>>) -> Result<Json<PeersInfo>, ApiError> {
    read(&shared, |shared, store| {
        let connected = read_lock(&shared.connected, "connected peers")?;
        let peers = store
            .validators()
            .iter()
            .enumerate()
            .map(|(i, v)| (ReplicaId(i as u32), v))
            .filter(|(id, _)| *id != shared.me)
            .map(|(id, v)| PeerEntry {
                replica: id.0,
                public_key: v.public_key,
                p2p_addr: v.p2p_addr.to_string(),
                connected: connected.contains(&id),
            })
            .collect();
        Ok(PeersInfo { peers })
    })
    .await
    .map(Json)
}

/// `GET /checkpoints/latest`.
pub async fn latest_checkpoint(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<CheckpointInfo>, ApiError> {
    let stable = read_lock(&shared.stable_checkpoint, "stable checkpoint")?.clone();
    if let Some(checkpoint) = stable {
        return Ok(Json(CheckpointInfo {
            height: checkpoint.seq.0,
            block_hash: checkpoint.block_hash,
            signers: checkpoint.proof.iter().map(|m| m.sender.0).collect(),
        }));
    }
    read(&shared, |_, store| {
        let genesis = store
            .block(0)?
            .ok_or_else(|| ApiError::internal("the store lacks the genesis block"))?;
        Ok(CheckpointInfo {
            height: 0,
            block_hash: genesis.hash(),
            signers: Vec::new(),
        })
    })
    .await
    .map(Json)
}

/// `GET /metrics`.
pub async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
        shared.metrics.encode(),
    )
}
