//! How fast commits take transactions out of the pool, by the committed blocks'
//! own clocks (their proposers' timestamps), so that admission can refuse a client
//! once the pool holds more than a short wait's worth ([`super::MempoolConfig::max_wait_ms`]).
//! Block time, not this host's clock: the rate is the same on every node and in
//! the simulator, and a node that stalls keeps the last rate it saw.

use std::collections::VecDeque;

/// The stretch of block time the rate is measured over.
pub const WINDOW_MS: u64 = 2_000;

/// Blocks kept at most (a bound whatever their timestamps say).
const MAX_BLOCKS: usize = 4_096;

/// Recently committed blocks: (timestamp, transactions).
#[derive(Debug, Default, Clone)]
pub struct DrainMeter {
    blocks: VecDeque<(u64, u64)>,
    txs: u64,
    newest: u64,
}

impl DrainMeter {
    /// A block with `txs` transactions committed at block time `timestamp_ms`.
    pub fn note(&mut self, timestamp_ms: u64, txs: u64) {
        self.blocks.push_back((timestamp_ms, txs));
        self.txs += txs;
        self.newest = self.newest.max(timestamp_ms);
        let newest = self.newest;
        while let Some(&(at, n)) = self.blocks.front() {
            let old = newest.saturating_sub(at) >= WINDOW_MS;
            if !(old || self.blocks.len() > MAX_BLOCKS) {
                break;
            }
            self.blocks.pop_front();
            self.txs -= n;
        }
    }

    /// Transactions committed per second over the last [`WINDOW_MS`] of block time.
    pub fn per_second(&self) -> u64 {
        self.txs.saturating_mul(1_000) / WINDOW_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_the_last_window_of_block_time() {
        let mut meter = DrainMeter::default();
        assert_eq!(meter.per_second(), 0);
        for i in 0..40 {
            meter.note(i * 100, 500);
        }
        // One block of 500 every 100 ms: the last 2 s (2,000..3,900 ms) hold 20.
        assert_eq!(meter.per_second(), 5_000);
        meter.note(10_000, 100);
        assert_eq!(meter.per_second(), 50, "the old blocks age out");
    }

    #[test]
    fn the_meter_keeps_a_bounded_number_of_blocks() {
        let mut meter = DrainMeter::default();
        for _ in 0..(MAX_BLOCKS + 100) {
            meter.note(7, 1);
        }
        assert_eq!(meter.blocks.len(), MAX_BLOCKS);
        assert_eq!(meter.per_second(), MAX_BLOCKS as u64 * 1_000 / WINDOW_MS);
    }
}
