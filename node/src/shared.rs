//! The state the node's tasks share: the driver writes it, the HTTP API and the
//! network read it.
//!
//! Lock order, where a task holds two: `store` before `mempool`. No lock is held
//! across an `.await`.

use crate::api::types::ConsensusInfo;
use crate::config::NodeConfig;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use consensus::{ReplicaId, StableCheckpoint};
use crypto::{Hash, PublicKey};
use ledger::{Genesis, SignedTransaction, Store};
use std::collections::BTreeSet;
use std::sync::{Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, Notify};

/// Batches of client transactions waiting to be forwarded.
pub const FORWARD_QUEUE: usize = 1024;

pub struct Shared {
    pub genesis: Genesis,
    pub genesis_hash: Hash,
    pub config: NodeConfig,
    pub me: ReplicaId,
    pub public_key: PublicKey,
    /// The ledger. The driver holds the write lock only to commit a block.
    pub store: RwLock<Store>,
    pub mempool: Mutex<Mempool>,
    /// The replica's state after the driver's last step.
    pub consensus: RwLock<ConsensusInfo>,
    pub stable_checkpoint: RwLock<Option<StableCheckpoint>>,
    /// Validators with an open connection.
    pub connected: RwLock<BTreeSet<ReplicaId>>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Wakes the driver when the pool gained transactions.
    pub pool_changed: Notify,
    /// Transactions clients gave this node, to forward to the other validators.
    pub forward: mpsc::Sender<Vec<SignedTransaction>>,
}

impl Shared {
    /// The shared state of a node that opened `store`, before its driver runs.
    /// Returns the receiving end of [`Shared::forward`].
    pub fn new(
        genesis: Genesis,
        config: NodeConfig,
        me: ReplicaId,
        store: Store,
    ) -> (Shared, mpsc::Receiver<Vec<SignedTransaction>>) {
        let (forward, forwarded) = mpsc::channel(FORWARD_QUEUE);
        let public_key = genesis.validators[me.index()].public_key;
        let mempool = Mempool::new(config.mempool.to_config());
        let shared = Shared {
            genesis_hash: genesis.hash(),
            genesis,
            config,
            me,
            public_key,
            consensus: RwLock::new(ConsensusInfo::default()),
            stable_checkpoint: RwLock::new(None),
            connected: RwLock::new(BTreeSet::new()),
            metrics: Metrics::new(),
            started: Instant::now(),
            pool_changed: Notify::new(),
            forward,
            mempool: Mutex::new(mempool),
            store: RwLock::new(store),
        };
        shared
            .metrics
            .height
            .set(shared.store.read().expect("store lock").tip().height as i64);
        (shared, forwarded)
    }

    /// The wall clock in milliseconds since the Unix epoch (batch timestamps and
    /// pool arrival times).
    pub fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}
