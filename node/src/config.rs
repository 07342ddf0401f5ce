//! A node's home directory and its configuration (DESIGN.md sections 8 and 9).
//!
//! ```text
//! HOME/config.toml    this file's `NodeConfig`
//! HOME/node.key       the validator key (hex seed, mode 0600)
//! HOME/genesis.json   the chain's genesis document
//! HOME/data/          the RocksDB ledger and consensus log
//! HOME/validator_card.json   what `rbft init` printed (public key, peer address)
//! ```
//!
//! `rbft init` writes the config, the key and the card; the genesis comes from
//! whoever built it from every operator's card (`rbft genesis build`).
//!
//! Every field of `config.toml` has a default, so an empty file is a valid
//! configuration; unknown fields are refused, so a typo is an error, not a silent
//! default.

use crate::mempool::MempoolConfig;
use crypto::SigningKey;
use ledger::Genesis;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// The libp2p address this node listens on for peers, e.g.
    /// `/ip4/127.0.0.1/tcp/8100`. Peers dial the address the genesis lists for it.
    pub p2p_listen: String,
    /// The address peers dial (`rbft init --external-address`; on the validator
    /// card, then in the genesis). Only compared with the genesis at start: a
    /// difference is logged, since peers will dial what the genesis says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p2p_external_addr: Option<String>,
    /// The data directory, relative to the home directory unless absolute.
    pub data_dir: PathBuf,
    /// A `tracing` filter, e.g. `info` or `node=debug,info`; `RUST_LOG` wins.
    pub log: String,
    pub mempool: MempoolSection,
    pub network: NetworkSection,
    pub api: ApiSection,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            api_addr: "127.0.0.1:8000".parse().expect("a valid address"),
            p2p_listen: "/ip4/127.0.0.1/tcp/8100".to_owned(),
            p2p_external_addr: None,
            data_dir: PathBuf::from("data"),
            log: "info".to_owned(),
            mempool: MempoolSection::default(),
            network: NetworkSection::default(),
            api: ApiSection::default(),
        }
    }
}

/// `[mempool]`: the limits of the transaction pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolSection {
    pub max_txs: usize,
    pub max_bytes: usize,
    pub max_nonce_gap: u64,
    /// Refuse clients (429 `pool_busy`) while the pool holds more than this many
    /// milliseconds of commits at the recent rate; 0 turns it off.
    pub max_wait_ms: u64,
    /// ...but admit up to this many transactions whatever the rate.
    pub min_backlog: usize,
}

impl Default for MempoolSection {
    fn default() -> Self {
        let defaults = MempoolConfig::default();
        MempoolSection {
            max_txs: defaults.max_txs,
            max_bytes: defaults.max_bytes,
            max_nonce_gap: defaults.max_nonce_gap,
            max_wait_ms: defaults.max_wait_ms,
            min_backlog: defaults.min_backlog,
        }
    }
}

impl MempoolSection {
    pub fn to_config(&self) -> MempoolConfig {
        MempoolConfig {
            max_txs: self.max_txs,
            max_bytes: self.max_bytes,
            max_nonce_gap: self.max_nonce_gap,
            max_wait_ms: self.max_wait_ms,
            min_backlog: self.min_backlog,
            ..MempoolConfig::default()
        }
    }
}

/// `[network]`: libp2p limits and timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// Messages waiting to go to one peer; past it the oldest are dropped (the
    /// replica retransmits what matters).
    pub peer_queue: usize,
    /// First and longest wait between dials of a peer that is down.
    pub redial_min_ms: u64,
    pub redial_max_ms: u64,
    /// How long a fetch from a peer may take.
    pub request_timeout_ms: u64,
    /// Peers' fetches this node answers at once, in all and for one peer; a fetch
    /// past either is answered "busy" and the peer asks another (`node::serve`).
    pub max_concurrent_answers: usize,
    pub max_concurrent_answers_per_peer: usize,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            peer_queue: 4096,
            redial_min_ms: 100,
            redial_max_ms: 5000,
            request_timeout_ms: 2000,
            max_concurrent_answers: 4,
            max_concurrent_answers_per_peer: 2,
        }
    }
}

/// `[api]`: the HTTP API's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// The largest request body.
    pub max_body_bytes: usize,
    /// The most transactions one `POST /txs` may carry.
    pub max_txs_per_request: usize,
    /// The most blocks one `GET /blocks` returns.
    pub max_blocks_per_page: usize,
    /// The most API connections open at once; more are closed when accepted.
    pub max_connections: usize,
    /// The most API connections open at once from one IP address.
    pub max_connections_per_ip: usize,
    /// A client must send a request's whole header within this long of connecting
    /// or of its previous answer (idle keep-alive connections are closed then).
    pub header_timeout_ms: u64,
    /// The largest request header, start line included (431 beyond).
    pub max_header_bytes: usize,
    /// The most `GET /events` clients at a time; past it, 503.
    pub max_event_clients: usize,
    /// How many events a `GET /events` client may fall behind before it is sent
    /// `lagged` and disconnected (the channel's fixed capacity). Above a block's
    /// most transactions (batch_max_txs, 2000 by default) plus one, or a client
    /// that reads promptly lags on a full block.
    pub event_buffer: usize,
    /// A connection whose client takes no bytes for this long is closed (an
    /// `/events` client that stopped reading frees its slot).
    pub write_stall_timeout_ms: u64,
}

