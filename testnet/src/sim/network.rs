//! The simulated network: every message gets a random delay (so messages reorder),
//! may be lost or duplicated, and never crosses a partition. One seeded generator
//! drives every choice, so a seed replays exactly.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How hostile the network is right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    /// Probability that a message is dropped.
    pub loss: f64,
    /// Probability that a message is delivered twice.
    pub duplication: f64,
}

impl Conditions {
    /// A healthy network: short delays, nothing lost.
    pub const CALM: Conditions = Conditions {
        min_delay_ms: 1,
        max_delay_ms: 10,
        loss: 0.0,
        duplication: 0.0,
    };
}

/// A message in flight.
#[derive(Debug, Clone)]
pub struct Delivery<M> {
    pub at_ms: u64,
    pub from: usize,
    pub to: usize,
    pub message: M,
}

struct Queued<M> {
    at_ms: u64,
    order: u64,
    delivery: Delivery<M>,
}

impl<M> PartialEq for Queued<M> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.order) == (other.at_ms, other.order)
    }
}
impl<M> Eq for Queued<M> {}
impl<M> PartialOrd for Queued<M> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Queued<M> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_ms, self.order).cmp(&(other.at_ms, other.order))
    }
}

/// The most messages in flight at once; past it new messages are dropped, like a
/// full socket buffer, so a run can never exhaust memory.
pub const MAX_IN_FLIGHT: usize = 200_000;

pub struct Network<M> {
    nodes: usize,
    queue: BinaryHeap<Reverse<Queued<M>>>,
    next_order: u64,
    pub conditions: Conditions,
    /// `side[i]`: which side of a partition node `i` is on; messages only flow
    /// between nodes on the same side. All zero when there is no partition.
    side: Vec<u8>,
    pub sent: u64,
    pub dropped: u64,
}

impl<M: Clone> Network<M> {
    pub fn new(nodes: usize) -> Self {
        Network {
            nodes,
            queue: BinaryHeap::new(),
            next_order: 0,
            conditions: Conditions::CALM,
            side: vec![0; nodes],
            sent: 0,
            dropped: 0,
        }
    }

    /// Splits the nodes: those in `isolated` can talk only among themselves.
    pub fn partition(&mut self, isolated: &[usize]) {
        self.side = (0..self.nodes)
            .map(|i| u8::from(isolated.contains(&i)))
            .collect();
    }

    pub fn heal(&mut self) {
        self.side = vec![0; self.nodes];
    }

    /// Whether `a` and `b` can reach each other now.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        self.side[a] == self.side[b]
    }

    pub fn is_partitioned(&self) -> bool {
        self.side.iter().any(|s| *s != 0)
    }

    pub fn send(&mut self, rng: &mut ChaCha8Rng, now_ms: u64, from: usize, to: usize, message: M) {
        self.sent += 1;
        let c = self.conditions;
        if self.side[from] != self.side[to]
            || rng.gen_bool(c.loss)
            || self.queue.len() >= MAX_IN_FLIGHT
        {
            self.dropped += 1;
            return;
        }
        let copies = if rng.gen_bool(c.duplication) { 2 } else { 1 };
        for _ in 0..copies {
            let at_ms = now_ms + rng.gen_range(c.min_delay_ms..=c.max_delay_ms);
            let order = self.next_order;
            self.next_order += 1;
            self.queue.push(Reverse(Queued {
                at_ms,
                order,
                delivery: Delivery {
                    at_ms,
                    from,
                    to,
                    message: message.clone(),
                },
            }));
        }
    }

    /// When the next message arrives, if any is in flight.
    pub fn next_at(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse(q)| q.at_ms)
    }

    /// The next message due at or before `now_ms`. A message whose link was cut
    /// while it was in flight is lost.
    pub fn pop_due(&mut self, now_ms: u64) -> Option<Delivery<M>> {
        loop {
            if self.next_at()? > now_ms {
                return None;
            }
            let Reverse(q) = self.queue.pop()?;
            if self.side[q.delivery.from] == self.side[q.delivery.to] {
                return Some(q.delivery);
            }
            self.dropped += 1;
        }
    }

    /// Drops everything addressed to `node` (it crashed: its sockets are gone).
    pub fn drop_to(&mut self, node: usize) {
        let before = self.queue.len();
        let kept: Vec<_> = std::mem::take(&mut self.queue)
            .into_iter()
            .filter(|Reverse(q)| q.delivery.to != node)
            .collect();
        self.dropped += (before - kept.len()) as u64;
        self.queue = kept.into_iter().collect();
    }

    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn messages_arrive_in_delivery_time_order_and_partitions_cut_links() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut net = Network::new(4);
        net.conditions.max_delay_ms = 50;
        for i in 0..100u32 {
            net.send(&mut rng, 0, 0, 1, i);
        }
        let mut last = 0;
        let mut got = 0;
        while let Some(d) = net.pop_due(1000) {
            assert!(d.at_ms >= last);
            last = d.at_ms;
            got += 1;
        }
        assert_eq!(got, 100);
        net.partition(&[3]);
        net.send(&mut rng, 0, 0, 3, 7);
        net.send(&mut rng, 0, 3, 0, 7);
        assert!(net.pop_due(1000).is_none());
        net.heal();
        net.send(&mut rng, 0, 0, 3, 7);
        assert!(net.pop_due(1000).is_some());
    }

    #[test]
    fn loss_and_duplication_happen_at_about_their_rates() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut net = Network::new(2);
        net.conditions = Conditions {
            min_delay_ms: 1,
            max_delay_ms: 5,
            loss: 0.2,
            duplication: 0.1,
        };
        for i in 0..10_000u32 {
            net.send(&mut rng, 0, 0, 1, i);
        }
        let mut delivered = 0;
        while net.pop_due(100).is_some() {
            delivered += 1;
        }
        // 80% survive, 10% of those twice: about 8,800.
        assert!((8_400..9_200).contains(&delivered), "{delivered}");
    }
}
