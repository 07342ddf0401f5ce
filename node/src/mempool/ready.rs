//! What a proposal may take from the pool, at a cost that does not grow with the
//! pool.
//!
//! The primary's proposals hold pooled transactions until their blocks commit;
//! with a full window that can be most of the pool. So the pool marks them
//! ([`Mempool::mark_proposed`]) and keeps the others in their own arrival order:
//! the next proposal ([`Mempool::unproposed`]) and the driver's report of what is
//! ready ([`Mempool::includable`]) start from the oldest unmarked transaction,
//! and the report stops once it has counted as many as a batch can take.

use super::Mempool;
use crypto::Hash;
use ledger::{Address, VerifiedTx};
use std::collections::HashMap;

impl Mempool {
    /// Pooled transactions in no proposal of this node, in arrival order.
    pub fn unproposed(&self) -> impl Iterator<Item = &VerifiedTx> {
        self.unproposed.values().map(|hash| &self.entries[hash].tx)
    }

    /// Records that this node's proposal at `height` holds `hash`.
    pub fn mark_proposed(&mut self, hash: &Hash, height: u64) {
        let Some(entry) = self.entries.get_mut(hash) else {
            return;
        };
        if entry.proposed_at.is_some() {
            return;
        }
        entry.proposed_at = Some(height);
        self.unproposed.remove(&entry.arrival);
        self.proposals.entry(height).or_default().push(*hash);
    }

    /// Whether a proposal of this node holds `hash`.
    pub fn is_proposed(&self, hash: &Hash) -> bool {
        self.entries
            .get(hash)
            .is_some_and(|entry| entry.proposed_at.is_some())
    }

    /// Forgets the proposals at `height` and below (they committed, and what they
    /// held and is still pooled did not make it into the block).
    pub fn release_proposals_through(&mut self, height: u64) {
        let above = self.proposals.split_off(&height.saturating_add(1));
        let released = std::mem::replace(&mut self.proposals, above);
        self.release(released.into_values().flatten());
    }

    /// Forgets every proposal (a new view may have dropped them).
    pub fn release_all_proposals(&mut self) {
        let released = std::mem::take(&mut self.proposals);
        self.release(released.into_values().flatten());
    }

    fn release(&mut self, hashes: impl Iterator<Item = Hash>) {
        for hash in hashes {
            if let Some(entry) = self.entries.get_mut(&hash) {
                if entry.proposed_at.take().is_some() {
                    self.unproposed.insert(entry.arrival, hash);
                }
            }
        }
    }

    /// How many pooled transactions could go into the next proposal, counting up
    /// to `cap`, and when the oldest of them arrived (0 when none): those in no
    /// proposal whose nonce continues, without a gap, the run of pooled nonces
    /// from `next_nonce(sender)` (a transaction in a proposal still continues the
    /// run). It walks the unproposed ones in arrival order and stops at `cap`, or
    /// after looking at `4 * cap` (at least 1,024) without a match: transactions
    /// waiting behind a gap must not make every report walk the pool.
    pub fn includable(&self, next_nonce: impl Fn(&Address) -> u64, cap: usize) -> (usize, u64) {
        let budget = cap.saturating_mul(4).max(1024);
        let mut nexts: HashMap<Address, u64> = HashMap::new();
        let mut count = 0;
        let mut oldest = u64::MAX;
        for hash in self.unproposed.values().take(budget) {
            if count >= cap {
                break;
            }
            let entry = &self.entries[hash];
            let nonce = entry.tx.tx().nonce;
            let next = *nexts
                .entry(entry.sender)
                .or_insert_with(|| next_nonce(&entry.sender));
            let Some(run) = nonce.checked_sub(next) else {
                continue;
            };
            let pooled = self
                .by_sender
                .get(&entry.sender)
                .map_or(0, |nonces| nonces.range(next..=nonce).count() as u64);
            if pooled == run + 1 {
                count += 1;
                oldest = oldest.min(entry.arrived_ms);
            }
        }
        (count, if count == 0 { 0 } else { oldest })
    }
}