impl ApiSection {
    pub fn connection_limits(&self) -> crate::conn_limits::ConnectionLimits {
        crate::conn_limits::ConnectionLimits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            header_timeout: std::time::Duration::from_millis(self.header_timeout_ms),
            max_header_bytes: self.max_header_bytes,
            write_stall: std::time::Duration::from_millis(self.write_stall_timeout_ms),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            max_body_bytes: 8 * 1024 * 1024,
            max_txs_per_request: 10_000,
            max_blocks_per_page: 100,
            // Far below the usual 1,024 file descriptors of a process, which the
            // node shares with RocksDB and its peers.
            max_connections: 512,
            max_connections_per_ip: 128,
            // Above the 15 s clients such as ureq keep an idle connection for
            // reuse, so a client rarely reuses one the node is closing.
            header_timeout_ms: 30_000,
            max_header_bytes: 16 * 1024,
            max_event_clients: 64,
            event_buffer: 8192,
            write_stall_timeout_ms: 30_000,
        }
    }
}

/// Why a home directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    BadConfig { path: PathBuf, message: String },
    #[error("{0}")]
    Key(#[from] crypto::keyfile::KeyFileError),
    #[error("{0}")]
    Genesis(#[from] Box<ledger::GenesisError>),
}

/// A loaded home directory.
#[derive(Debug)]
pub struct Home {
    pub dir: PathBuf,
    pub config: NodeConfig,
    pub key: SigningKey,
    pub genesis: Genesis,
}

impl Home {
    pub const CONFIG: &'static str = "config.toml";
    pub const KEY: &'static str = "node.key";
    pub const GENESIS: &'static str = "genesis.json";
    pub const CARD: &'static str = "validator_card.json";

    /// Loads and checks `dir`'s configuration, key and genesis.
    pub fn load(dir: &Path) -> Result<Home, HomeError> {
        let config_path = dir.join(Self::CONFIG);
        let text = std::fs::read_to_string(&config_path).map_err(|source| HomeError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config = NodeConfig::parse(&text).map_err(|message| HomeError::BadConfig {
            path: config_path,
            message,
        })?;
        let key_path = dir.join(Self::KEY);
        let key = crypto::keyfile::read_key_file(&key_path)?;
        // The key need not be a genesis validator: a validator added later starts
        // with the genesis and syncs until its AddValidator is in its ledger.
        let genesis = Genesis::load(&dir.join(Self::GENESIS)).map_err(Box::new)?;
        Ok(Home {
            dir: dir.to_owned(),
            config,
            key,
            genesis,
        })
    }

    /// The data directory, resolved against the home directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(&self.config.data_dir)
    }
}

impl NodeConfig {
    /// Parses `config.toml`, refusing unknown fields and limits of zero.
    pub fn parse(text: &str) -> Result<NodeConfig, String> {
        let config: NodeConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        let positive = [
            ("mempool.max_txs", config.mempool.max_txs),
            ("mempool.max_bytes", config.mempool.max_bytes),
            ("mempool.min_backlog", config.mempool.min_backlog),
            ("network.peer_queue", config.network.peer_queue),
            (
                "network.max_concurrent_answers",
                config.network.max_concurrent_answers,
            ),
            (
                "network.max_concurrent_answers_per_peer",
                config.network.max_concurrent_answers_per_peer,
            ),
            ("api.max_body_bytes", config.api.max_body_bytes),
            ("api.max_txs_per_request", config.api.max_txs_per_request),
            ("api.max_blocks_per_page", config.api.max_blocks_per_page),
            ("api.max_connections", config.api.max_connections),
            (
                "api.max_connections_per_ip",
                config.api.max_connections_per_ip,
            ),
            (
                "api.header_timeout_ms",
                config.api.header_timeout_ms as usize,
            ),
            ("api.max_header_bytes", config.api.max_header_bytes),
            ("api.max_event_clients", config.api.max_event_clients),
            ("api.event_buffer", config.api.event_buffer),
            (
                "api.write_stall_timeout_ms",
                config.api.write_stall_timeout_ms as usize,
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if config.network.redial_min_ms == 0
            || config.network.redial_max_ms < config.network.redial_min_ms
        {
            return Err("network.redial_min_ms must be positive and at most redial_max_ms".into());
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a config always serialises")
    }
}
