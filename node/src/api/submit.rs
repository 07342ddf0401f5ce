//! `POST /txs`: one transaction or an array of them, admitted through
//! [`crate::admit::submit`] (DESIGN.md section 8).
//!
//! The body is parsed here rather than by axum's `Json` extractor: `SubmitBody` is
//! an untagged enum, whose errors only say "did not match any variant". Looking at
//! the first byte and parsing the one shape it announces gives serde_json's precise
//! message instead (the unknown field, the bad hex, the number out of range, with
//! line and column). The content type is not checked, so `curl -d` works.

use super::error::ApiError;
use super::types::{SubmitResult, Submitted, SubmittedMany};
use crate::admit::{self, Origin};
use crate::mempool::{AdmitError, Source};
use crate::shared::Shared;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use crypto::Hash;
use ledger::SignedTransaction;
use std::sync::Arc;

/// What the body held.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Submission {
    One(Box<SignedTransaction>),
    Many(Vec<SignedTransaction>),
}

fn json_error(error: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Syntax | Category::Eof => "malformed JSON",
        Category::Data | Category::Io => "not a valid transaction",
    };
    // serde_json reads an integer above 2^64 - 1 as a float, so an amount or nonce
    // out of range is reported as "invalid type: floating point"; say what it means.
    let hint = if error.to_string().contains("floating point") {
        " (amounts and nonces are integers from 0 to 2^64 - 1: out of range)"
    } else {
        ""
    };
    ApiError::bad_request(format!("{what}: {error}{hint}"))
}

/// Parses a `POST /txs` body of at most `max_txs` transactions (the fuzz target
/// `submit_body` runs this).
pub(crate) fn parse(body: &[u8], max_txs: usize) -> Result<Submission, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => serde_json::from_slice(body)
            .map(Submission::One)
            .map_err(json_error),
        Some(b'[') => {
            let txs: Vec<SignedTransaction> = serde_json::from_slice(body).map_err(json_error)?;
            if txs.is_empty() {
                return Err(ApiError::bad_request("the array holds no transaction"));
            }
            if txs.len() > max_txs {
                return Err(ApiError::bad_request(format!(
                    "{} transactions in one request; at most {max_txs} (api.max_txs_per_request)",
                    txs.len()
                )));
            }
            Ok(Submission::Many(txs))
        }
        Some(_) => Err(ApiError::bad_request(
            "the body must be a JSON transaction object or an array of them",
        )),
        None => Err(ApiError::bad_request(
            "the body is empty: send a JSON transaction object or an array of them",
        )),
    }
}

fn body_error(rejection: BytesRejection, max_body_bytes: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge(format!(
            "the request body is larger than {max_body_bytes} bytes (api.max_body_bytes)"
        ))
    } else {
        ApiError::bad_request(format!("cannot read the body: {}", rejection.body_text()))
    }
}

/// `POST /txs`.
pub async fn submit(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let limits = &shared.config.api;
    let body = body.map_err(|r| body_error(r, limits.max_body_bytes))?;
    // A full or busy pool refuses before the body is even parsed (429): under
    // more load than the network carries, refusing must cost next to nothing.
    let config = &shared.config.mempool;
    let (client_max, _) = config.to_config().limits_for(Source::Client);
    let pooled = shared.metrics.pool_size.get().max(0) as usize;
    if pooled >= client_max {
        return Err(AdmitError::Full {
            txs: pooled,
            bytes: shared.metrics.pool_bytes.get().max(0) as usize,
        }
        .into());
    }
    let admit_limit = shared.metrics.pool_admit_limit.get().max(0) as usize;
    if pooled >= admit_limit {
        return Err(AdmitError::Busy {
            txs: pooled,
            drain_per_s: shared.metrics.pool_drain_per_s.get().max(0) as u64,
            max_wait_ms: config.max_wait_ms,
        }
        .into());
    }
    // Parsing decodes a public key per transaction: CPU work, off the async
    // threads.
    let max_txs = limits.max_txs_per_request;
    let submission = tokio::task::spawn_blocking(move || parse(&body, max_txs))
        .await
        .map_err(|e| ApiError::internal(format!("parsing the body failed: {e}")))??;
    match submission {
        Submission::One(tx) => {
            let hash = tx.hash();
            let result = admit::submit(&shared, vec![*tx], Origin::Client)
                .await
                .pop()
                .ok_or_else(|| ApiError::internal("admission answered nothing"))?;
            match result {
                // Resubmitting a pooled transaction is not an error: the client
                // learns the same hash it would have the first time.
                Ok(_) | Err(AdmitError::Duplicate) => {
                    Ok((StatusCode::ACCEPTED, Json(Submitted { hash })).into_response())
                }
                Err(error) => Err(refusal(&shared, error)),
            }
        }
        Submission::Many(txs) => {
            let hashes: Vec<Hash> = txs.iter().map(SignedTransaction::hash).collect();
            let results = admit::submit(&shared, txs, Origin::Client).await;
            if results.len() != hashes.len() {
                return Err(ApiError::internal(format!(
                    "admission answered {} results for {} transactions",
                    results.len(),
                    hashes.len()
                )));
            }
            let refused_for_room = |r: &Result<Hash, AdmitError>| {
                matches!(r, Err(AdmitError::Full { .. } | AdmitError::Busy { .. }))
            };
            if let Some(Err(first)) = results.first() {
                if results.iter().all(refused_for_room) {
                    return Err(first.clone().into());
                }
            }
            Ok((StatusCode::OK, Json(many(&shared, hashes, results))).into_response())
        }
    }
}

/// The answer to a refused transaction. While this node catches up (issue 19), a
/// transfer refused only for a nonce too far ahead of its lagging ledger may be
/// valid: the client is told to retry (503 `catching_up`), not that it is bad.
/// Any other refusal does not depend on how far the ledger has come.
fn refusal(shared: &Shared, error: AdmitError) -> ApiError {
    if !matches!(error, AdmitError::NonceTooFarAhead { .. }) {
        return ApiError::Admit(error);
    }
    match shared.catching_up() {
        Some(recovery) => ApiError::CatchingUp {
            phase: recovery.phase,
            target_height: recovery.target_height,
            refused: error,
        },
        None => ApiError::Admit(error),
    }
}

fn many(
    shared: &Shared,
    hashes: Vec<Hash>,
    results: Vec<Result<Hash, AdmitError>>,
) -> SubmittedMany {
    let results: Vec<SubmitResult> = hashes
        .into_iter()
        .zip(results)
        .map(|(hash, result)| SubmitResult {
            hash,
            error: match result {
                Ok(_) | Err(AdmitError::Duplicate) => None,
                Err(error) => Some(refusal(shared, error).detail()),
            },
        })
        .collect();
    let accepted = results.iter().filter(|r| r.error.is_none()).count();
    SubmittedMany {
        accepted,
        rejected: results.len() - accepted,
        results,
    }
}
