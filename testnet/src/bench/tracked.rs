//! The transfers behind a benchmark's counts, by hash: which ones a node accepted
//! and which ones the follower saw committed. A test that breaks the network under
//! load (`tests/recovery.rs`) looks each of them up on every node afterwards, which
//! the counts alone cannot do.

use super::{execute, report, BenchError, BenchOptions, BenchReport, BenchTarget, UNSET};
use crypto::{Hash, SigningKey};
use std::sync::atomic::{AtomicBool, Ordering};

/// A run's report and the hashes it counted.
#[derive(Debug, Clone)]
pub struct TrackedRun {
    pub report: BenchReport,
    /// Transfers a node accepted into its pool, in (sender, nonce) order.
    pub accepted: Vec<Hash>,
    /// Transfers the follower saw in a committed block: normally a subset of
    /// `accepted`, but a transfer whose answer was lost can commit unstamped.
    pub committed: Vec<Hash>,
}

/// [`super::run`], also returning the hashes of what was accepted and committed.
pub fn run_tracked(
    target: &BenchTarget,
    senders: &[SigningKey],
    options: &BenchOptions,
    interrupt: &AtomicBool,
) -> Result<TrackedRun, BenchError> {
    let (plan, shared) = execute(target, senders, options, interrupt)?;
    let mut by_index = vec![None; plan.json.len()];
    for (hash, &i) in &plan.index_of {
        by_index[i as usize] = Some(*hash);
    }
    let stamped = |stamps: &[std::sync::atomic::AtomicU64]| -> Vec<Hash> {
        stamps
            .iter()
            .zip(&by_index)
            .filter(|(stamp, _)| stamp.load(Ordering::Relaxed) != UNSET)
            .filter_map(|(_, hash)| *hash)
            .collect()
    };
    Ok(TrackedRun {
        report: report(&shared),
        accepted: stamped(&shared.submit_us),
        committed: stamped(&shared.commit_us),
    })
}
