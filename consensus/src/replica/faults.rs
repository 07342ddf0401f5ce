//! Test-only faults (cargo feature `test-faults`): switches that break the replica on
//! purpose, so the tests and the simulator can show that their safety checks fail
//! when the replica is wrong. The product never compiles this file: the `rbft`
//! binary is built without the feature (consensus/Cargo.toml).

use super::Replica;
use crate::message::Batch;
use crate::view_change_checks::Selection;
use crypto::codec::BoundedVec;

/// Which faults are switched on. All off by default.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TestFaults {
    /// Commit on q - 1 commits.
    pub(super) commit_quorum_minus_one: bool,
    /// Take NEW-VIEW's Q without recomputing it from V.
    pub(super) skip_new_view_check: bool,
    /// As new primary, order empty batches in Q.
    pub(super) forge_q: bool,
}

impl Replica {
    /// **Test-only fault switch. Never turn this on in a node.** With `on`, the
    /// replica commits a height on `q - 1` matching commits instead of `q`, which
    /// breaks agreement. It exists so the simulator can prove that its safety checks
    /// fail when the replica is wrong. Off by default.
    #[doc(hidden)]
    pub fn set_unsafe_commit_quorum_minus_one(&mut self, on: bool) {
        self.faults.commit_quorum_minus_one = on;
    }

    /// **Test-only fault switch. Never turn this on in a node.** With `on`, the
    /// replica accepts a NEW-VIEW's Q as sent instead of recomputing it from V
    /// (DESIGN.md section 5.1 step 3), so a Byzantine new primary can re-order
    /// committed heights. The simulator uses it to show the check is load-bearing.
    #[doc(hidden)]
    pub fn set_unsafe_skip_new_view_check(&mut self, on: bool) {
        self.faults.skip_new_view_check = on;
    }

    /// **Test-only Byzantine behaviour. Never turn this on in a node.** With `on`,
    /// the replica, as a new primary, puts an empty batch in Q at every height above
    /// its own committed one instead of what V determines, and follows that Q itself.
    /// The simulator's Byzantine new primary.
    #[doc(hidden)]
    pub fn set_byzantine_forge_q(&mut self, on: bool) {
        self.faults.forge_q = on;
    }

    /// The Byzantine new primary, when switched on: empty batches above its
    /// committed height instead of what V determines.
    pub(super) fn forge_if_switched_on(&self, mut selection: Selection) -> Selection {
        if !self.faults.forge_q {
            return selection;
        }
        let proposer = self.config.me;
        for (seq, batch, digest) in selection.entries.iter_mut() {
            if *seq > self.last_committed && !batch.tx_hashes.is_empty() {
                *batch = Batch {
                    tx_hashes: BoundedVec::empty(),
                    proposer,
                    timestamp_ms: batch.timestamp_ms,
                };
                *digest = batch.digest();
            }
        }
        selection
    }
}
