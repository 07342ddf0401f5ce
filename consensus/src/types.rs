//! Protocol numbers as newtypes (STYLE.md habit 3), so a view can never be passed where
//! a height is meant, and the limits every decoder and buffer is bounded by.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The ordering digest `d` of a batch (DESIGN.md section 3 step 2).
pub type Digest = crypto::Hash;

/// A view number; the primary of view `v` is replica `v mod N`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct View(pub u64);

/// A sequence number. It is the block height: each one commits exactly one block,
/// and genesis is height 0 (DESIGN.md section 3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SeqNo(pub u64);

/// A replica's position in the validator list (DESIGN.md section 2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct ReplicaId(pub u32);

impl SeqNo {
    /// The height after this one. Heights are bounded by the window, so this never
    /// comes near `u64::MAX` in a run; saturating keeps a forged number harmless.
    pub fn next(self) -> SeqNo {
        SeqNo(self.0.saturating_add(1))
    }

    /// The height before this one (genesis stays genesis).
    pub fn prev(self) -> SeqNo {
        SeqNo(self.0.saturating_sub(1))
    }
}

impl ReplicaId {
    /// The index of this replica in the validator list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// The most validators a configuration may hold. It bounds every certificate and
/// every per-height vote map.
pub const MAX_VALIDATORS: usize = 256;

/// The most transactions one batch may order, whatever `batch_max_txs` says; the
/// decoder refuses a longer batch before allocating it.
pub const MAX_BATCH_TXS: usize = 10_000;

/// The largest `log_window` (L) a configuration may ask for; it bounds the persisted
/// consensus log.
pub const MAX_LOG_WINDOW: u64 = 1024;

/// The longest chain id; the signing domain encodes its length in one byte.
pub const MAX_CHAIN_ID_LEN: usize = 64;
