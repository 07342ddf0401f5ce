//! `GET /evidence` and `GET /evidence/{id}`: the misbehaviour this node kept proof
//! of ([`crate::evidence`]), newest first. A record shows the accused validator's
//! signed messages whole (payload and signature in hex), so a reader checks them
//! against the validator's key instead of trusting this node.

use super::error::ApiError;
use super::read_chain;
use crate::evidence::EvidenceRecord;
use crate::shared::Shared;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use crypto::{Canonical, PublicKey, Signature};
use ledger::store::MAX_EVIDENCE_PAGE;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Records a page holds when `limit` is not given.
pub const DEFAULT_EVIDENCE_PAGE: usize = 20;

/// `GET /evidence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceList {
    /// Newest first.
    pub evidence: Vec<EvidenceSummary>,
    /// The `before` of the next page, when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// A record without its messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSummary {
    pub id: u64,
    /// `consensus::Fault::kind`: `equivocating_primary`, `wrong_state_root`, …
    pub kind: String,
    /// The roster id of the accused validator.
    pub accused: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accused_key: Option<PublicKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub detected_at_ms: u64,
    pub detail: String,
}

/// `GET /evidence/{id}`: a record whole. (serde cannot deny unknown fields beside
/// a flattened one.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceInfo {
    #[serde(flatten)]
    pub summary: EvidenceSummary,
    /// The accused validator's signed messages.
    pub messages: Vec<EvidenceMessage>,
}

/// One signed consensus message, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceMessage {
    /// The sender's roster id.
    pub replica: u32,
    /// `pre-prepare`, `prepare`, `commit`, …: also the `kind` of the signing
    /// domain (DESIGN.md section 3).
    pub kind: String,
    /// The message's canonical bytes, in hex: what the signature covers.
    pub payload: String,
    pub signature: Signature,
}

/// The query of `GET /evidence`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    before: Option<u64>,
    limit: Option<usize>,
}

fn decode(id: u64, bytes: &[u8]) -> Result<EvidenceRecord, ApiError> {
    EvidenceRecord::from_canonical_bytes(bytes)
        .map_err(|e| ApiError::internal(format!("the evidence record {id} does not decode: {e}")))
}

fn summary(id: u64, record: &EvidenceRecord) -> EvidenceSummary {
    EvidenceSummary {
        id,
        kind: record.kind.as_str().to_owned(),
        accused: record.accused,
        accused_key: record.accused_key,
        view: record.view,
        seq: record.seq,
        detected_at_ms: record.detected_at_ms,
        detail: record.detail.as_str().to_owned(),
    }
}

/// `GET /evidence?before=&limit=`.
pub async fn evidence_list(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<EvidenceQuery>, QueryRejection>,
) -> Result<Json<EvidenceList>, ApiError> {
    let Query(query) = query?;
    let limit = match query.limit {
        Some(0) => return Err(ApiError::bad_request("limit must be at least 1")),
        Some(limit) => limit.min(MAX_EVIDENCE_PAGE),
        None => DEFAULT_EVIDENCE_PAGE,
    };
    let before = query.before;
    read_chain(&shared, move |_, chain| {
        let page = chain.evidence_page(before, limit)?;
        let mut evidence = Vec::with_capacity(page.len());
        for (id, bytes) in &page {
            evidence.push(summary(*id, &decode(*id, bytes)?));
        }
        let next = match evidence.last() {
            Some(last) if evidence.len() == limit && last.id > 1 => Some(last.id),
            _ => None,
        };
        Ok(EvidenceList { evidence, next })
    })
    .await
    .map(Json)
}

/// `GET /evidence/{id}`.
pub async fn evidence(
    State(shared): State<Arc<Shared>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<EvidenceInfo>, ApiError> {
    let text = id?.0;
    let id: u64 = text.parse().map_err(|e| {
        ApiError::bad_request(format!("{text:?} is not an evidence id (a decimal): {e}"))
    })?;
    read_chain(&shared, move |_, chain| {
        let bytes = chain
            .evidence(id)?
            .ok_or_else(|| ApiError::not_found(format!("no evidence record {id}")))?;
        let record = decode(id, &bytes)?;
        let messages = record
            .messages
            .iter()
            .map(|signed| EvidenceMessage {
                replica: signed.sender.0,
                kind: signed.kind.domain_kind().to_owned(),
                payload: hex::encode(&*signed.payload),
                signature: signed.signature,
            })
            .collect();
        Ok(EvidenceInfo {
            summary: summary(id, &record),
            messages,
        })
    })
    .await
    .map(Json)
}
