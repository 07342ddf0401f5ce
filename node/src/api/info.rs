//! The node's routes: health, status, consensus, the pool, validators, peers, the
//! latest stable checkpoint (with its signed proof), the genesis, metrics.

use super::error::ApiError;
use super::types::{
    CheckpointInfo, ConsensusInfo, GenesisInfo, Health, PeerEntry, PeersInfo, PoolInfo,
    SignedCheckpoint, StatusInfo, ValidatorsInfo,
};
use super::{read, read_chain};
use crate::shared::Shared;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
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
        let membership = shared.membership();
        let epoch = membership.at(consensus::SeqNo(tip.height + 1));
        let validators = epoch.n();
        let member = shared.me().is_some_and(|me| epoch.contains(me));
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
            replica: shared.me().map(|me| me.0),
            member,
            public_key: shared.public_key,
            height: tip.height,
            tip_hash: tip.hash,
            view: consensus.view,
            primary: consensus.primary,
            is_primary: member && Some(consensus.primary) == shared.me().map(|me| me.0),
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

/// `GET /pool`: the pool's counts, nothing that walks it. On the blocking pool:
/// the driver may hold the pool's lock through a commit.
pub async fn pool(State(shared): State<Arc<Shared>>) -> Result<Json<PoolInfo>, ApiError> {
    read_chain(&shared, |shared, _| {
        let summary = shared
            .mempool
            .lock()
            .map_err(|_| ApiError::internal("the mempool lock is poisoned"))?
            .summary(Shared::now_ms());
        Ok(PoolInfo {
            txs: summary.txs,
            bytes: summary.bytes,
            max_txs: summary.max_txs,
            max_bytes: summary.max_bytes,
            proposed: summary.proposed,
            senders: summary.senders,
            oldest_age_ms: summary.oldest_age_ms,
            dropped_remembered: summary.dropped_remembered,
            admit_limit: summary.admit_limit,
            drain_per_s: summary.drain_per_s,
        })
    })
    .await
    .map(Json)
}

/// `GET /validators`: the membership the ledger records (see [`super::membership`]).
pub async fn validators(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<ValidatorsInfo>, ApiError> {
    read(&shared, |shared, store| {
        let params = &shared.genesis.consensus;
        // Straight from the ledger the lock holds (the driver's copy may lag it by
        // a round).
        let membership = crate::membership::of_store(&shared.genesis, store)
            .map_err(|e| ApiError::internal(format!("the governance history: {e}")))?;
        Ok(super::membership::validators_info(
            &membership,
            store,
            params.checkpoint_interval,
            params.log_window,
        ))
    })
    .await
    .map(Json)
}

/// `GET /peers`: every other validator and whether it is connected.
pub async fn peers(State(shared): State<Arc<Shared>>) -> Result<Json<PeersInfo>, ApiError> {
    read(&shared, |shared, store| {
        let connected = read_lock(&shared.connected, "connected peers")?;
        let membership = shared.membership();
        let roster = crate::membership::net_roster(&membership, store);
        let me = shared.me();
        // The validators this node dials: those ordering a height above its tip.
        let peers = crate::membership::to_dial(&membership, store.tip().height)
            .into_iter()
            .filter(|id| Some(*id) != me)
            .filter_map(|id| {
                let (key, addr) = roster.get(id.index())?;
                Some(PeerEntry {
                    replica: id.0,
                    public_key: *key,
                    p2p_addr: addr.clone(),
                    connected: connected.contains(&id),
                })
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
        let membership = shared.membership();
        let proof = checkpoint
            .proof
            .iter()
            .map(|signed| {
                // Senders are roster ids, stable across membership changes; the
                // replica checked every signature before the proof became stable.
                let public_key = membership.key_of(signed.sender).ok_or_else(|| {
                    ApiError::internal(format!(
                        "the stable checkpoint at {} is signed by {}, who is not on the roster",
                        checkpoint.seq.0, signed.sender
                    ))
                })?;
                Ok(SignedCheckpoint {
                    replica: signed.sender.0,
                    public_key: *public_key,
                    payload: hex::encode(&*signed.payload),
                    signature: signed.signature,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        return Ok(Json(CheckpointInfo {
            height: checkpoint.seq.0,
            block_hash: checkpoint.block_hash,
            signers: checkpoint.proof.iter().map(|m| m.sender.0).collect(),
            proof,
        }));
    }
    read_chain(&shared, |_, chain| {
        let genesis = chain
            .block(0)?
            .ok_or_else(|| ApiError::internal("the store lacks the genesis block"))?;
        Ok(CheckpointInfo {
            height: 0,
            block_hash: genesis.hash(),
            signers: Vec::new(),
            proof: Vec::new(),
        })
    })
    .await
    .map(Json)
}

/// `GET /genesis`: the document as this node loaded it. A genesis may fund many
/// accounts, so it is encoded on the blocking pool.
pub async fn genesis(State(shared): State<Arc<Shared>>) -> Result<impl IntoResponse, ApiError> {
    let body = read_chain(&shared, |shared, _| {
        serde_json::to_vec(&GenesisInfo {
            hash: shared.genesis_hash,
            genesis: shared.genesis.clone(),
        })
        .map_err(|e| ApiError::internal(format!("encoding the genesis: {e}")))
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body))
}

/// `GET /metrics`.
pub async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
        shared.metrics.encode(),
    )
}
