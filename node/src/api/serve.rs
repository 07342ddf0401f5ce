//! Accepting API connections under limits, so that no client can take the node's
//! resources away from consensus.
//!
//! `axum::serve` accepts every connection and waits on each for ever: a client
//! that opens connections and sends nothing holds a task and a file descriptor
//! each, and the node's process shares its descriptors with RocksDB and libp2p, so
//! enough idle connections would stop the ledger and the peers, not just the API.
//! Here:
//!
//! - at most `api.max_connections` connections are open at once, and at most
//!   `api.max_connections_per_ip` from one IP address; a connection over either
//!   limit is closed at once, without reading it (counted in
//!   `rbft_api_refused_connections_total{reason}`);
//! - a client must send a request's whole header within `api.header_timeout_ms`
//!   of connecting or of its previous answer, or the connection is closed: idle
//!   keep-alive connections and headers sent a byte at a time hold a slot that
//!   long at most;
//! - a request's header may be at most `api.max_header_bytes` (a larger one gets
//!   431); the body limit is `api.max_body_bytes` (413, in the router);
//! - a connection whose client takes no bytes for `api.write_stall_timeout_ms` is
//!   closed ([`super::stall`]: an `/events` client that stopped reading).
//!
//! HTTP/1.1 only, as before. On shutdown, no new connection is accepted, each open
//! one finishes the request it is serving, and then the server returns.

use super::stall::StallGuard;
use crate::shared::Shared;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long to wait before accepting again after `accept` failed (for example the
/// process is out of file descriptors): the failure must not spin a core.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

pub use crate::conn_limits::{ConnectionLimits, Refusal};

/// Open connections, in all and per address. A [`Slot`] is one of them, given
/// back when dropped.
#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
struct Slot {
    open: Arc<Mutex<Open>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
    }
}

/// Takes a slot for a connection from `ip`, or says which limit refuses it.
fn admit(open: &Arc<Mutex<Open>>, ip: IpAddr, limits: &ConnectionLimits) -> Result<Slot, Refusal> {
    let mut state = open.lock().unwrap_or_else(|e| e.into_inner());
    if state.total >= limits.max_connections {
        return Err(Refusal::Full);
    }
    let from_ip = state.per_ip.entry(ip).or_insert(0);
    if *from_ip >= limits.max_connections_per_ip {
        return Err(Refusal::PerIp);
    }
    *from_ip += 1;
    state.total += 1;
    Ok(Slot {
        open: Arc::clone(open),
        ip,
    })
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes.
pub async fn serve(
    shared: Arc<Shared>,
    app: Router,
    listener: TcpListener,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    // Dropping the sender tells every connection to finish; `closed()` on it
    // returns when every connection (each holds a receiver) has.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "API: accepting a connection failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let slot = match admit(&open, peer.ip(), &limits) {
            Ok(slot) => slot,
            Err(refusal) => {
                shared.metrics.api_refused_connection(refusal.name());
                tracing::debug!(%peer, reason = refusal.name(), "API connection refused");
                continue; // dropping `stream` closes it
            }
        };
        let _ = stream.set_nodelay(true);
        let service =
            TowerToHyperService::new(app.clone().map_request(
                |request: hyper::Request<Incoming>| request.map(axum::body::Body::new),
            ));
        let stream = StallGuard::new(stream, limits.write_stall);
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::trace!(%peer, %error, "API connection ended");
                    }
                    return;
                }
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(stop_rx);
    drop(listener);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_connections_per_ip: per_ip,
            header_timeout: Duration::from_secs(1),
            max_header_bytes: 8192,
            write_stall: Duration::from_secs(1),
        }
    }

    #[test]
    fn slots_are_limited_in_all_and_per_address_and_come_back_when_dropped() {
        let open = Arc::new(Mutex::new(Open::default()));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let limits = limits(3, 2);
        let a1 = admit(&open, a, &limits).unwrap();
        let _a2 = admit(&open, a, &limits).unwrap();
        assert_eq!(admit(&open, a, &limits).unwrap_err(), Refusal::PerIp);
        let _b1 = admit(&open, b, &limits).unwrap();
        assert_eq!(admit(&open, b, &limits).unwrap_err(), Refusal::Full);
        drop(a1);
        let _b2 = admit(&open, b, &limits).unwrap();
        assert_eq!(open.lock().unwrap().total, 3);
    }

    #[test]
    fn an_address_with_no_connection_left_is_forgotten() {
        let open = Arc::new(Mutex::new(Open::default()));
        let slot = admit(&open, "10.0.0.1".parse().unwrap(), &limits(2, 2)).unwrap();
        drop(slot);
        let state = open.lock().unwrap();
        assert_eq!(state.total, 0);
        assert!(state.per_ip.is_empty());
    }
}
