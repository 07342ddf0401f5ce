//! The message log: one slot per height inside the watermarks (DESIGN.md section 4).
//!
//! A slot keeps the accepted pre-prepare and at most one prepare and one commit per
//! validator, so its memory is bounded by N; slots exist only for `h < n <= H`, so the
//! log is bounded by L slots. Votes that arrive before their pre-prepare simply wait in
//! their slot (DESIGN.md section 3: messages may arrive in any order).

use crate::message::{Batch, Commit, PrePrepare, Prepare, SignedMessage};
use crate::types::{Digest, ReplicaId, SeqNo, View};
use crypto::Hash;
use std::collections::BTreeMap;

/// A pre-prepare this replica accepted (or, as primary, signed).
#[derive(Debug, Clone)]
pub(crate) struct AcceptedPrePrepare {
    pub view: View,
    pub digest: Digest,
    pub batch: Batch,
    pub result: Hash,
    pub signed: SignedMessage,
}

impl AcceptedPrePrepare {
    /// The pre-prepare `pp`, kept with the signed message it came in.
    pub fn new(pp: PrePrepare, signed: SignedMessage) -> Self {
        AcceptedPrePrepare {
            view: pp.view,
            digest: pp.digest,
            batch: pp.batch,
            result: pp.result,
            signed,
        }
    }
}

/// A vote with the signed message it came in, kept as evidence.
#[derive(Debug, Clone)]
pub(crate) struct Vote<T> {
    pub body: T,
    pub signed: SignedMessage,
}

/// Where a height is in RBFT validation (DESIGN.md section 3 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Execution {
    NotRequested,
    Requested,
    /// Executed with the primary's state root; COMMIT for `block_hash` is signed.
    Valid {
        block_hash: Hash,
    },
    /// Executed with another state root, or not executable: never commits here.
    Failed,
}

/// What adding a vote did.
#[derive(Debug, Clone)]
pub(crate) enum VoteOutcome {
    Added,
    Duplicate,
    /// The sender already voted differently; here is its first vote.
    Conflict {
        first: SignedMessage,
    },
}

/// Adds `sender`'s vote unless it already voted; one vote per sender bounds the map
/// by N.
pub(crate) fn insert_vote<T: PartialEq>(
    votes: &mut BTreeMap<ReplicaId, Vote<T>>,
    sender: ReplicaId,
    body: T,
    signed: SignedMessage,
) -> VoteOutcome {
    match votes.get(&sender) {
        Some(existing) if existing.body == body => VoteOutcome::Duplicate,
        Some(existing) => VoteOutcome::Conflict {
            first: existing.signed.clone(),
        },
        None => {
            votes.insert(sender, Vote { body, signed });
            VoteOutcome::Added
        }
    }
}

/// Everything known about one height.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub pre_prepare: Option<AcceptedPrePrepare>,
    pub prepares: BTreeMap<ReplicaId, Vote<Prepare>>,
    pub commits: BTreeMap<ReplicaId, Vote<Commit>>,
    /// Latched once the prepared predicate held (or, after a restart, because this
    /// replica had signed a COMMIT, which it only does when prepared).
    pub prepared: bool,
    pub execution: Execution,
}

impl Slot {
    fn new() -> Self {
        Slot {
            pre_prepare: None,
            prepares: BTreeMap::new(),
            commits: BTreeMap::new(),
            prepared: false,
            execution: Execution::NotRequested,
        }
    }

    /// PREPAREs from distinct backups matching the accepted pre-prepare's view and
    /// digest (DESIGN.md section 3 step 3). A prepare from the primary never counts.
    pub fn matching_prepares(&self, primary: ReplicaId) -> usize {
        let Some(pp) = &self.pre_prepare else {
            return 0;
        };
        self.prepares
            .iter()
            .filter(|(sender, vote)| {
                **sender != primary && vote.body.view == pp.view && vote.body.digest == pp.digest
            })
            .count()
    }

    /// COMMITs matching the pre-prepare's view and digest and `block_hash`, in sender
    /// order (DESIGN.md section 3 step 5).
    pub fn matching_commits(&self, block_hash: Hash) -> Vec<&SignedMessage> {
        let Some(pp) = &self.pre_prepare else {
            return Vec::new();
        };
        self.commits
            .values()
            .filter(|vote| {
                vote.body.view == pp.view
                    && vote.body.digest == pp.digest
                    && vote.body.block_hash == block_hash
            })
            .map(|vote| &vote.signed)
            .collect()
    }
}

/// The slots between the watermarks.
#[derive(Debug, Clone)]
pub(crate) struct Log {
    low: SeqNo,
    window: u64,
    slots: BTreeMap<SeqNo, Slot>,
}

impl Log {
    pub fn new(low: SeqNo, window: u64) -> Self {
        Log {
            low,
            window,
            slots: BTreeMap::new(),
        }
    }

    /// h, the low watermark: the last stable checkpoint.
    pub fn low(&self) -> SeqNo {
        self.low
    }

    /// H = h + L.
    pub fn high(&self) -> SeqNo {
        SeqNo(self.low.0.saturating_add(self.window))
    }

    /// `h < n <= H` (DESIGN.md section 4).
    pub fn in_window(&self, seq: SeqNo) -> bool {
        self.low < seq && seq <= self.high()
    }

    pub fn get(&self, seq: SeqNo) -> Option<&Slot> {
        self.slots.get(&seq)
    }

    /// The slot for `seq`, made if new. The caller has checked the window.
    pub fn slot_mut(&mut self, seq: SeqNo) -> &mut Slot {
        assert!(
            self.in_window(seq),
            "slot {seq} outside ({}, {}]",
            self.low,
            self.high()
        );
        self.slots.entry(seq).or_insert_with(Slot::new)
    }

    /// Moves h to `low` and drops every slot at or below it (garbage collection at a
    /// stable checkpoint, DESIGN.md section 4).
    pub fn advance_low(&mut self, low: SeqNo) {
        assert!(low >= self.low, "the low watermark never goes back");
        self.low = low;
        self.slots = self.slots.split_off(&low.next());
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Forgets every execution result that is not a failure: the host's speculative
    /// state is gone (a state transfer), so each height is executed again.
    pub fn reset_executions(&mut self) {
        for slot in self.slots.values_mut() {
            if slot.execution != Execution::Failed {
                slot.execution = Execution::NotRequested;
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SeqNo, &Slot)> {
        self.slots.iter()
    }

    /// The nearest accepted pre-prepares below and above `seq`, for the timestamp rule.
    pub fn neighbour_timestamps(&self, seq: SeqNo) -> (Option<u64>, Option<u64>) {
        let with_pp =
            |(_, slot): (&SeqNo, &Slot)| slot.pre_prepare.as_ref().map(|pp| pp.batch.timestamp_ms);
        let below = self.slots.range(..seq).rev().find_map(with_pp);
        let above = self.slots.range(seq.next()..).find_map(with_pp);
        (below, above)
    }
}
