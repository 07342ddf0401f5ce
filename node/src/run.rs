//! `rbft start --home DIR`: runs a validator until Ctrl-C or SIGTERM.

use crate::config::Home;
use crate::driver::{Driver, DriverEvent};
use crate::join;
use crate::net::{self, NetConfig};
use crate::serve::{ServeLimits, Server};
use crate::shared::Shared;
use crate::wire::{FetchRequest, FetchResponse, PeerMessage};
use crate::{api, edge, membership};
use crypto::Canonical;
use ledger::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Events waiting for the driver.
const DRIVER_QUEUE: usize = 8192;

/// Runs the node of `home` until it is told to stop.
pub fn start(home: &Path) -> Result<(), String> {
    let home = Home::load(home).map_err(|e| e.to_string())?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&home.config.log))
        .map_err(|e| format!("config.toml: log filter {:?}: {e}", home.config.log))?;
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    // Nothing is written before this: a node that cannot listen, or whose genesis
    // lists a validator nobody can dial, leaves no data directory behind.
    crate::preflight::check(&home).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = stop_tx.send(true);
        });
        run(home, stop_rx).await
    })
}

/// The largest one-way frame peers may send: the largest honest NEW-VIEW for this
/// validator set and window, or a batch of forwarded transactions.
pub fn max_frame_bytes(validators: usize, log_window: u64, batch_max_txs: u32) -> usize {
    let (_, new_view) =
        consensus::largest_view_change_messages(validators, log_window, batch_max_txs);
    let txs = <PeerMessage as Canonical>::MAX_ENCODED_LEN.min(1 << 20);
    (new_view + 1024).max(txs)
}

/// Runs the node of `home` until `stop` turns true (or a fatal error).
pub async fn run(home: Home, mut stop_rx: watch::Receiver<bool>) -> Result<(), String> {
    let data_dir = home.data_dir();
    let store = Store::open(&data_dir, &home.genesis).map_err(|e| e.to_string())?;
    let params = home.genesis.consensus.clone();
    // Frames are sized for the largest NEW-VIEW; the set may grow while the node
    // runs, so the limit leaves room for twice today's set (a restart recomputes it).
    let set_size = 2 * store
        .validators()
        .len()
        .max(store.genesis_validators().len());
    let (shared, forwarded) = Shared::new(
        home.genesis.clone(),
        home.config.clone(),
        home.key.public_key(),
        store,
    )
    .map_err(|e| format!("the ledger's governance history: {e}"))?;
    let shared = Arc::new(shared);
    let (roster, dial) = {
        let membership = shared.membership();
        let store = shared.store.read().expect("store lock");
        (
            membership::net_roster(&membership, &store),
            membership::to_dial(&membership, store.tip().height),
        )
    };
    let network = &home.config.network;
    let mut net_config = NetConfig::new(
        home.key.clone(),
        roster,
        home.config.p2p_listen.clone(),
        home.genesis.hash(),
    );
    net_config.dial = dial;
    net_config.max_frame_bytes = max_frame_bytes(set_size, params.log_window, params.batch_max_txs);
    net_config.max_request_bytes = <FetchRequest as Canonical>::MAX_ENCODED_LEN;
    net_config.max_response_bytes = <FetchResponse as Canonical>::MAX_ENCODED_LEN.min(256 << 20);
    net_config.peer_queue = network.peer_queue;
    net_config.peer_queue_bytes = net_config.peer_queue_bytes.max(net_config.max_frame_bytes);
    net_config.redial_min = Duration::from_millis(network.redial_min_ms);
    net_config.redial_max = Duration::from_millis(network.redial_max_ms);
    net_config.request_timeout = Duration::from_millis(network.request_timeout_ms);
    let (net, net_events) = net::start(net_config)
        .await
        .map_err(|e| format!("network: {e}"))?;
    let (driver_tx, mut driver_rx) = mpsc::channel::<DriverEvent>(DRIVER_QUEUE);
    let server = Server::new(ServeLimits {
        total: network.max_concurrent_answers,
        per_peer: network.max_concurrent_answers_per_peer,
    });
    tokio::spawn(edge::run(
        shared.clone(),
        net.clone(),
        net_events,
        driver_tx.clone(),
        server,
    ));
    tokio::spawn(edge::forward(net.clone(), forwarded));
    tokio::spawn(edge::reforward(shared.clone(), net.clone()));

    let listener = tokio::net::TcpListener::bind(home.config.api_addr)
        .await
        .map_err(|e| format!("cannot listen for the API on {}: {e}", home.config.api_addr))?;
    let mut api_stop = stop_rx.clone();
    let api_task = tokio::spawn(api::serve(shared.clone(), listener, async move {
        let _ = api_stop.wait_for(|stop| *stop).await;
    }));
    tracing::info!(replica = ?shared.me().map(|me| me.0), api = %home.config.api_addr, p2p = %home.config.p2p_listen, data = %data_dir.display(), genesis = %home.genesis.hash(), "node started");
    let result = async {
        // A validator added while the network runs syncs until its AddValidator is
        // in its ledger (issue 7); a genesis or already-added one goes straight on.
        let on_roster =
            join::sync_until_on_roster(&shared, &net, &driver_tx, &mut driver_rx, &mut stop_rx)
                .await
                .map_err(|e| e.to_string())?;
        if !on_roster {
            return Ok(());
        }
        run_driver(&shared, &home, &net, driver_tx, driver_rx, stop_rx).await
    }
    .await;
    net.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(2), api_task).await;
    match result {
        Ok(()) => {
            tracing::info!("node stopped");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "node stopped on an error");
            Err(e)
        }
    }
}

/// Runs the driver on a thread of its own until it stops: it executes, writes
/// and syncs, and none of that may hold one of the async runtime's few threads
/// (the API and the network would stop answering while it works). Tasks it
/// spawns (fetches, transfers) still run on the runtime.
async fn run_driver(
    shared: &Arc<Shared>,
    home: &Home,
    net: &net::NetHandle,
    driver_tx: mpsc::Sender<DriverEvent>,
    driver_rx: mpsc::Receiver<DriverEvent>,
    stop_rx: watch::Receiver<bool>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Handle::current();
    let (shared, key, net) = (shared.clone(), home.key.clone(), net.clone());
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("driver".into())
        .spawn(move || {
            let result = Driver::new(shared, key, net, driver_tx)
                .and_then(|driver| runtime.block_on(driver.run(driver_rx, stop_rx)));
            let _ = done_tx.send(result.map_err(|e| e.to_string()));
        })
        .map_err(|e| format!("cannot start the driver's thread: {e}"))?;
    done_rx
        .await
        .unwrap_or_else(|_| Err("the driver's thread panicked".to_owned()))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
