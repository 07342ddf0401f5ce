//! What the pool can tell about itself at a cost that does not grow with it, for
//! `GET /pool`: every number is a length the pool keeps anyway, or the first
//! entry of its arrival order.

use super::Mempool;

/// The pool at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSummary {
    pub txs: usize,
    pub bytes: usize,
    pub max_txs: usize,
    pub max_bytes: usize,
    /// Pooled transactions a proposal of this node holds (they leave when its
    /// block commits).
    pub proposed: usize,
    /// Accounts with a pooled transaction.
    pub senders: usize,
    /// How long the oldest pooled transaction has waited, if there is one.
    pub oldest_age_ms: Option<u64>,
    /// Drop reasons remembered for `GET /txs/{hash}` (at most `max_dropped`).
    pub dropped_remembered: usize,
    /// Clients are refused while the pool holds this many ([`Mempool::client_limit`]).
    pub admit_limit: usize,
    /// Transactions committed per second lately, by block time.
    pub drain_per_s: u64,
}

impl Mempool {
    /// The pool at `now_ms` (the clock the pool's arrival times were read from).
    pub fn summary(&self, now_ms: u64) -> PoolSummary {
        PoolSummary {
            txs: self.entries.len(),
            bytes: self.bytes,
            max_txs: self.config.max_txs,
            max_bytes: self.config.max_bytes,
            proposed: self.entries.len() - self.unproposed.len(),
            senders: self.by_sender.len(),
            oldest_age_ms: self
                .oldest_ms()
                .map(|arrived| now_ms.saturating_sub(arrived)),
            dropped_remembered: self.dropped.len(),
            admit_limit: self.client_limit(),
            drain_per_s: self.drain_per_second(),
        }
    }
}
