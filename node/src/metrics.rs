//! Prometheus metrics at `/metrics` (DESIGN.md section 8).

use consensus::ViewChangeReason;
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// The committed height.
    pub height: Gauge,
    pub view: Gauge,
    /// Transactions in the pool, and their encoded bytes.
    pub pool_size: Gauge,
    pub pool_bytes: Gauge,
    /// Clients are refused while the pool holds this many (`mempool.max_wait_ms`).
    pub pool_admit_limit: Gauge,
    /// Transactions committed per second lately, by block time (what
    /// `pool_admit_limit` follows).
    pub pool_drain_per_s: Gauge,
    /// Validators this node is connected to.
    pub peers: Gauge,
    pub committed_blocks: Counter,
    pub committed_txs: Counter,
    /// Transactions admitted to the pool, from clients and peers.
    pub admitted_txs: Counter,
    /// Transactions refused at admission.
    pub rejected_txs: Counter,
    /// Batches of transactions other validators forwarded that were dropped
    /// unread because admission was behind.
    pub dropped_forwarded: Counter,
    /// Pooled transactions sent to the other validators again after waiting long.
    pub reforwarded_txs: Counter,
    /// View changes this node started, by reason.
    pub view_changes: Family<ReasonLabel, Counter>,
    pub recoveries: Family<ReasonLabel, Counter>,
    /// 0 without recovery; 1 negotiating the view, 2 querying checkpoints, 3
    /// transferring blocks, 4 rejoining (`consensus::RecoveryPhase::number`).
    pub recovery_phase: Gauge,
    /// The checkpoint height a transfer is bringing the ledger to (0 without one).
    pub recovery_target_height: Gauge,
    pub transferred_blocks: Counter,
    /// Peers' fetches answered, and refused because the serving limits were reached.
    pub served_fetches: Counter,
    pub refused_fetches: Counter,
    /// Committed transactions a peer asked for that an answer left out (its
    /// budget of decoded blocks).
    pub served_over_budget: Counter,
    /// Seconds from accepting a height's PRE-PREPARE to committing it.
    pub commit_latency: Histogram,
    /// API connections closed when accepted, by the limit that refused them
    /// (`crate::conn_limits::Refusal`).
    pub api_refused_connections: Family<ReasonLabel, Counter>,
    /// Misbehaviour the replica detected, by kind (`consensus::Fault::kind`).
    pub faults: Family<KindLabel, Counter>,
    /// Evidence records kept in the store, and refused (the store's bounds).
    pub evidence_kept: Counter,
    pub evidence_refused: Counter,
    /// Consensus inputs the replica dropped, by reason
    /// (`consensus::IgnoreReason::name`).
    pub ignored: Family<ReasonLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The pool's gauges: its size and bytes, and the client admission limit with
    /// the drain rate it follows.
    pub fn observe_pool(&self, pool: &crate::mempool::Mempool) {
        self.pool_size.set(pool.len() as i64);
        self.pool_bytes.set(pool.bytes() as i64);
        self.pool_admit_limit.set(pool.client_limit() as i64);
        self.pool_drain_per_s.set(pool.drain_per_second() as i64);
    }

    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rbft");
        let metrics = Metrics {
            height: Gauge::default(),
            view: Gauge::default(),
            pool_size: Gauge::default(),
            pool_bytes: Gauge::default(),
            pool_admit_limit: Gauge::default(),
            pool_drain_per_s: Gauge::default(),
            peers: Gauge::default(),
            committed_blocks: Counter::default(),
            committed_txs: Counter::default(),
            admitted_txs: Counter::default(),
            reforwarded_txs: Counter::default(),
            rejected_txs: Counter::default(),
            dropped_forwarded: Counter::default(),
            view_changes: Family::default(),
            recoveries: Family::default(),
            recovery_phase: Gauge::default(),
            recovery_target_height: Gauge::default(),
            transferred_blocks: Counter::default(),
            served_fetches: Counter::default(),
            refused_fetches: Counter::default(),
            served_over_budget: Counter::default(),
            commit_latency: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            api_refused_connections: Family::default(),
            faults: Family::default(),
            evidence_kept: Counter::default(),
            evidence_refused: Counter::default(),
            ignored: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "height",
            "The committed block height",
            metrics.height.clone(),
        );
        registry.register("view", "The current view", metrics.view.clone());
        registry.register(
            "pool_size",
            "Transactions in the pool",
            metrics.pool_size.clone(),
        );
        registry.register(
            "pool_bytes",
            "Encoded bytes of the transactions in the pool",
            metrics.pool_bytes.clone(),
        );
        registry.register(
            "pool_admit_limit",
            "Transactions the pool may hold and still admit a client's",
            metrics.pool_admit_limit.clone(),
        );
        registry.register(
            "pool_drain_per_s",
            "Transactions committed per second lately, by block time",
            metrics.pool_drain_per_s.clone(),
        );
        registry.register("peers", "Validators connected", metrics.peers.clone());
        registry.register(
            "committed_blocks",
            "Blocks committed",
            metrics.committed_blocks.clone(),
        );
        registry.register(
            "committed_txs",
            "Transactions committed",
            metrics.committed_txs.clone(),
        );
        registry.register(
            "admitted_txs",
            "Transactions admitted to the pool",
            metrics.admitted_txs.clone(),
        );
        registry.register(
            "reforwarded_txs",
            "Pooled transactions sent to the other validators again after waiting long",
            metrics.reforwarded_txs.clone(),
        );
        registry.register(
            "rejected_txs",
            "Transactions refused at admission",
            metrics.rejected_txs.clone(),
        );
        registry.register(
            "dropped_forwarded_batches",
            "Batches of forwarded transactions dropped unread because admission was behind",
            metrics.dropped_forwarded.clone(),
        );
        registry.register(
            "view_changes",
            "View changes started, by reason",
            metrics.view_changes.clone(),
        );
        registry.register(
            "recoveries",
            "Recoveries started, by reason",
            metrics.recoveries.clone(),
        );
        registry.register(
            "recovery_phase",
            "0 without recovery; 1 negotiating the view, 2 querying checkpoints, 3 transferring blocks, 4 rejoining",
            metrics.recovery_phase.clone(),
        );
        registry.register(
            "recovery_target_height",
            "The checkpoint height a state transfer is bringing the ledger to (0 without one)",
            metrics.recovery_target_height.clone(),
        );
        registry.register(
            "transferred_blocks",
            "Blocks copied from peers by state transfer",
            metrics.transferred_blocks.clone(),
        );
        registry.register(
            "served_fetches",
            "Peers' fetches answered",
            metrics.served_fetches.clone(),
        );
        registry.register(
            "refused_fetches",
            "Peers' fetches refused as busy (the serving limits were reached)",
            metrics.refused_fetches.clone(),
        );
        registry.register(
            "served_over_budget",
            "Committed transactions asked for by peers and left out of an answer (its budget of decoded blocks)",
            metrics.served_over_budget.clone(),
        );
        registry.register(
            "commit_latency_seconds",
            "Time from accepting a PRE-PREPARE to committing its block",
            metrics.commit_latency.clone(),
        );
        registry.register(
            "api_refused_connections",
            "API connections closed when accepted, by the limit that refused them",
            metrics.api_refused_connections.clone(),
        );
        registry.register(
            "faults",
            "Misbehaviour of validators this node detected, by kind",
            metrics.faults.clone(),
        );
        registry.register(
            "evidence_kept",
            "Evidence records of misbehaviour kept in the ledger store (GET /evidence)",
            metrics.evidence_kept.clone(),
        );
        registry.register(
            "evidence_refused",
            "Evidence records not kept: the store holds its most, or one was too large",
            metrics.evidence_refused.clone(),
        );
        registry.register(
            "ignored_messages",
            "Consensus messages and inputs the replica dropped, by reason",
            metrics.ignored.clone(),
        );
        for refusal in crate::conn_limits::Refusal::ALL {
            drop(metrics.api_refused_connections.get_or_create(&ReasonLabel {
                reason: refusal.name(),
            }));
        }
        // Every reason appears from the start, at zero.
        for reason in ViewChangeReason::ALL {
            drop(metrics.view_changes.get_or_create(&ReasonLabel {
                reason: reason.name(),
            }));
        }
        for reason in consensus::RecoveryReason::ALL {
            drop(metrics.recoveries.get_or_create(&ReasonLabel {
                reason: reason.name(),
            }));
        }
        Metrics {
            registry,
            ..metrics
        }
    }

    pub fn api_refused_connection(&self, reason: &'static str) {
        self.api_refused_connections
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
