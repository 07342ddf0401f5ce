//! Every error the API answers, and its status, code and message
//! (`{"error": {"code": "...", "message": "..."}}`, DESIGN.md section 8).
//!
//! A refusal that may go away by itself carries `Retry-After`: 429 `pool_full`
//! and `pool_busy` (more than `mempool.max_wait_ms` of commits waiting),
//! 503 `catching_up` (a node behind its peers cannot judge a nonce ahead of
//! its ledger; issue 19), and 503 `too_many_clients` (`GET /events` is full).

use super::types::{ErrorBody, ErrorDetail};
use crate::mempool::AdmitError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// How long a client refused because the pool is full should wait, in seconds.
pub const RETRY_AFTER_S: u64 = 1;

/// How long a client refused because this node is catching up should wait, in
/// seconds: a state transfer moves many blocks a second, so a few seconds often
/// suffice (and the client may try another node meanwhile).
pub const CATCHING_UP_RETRY_AFTER_S: u64 = 2;

/// How long a client refused because `/events` is full should wait, in seconds.
pub const EVENTS_RETRY_AFTER_S: u64 = 5;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: malformed JSON, wrong types, unknown fields, bad hex, bad parameters.
    BadRequest(String),
    /// 404: an object this node does not know.
    NotFound(String),
    /// 404: a path no route serves.
    UnknownRoute(String),
    /// 405.
    MethodNotAllowed(String),
    /// 413: a body above `api.max_body_bytes`.
    BodyTooLarge(String),
    /// 422 (or 429 when the pool is full): the transaction was refused.
    Admit(AdmitError),
    /// 503 with `Retry-After`: this node is catching up with its peers (recovery,
    /// DESIGN.md section 5.2), so its committed nonces lag the network's and it
    /// cannot tell a transaction `refused` only for being ahead of them from a
    /// valid one. Never a 4xx: the transaction may well be good.
    CatchingUp {
        /// The recovery's phase (`/consensus`).
        phase: String,
        /// The height it is bringing the ledger to, once chosen.
        target_height: Option<u64>,
        refused: AdmitError,
    },
    /// 503 with `Retry-After`: `GET /events` has `max` clients already
    /// (`api.max_event_clients`).
    TooManyClients { max: usize },
    /// 500: the node could not read its own state. Logged at warn.
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound(message.into())
    }

    pub fn internal(message: impl ToString) -> Self {
        ApiError::Internal(message.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) | ApiError::UnknownRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Admit(AdmitError::Full { .. } | AdmitError::Busy { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Admit(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CatchingUp { .. } | ApiError::TooManyClients { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn detail(&self) -> ErrorDetail {
        let (code, message) = match self {
            ApiError::BadRequest(m) => ("bad_request", m.clone()),
            ApiError::NotFound(m) => ("not_found", m.clone()),
            ApiError::UnknownRoute(m) => ("unknown_route", m.clone()),
            ApiError::MethodNotAllowed(m) => ("method_not_allowed", m.clone()),
            ApiError::BodyTooLarge(m) => ("body_too_large", m.clone()),
            ApiError::Admit(e) => (admit_code(e), e.to_string()),
            ApiError::CatchingUp {
                phase,
                target_height,
                refused,
            } => (
                "catching_up",
                format!(
                    "this node is catching up with its peers (recovery: {phase}{}), so it \
                     cannot judge the transaction yet ({refused}); retry after \
                     {CATCHING_UP_RETRY_AFTER_S} s or send it to another node",
                    target_height.map_or(String::new(), |t| format!(", to height {t}"))
                ),
            ),
            ApiError::TooManyClients { max } => (
                "too_many_clients",
                format!(
                    "this node serves /events to at most {max} clients at a time \
                     (api.max_event_clients) and has that many; retry after \
                     {EVENTS_RETRY_AFTER_S} s or use another node"
                ),
            ),
            ApiError::Internal(m) => ("internal", m.clone()),
        };
        ErrorDetail {
            code: code.to_owned(),
            message,
        }
    }
}

/// The code of each admission refusal: one per kind, so a client can act on it
/// without parsing the message.
pub fn admit_code(error: &AdmitError) -> &'static str {
    match error {
        AdmitError::BadSignature => "bad_signature",
        AdmitError::WrongChain { .. } => "wrong_chain",
        AdmitError::Duplicate => "duplicate",
        AdmitError::StaleNonce { .. } => "stale_nonce",
        AdmitError::NonceTooFarAhead { .. } => "nonce_too_far_ahead",
        AdmitError::NonceInUse { .. } => "nonce_in_use",
        AdmitError::InsufficientBalance { .. } => "insufficient_balance",
        AdmitError::ZeroAmount => "zero_amount",
        AdmitError::Full { .. } => "pool_full",
        AdmitError::Busy { .. } => "pool_busy",
        AdmitError::Unexecutable { .. } => "unexecutable",
        AdmitError::NotAdmin => "not_admin",
        AdmitError::AlreadyValidator { .. } => "already_validator",
        AdmitError::NotValidator { .. } => "not_validator",
    }
}

/// Every code [`ApiError`] can answer with (the OpenAPI document lists them).
pub const CODES: &[&str] = &[
    "bad_request",
    "not_found",
    "unknown_route",
    "method_not_allowed",
    "body_too_large",
    "bad_signature",
    "wrong_chain",
    "duplicate",
    "stale_nonce",
    "nonce_too_far_ahead",
    "nonce_in_use",
    "insufficient_balance",
    "zero_amount",
    "pool_full",
    "pool_busy",
    "unexecutable",
    "not_admin",
    "already_validator",
    "not_validator",
    "catching_up",
    "too_many_clients",
    "internal",
];

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = ?self, "API request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.detail(),
            }),
        )
            .into_response();
        let retry_after_s = match self {
            ApiError::Admit(AdmitError::Full { .. } | AdmitError::Busy { .. }) => {
                Some(RETRY_AFTER_S)
            }
            ApiError::CatchingUp { .. } => Some(CATCHING_UP_RETRY_AFTER_S),
            ApiError::TooManyClients { .. } => Some(EVENTS_RETRY_AFTER_S),
            _ => None,
        };
        if let Some(seconds) = retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<AdmitError> for ApiError {
    fn from(error: AdmitError) -> Self {
        ApiError::Admit(error)
    }
}

impl From<ledger::StoreError> for ApiError {
    fn from(error: ledger::StoreError) -> Self {
        ApiError::internal(format!("reading the ledger: {error}"))
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        if rejection.status().is_server_error() {
            ApiError::internal(rejection.body_text())
        } else {
            ApiError::bad_request(rejection.body_text())
        }
    }
}
