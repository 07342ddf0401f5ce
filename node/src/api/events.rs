//! `GET /events`: the node's live events ([`crate::events`]) as Server-Sent Events.
//!
//! Each event is one SSE message: `event:` is its name (`block`, `tx_committed`,
//! `tx_dropped`, `view_change`, `new_view`, `membership`, `lagged`) and `data:`
//! its JSON, whose `type` is that name again. `?tx=HASH` keeps only that
//! transaction's `tx_committed` and `tx_dropped` (and `lagged`).
//!
//! Bounded: at most `api.max_event_clients` clients (503 `too_many_clients` past
//! it); each may fall `api.event_buffer` events behind, then it is sent `lagged`
//! and its stream ends. Every stream ends when the API shuts down. A comment every 15 s keeps idle connections open. The
//! subscription is made before the answer's headers are sent, so a client that
//! has them misses nothing published afterwards.

use super::error::ApiError;
use crate::events::{Event, Subscription};
use crate::shared::Shared;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{self, KeepAlive, Sse};
use crypto::Hash;
use futures::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only this transaction's events.
    tx: Option<String>,
}

/// `GET /events`.
pub async fn events(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<sse::Event, Infallible>>>, ApiError> {
    let Query(query) = query?;
    let only_tx = match query.tx {
        Some(text) => Some(text.parse::<Hash>().map_err(|e| {
            ApiError::bad_request(format!("{text:?} is not a transaction hash: {e}"))
        })?),
        None => None,
    };
    let subscription = shared.events.subscribe().ok_or(ApiError::TooManyClients {
        max: shared.events.max_clients(),
    })?;
    Ok(Sse::new(stream(subscription, only_tx)).keep_alive(KeepAlive::default()))
}

/// The client's events until it lags (then `lagged`, then the end) or the API
/// shuts down. Dropping the stream (the client went) frees its slot.
fn stream(
    subscription: Subscription,
    only_tx: Option<Hash>,
) -> impl Stream<Item = Result<sse::Event, Infallible>> {
    futures::stream::unfold(Some(subscription), move |state| async move {
        let mut subscription = state?;
        loop {
            let received = tokio::select! {
                biased;
                _ = subscription.closed.wait_for(|closed| *closed) => return None,
                received = subscription.receiver.recv() => received,
            };
            match received {
                Ok(event) => {
                    if only_tx.is_none_or(|hash| event.tx() == Some(&hash)) {
                        return Some((Ok(to_sse(&event)), Some(subscription)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "events client lagged; disconnected");
                    return Some((Ok(to_sse(&Event::Lagged { missed })), None));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

fn to_sse(event: &Event) -> sse::Event {
    let json = serde_json::to_string(event).expect("an event always serialises");
    sse::Event::default().event(event.name()).data(json)
}
