//! The HTTP API (DESIGN.md sections 8 and 9): axum, JSON bodies from [`types`].
//!
//! - [`routes`]: the one list of routes, which both [`router`] and the
//!   [`openapi`] document are built from;
//! - [`chain`]: blocks, certificates, transactions, accounts; [`history`]: an
//!   account's transactions, newest first; [`evidence`]: kept proof of
//!   misbehaviour; [`submit`]: `POST /txs`;
//!   [`info`]: health, status, consensus, validators, peers, the latest stable
//!   checkpoint with its signed proof, the genesis, metrics, the pool; [`events`]:
//!   `GET /events`, live events as Server-Sent Events (bounded clients, a client
//!   that falls behind is sent `lagged` and disconnected); [`page`]: the explorer
//!   at `/`, a page that reads only these routes;
//! - [`serve`]: accepting connections under limits (in all, per IP address, the
//!   time to send a header, its size);
//! - [`error`]: every error is `{"error": {"code", "message"}}`: 400 malformed
//!   input, 404 unknown object or route, 405, 413, 422 refused transaction, 429 pool
//!   full (with `Retry-After`), 500 when the node cannot read its own state, 503
//!   (with `Retry-After`) for a transaction this node cannot judge while it
//!   catches up with its peers, or when `/events` has its most clients.
//!
//! A connection whose client stops reading is closed after
//! `api.write_stall_timeout_ms` ([`stall`]).
//!
//! Handlers never hold a lock across an `.await`; ledger reads (RocksDB) run on the
//! blocking pool ([`read`]), taking the store before the mempool.

pub mod chain;
pub mod error;
pub mod events;
pub mod evidence;
pub mod history;
pub mod info;
pub mod membership;
pub mod openapi;
pub mod page;
pub mod routes;
pub mod serve;
pub mod stall;
pub mod submit;
pub mod types;

use crate::shared::Shared;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use error::ApiError;
use ledger::{ChainReader, Store};
use routes::{Endpoint, Method, ROUTES};
use std::future::Future;
use std::sync::Arc;

/// The API's router, with `shared` as its state.
pub fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        router = router.route(route.path, method_router(route.endpoint, route.method));
    }
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(shared.config.api.max_body_bytes))
        .layer(middleware::from_fn(log_request))
        .with_state(shared)
}

/// Serves [`router`] on `listener` under the connection limits of [`serve`] until
/// `shutdown` completes, then finishes the requests in progress.
pub async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP API listening");
    }
    let limits = shared.config.api.connection_limits();
    let app = router(Arc::clone(&shared));
    // A graceful shutdown waits for the answers in progress; event streams never
    // finish by themselves, so they are ended first.
    let events = Arc::clone(&shared);
    let shutdown = async move {
        shutdown.await;
        events.events.close();
    };
    serve::serve(shared, app, listener, limits, shutdown).await
}

fn method_router(endpoint: Endpoint, method: Method) -> MethodRouter<Arc<Shared>> {
    let filter = match method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
    };
    match endpoint {
        Endpoint::Health => on(filter, info::health),
        Endpoint::Status => on(filter, info::status),
        Endpoint::Consensus => on(filter, info::consensus_info),
        Endpoint::Blocks => on(filter, chain::blocks),
        Endpoint::BlockLatest => on(filter, chain::latest_block),
        Endpoint::Block => on(filter, chain::block),
        Endpoint::BlockCommit => on(filter, chain::block_commit),
        Endpoint::Tx => on(filter, chain::tx),
        Endpoint::SubmitTxs => on(filter, submit::submit),
        Endpoint::Account => on(filter, chain::account),
        Endpoint::AccountTxs => on(filter, history::account_txs),
        Endpoint::Validators => on(filter, info::validators),
        Endpoint::Peers => on(filter, info::peers),
        Endpoint::CheckpointLatest => on(filter, info::latest_checkpoint),
        Endpoint::Genesis => on(filter, info::genesis),
        Endpoint::EvidenceList => on(filter, evidence::evidence_list),
        Endpoint::Evidence => on(filter, evidence::evidence),
        Endpoint::Events => on(filter, events::events),
        Endpoint::Metrics => on(filter, info::metrics),
        Endpoint::OpenApi => on(filter, openapi_json),
        Endpoint::Pool => on(filter, info::pool),
        Endpoint::Page => on(filter, page::html),
        Endpoint::PageScript => on(filter, page::script),
        Endpoint::PageStyle => on(filter, page::style),
    }
}

async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(openapi::document())
}

async fn unknown_route(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::UnknownRoute(format!(
        "no route {method} {}; GET /openapi.json lists them",
        uri.path()
    ))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not take {method}", uri.path()))
}

/// Runs `f` on the store (read-locked) on the blocking pool: RocksDB reads block.
/// `f` may lock the mempool too (store before mempool). A panic in `f` is a 500.
pub(crate) async fn read<T, F>(shared: &Arc<Shared>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Shared, &Store) -> Result<T, ApiError> + Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || {
        let store = shared
            .store
            .read()
            .map_err(|_| ApiError::internal("the store lock is poisoned"))?;
        f(&shared, &store)
    })
    .await
    .map_err(|e| ApiError::internal(format!("reading the ledger failed: {e}")))?
}

/// Runs `f` on the blocking pool with the committed chain, without the store's
/// lock: decoding a large block must never hold up a commit. `f` may lock the
/// mempool. A panic in `f` is a 500.
pub(crate) async fn read_chain<T, F>(shared: &Arc<Shared>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Shared, &ChainReader) -> Result<T, ApiError> + Send + 'static,
{
    let shared = Arc::clone(shared);
    tokio::task::spawn_blocking(move || f(&shared, &shared.chain))
        .await
        .map_err(|e| ApiError::internal(format!("reading the ledger failed: {e}")))?
}

/// Logs every request at debug (server errors are logged at warn where they are
/// answered, see [`ApiError`]).
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_us = started.elapsed().as_micros() as u64,
        "API request"
    );
    response
}
