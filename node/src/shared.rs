//! The state the node's tasks share: the driver writes it, the HTTP API and the
//! network read it.
//!
//! Lock order, where a task holds two: `store` before `mempool`. No lock is held
//! across an `.await`, and none is taken on the async runtime's threads where it
//! may wait behind a commit: the store's lock is taken on the driver's thread and
//! the blocking pool, and reads of the committed chain need none
//! ([`Shared::chain`]).

use crate::config::NodeConfig;
use crate::events::{Event, Events};
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::status::{ConsensusInfo, RecoveryInfo};
use consensus::{Membership, MembershipError, ReplicaId, StableCheckpoint};
use crypto::{Hash, PublicKey};
use ledger::{ChainReader, Genesis, SignedTransaction, Store};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, Notify};

/// Batches of client transactions waiting to be forwarded.
pub const FORWARD_QUEUE: usize = 1024;

pub struct Shared {
    pub genesis: Genesis,
    pub genesis_hash: Hash,
    pub config: NodeConfig,
    /// This node's replica id: its key's position in the roster. Unset while the
    /// key is not on it (a joining validator whose AddValidator this node's ledger
    /// does not hold yet); once set it never changes (ids are stable).
    me: OnceLock<ReplicaId>,
    pub public_key: PublicKey,
    /// The membership this node's ledger records (roster and epochs), with how many
    /// history entries it was built from; replaced when a committed block changes
    /// the validator set.
    membership: RwLock<(Arc<Membership>, usize)>,
    /// The ledger. The driver holds the write lock only to commit a block.
    pub store: RwLock<Store>,
    /// The committed chain, read without the store's lock (the API and answers to
    /// peers): nothing slow happens under [`Shared::store`].
    pub chain: ChainReader,
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
    /// Live events for `GET /events`: the driver publishes, never waiting.
    pub events: Events,
}

impl Shared {
    /// The shared state of the node with key `public_key` that opened `store`,
    /// before its driver runs. Returns the receiving end of [`Shared::forward`].
    /// Fails when the ledger's governance history is not a valid membership.
    pub fn new(
        genesis: Genesis,
        config: NodeConfig,
        public_key: PublicKey,
        store: Store,
    ) -> Result<(Shared, mpsc::Receiver<Vec<SignedTransaction>>), MembershipError> {
        let (forward, forwarded) = mpsc::channel(FORWARD_QUEUE);
        let membership = crate::membership::of_store(&genesis, &store)?;
        let history_len = store.validator_history().len();
        let me = OnceLock::new();
        if let Some(id) = membership.id_of(&public_key) {
            let _ = me.set(id);
        }
        let mempool = Mempool::new(config.mempool.to_config());
        let metrics = Metrics::new();
        metrics.observe_pool(&mempool);
        let events = Events::new(config.api.event_buffer, config.api.max_event_clients);
        let shared = Shared {
            events,
            genesis_hash: genesis.hash(),
            genesis,
            config,
            me,
            public_key,
            membership: RwLock::new((Arc::new(membership), history_len)),
            consensus: RwLock::new(ConsensusInfo::default()),
            stable_checkpoint: RwLock::new(None),
            connected: RwLock::new(BTreeSet::new()),
            metrics,
            started: Instant::now(),
            pool_changed: Notify::new(),
            forward,
            mempool: Mutex::new(mempool),
            chain: store.reader(),
            store: RwLock::new(store),
        };
        shared
            .metrics
            .height
            .set(shared.store.read().expect("store lock").tip().height as i64);
        Ok((shared, forwarded))
    }

    /// This node's replica id, once its key is on the roster.
    pub fn me(&self) -> Option<ReplicaId> {
        self.me.get().copied()
    }

    /// The membership the ledger records.
    pub fn membership(&self) -> Arc<Membership> {
        self.membership.read().expect("membership lock").0.clone()
    }

    /// Rebuilds the membership when the ledger's governance history grew since it
    /// was last built; returns the new one then. Sets [`Shared::me`] when this
    /// node's key joined the roster.
    pub fn refresh_membership(&self) -> Result<Option<Arc<Membership>>, MembershipError> {
        let store = self.store.read().expect("store lock");
        let entries = store.validator_history().len();
        if self.membership.read().expect("membership lock").1 == entries {
            return Ok(None);
        }
        let fresh = Arc::new(crate::membership::of_store(&self.genesis, &store)?);
        let last = store
            .validator_history()
            .last()
            .map(|(height, set)| Event::Membership {
                height: *height,
                validators: set.iter().map(|v| v.public_key).collect(),
            });
        drop(store);
        if let Some(id) = fresh.id_of(&self.public_key) {
            let _ = self.me.set(id);
        }
        if let Some(event) = last {
            self.events.publish(event);
        }
        *self.membership.write().expect("membership lock") = (fresh.clone(), entries);
        Ok(Some(fresh))
    }

    /// The recovery in progress (DESIGN.md section 5.2), if this node is catching
    /// up with its peers: restarting, behind a checkpoint, or a joining validator
    /// syncing (the driver and [`crate::join`] set it each step).
    pub fn catching_up(&self) -> Option<RecoveryInfo> {
        self.consensus
            .read()
            .expect("consensus lock")
            .recovery
            .clone()
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
