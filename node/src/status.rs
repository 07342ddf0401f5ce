//! The replica's state as the driver publishes it after each round
//! ([`crate::shared::Shared::consensus`]), which `GET /consensus`, `/status` and
//! the explorer read.

use serde::{Deserialize, Serialize};

/// `GET /consensus`: the replica's state, for people watching the protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusInfo {
    pub view: u64,
    pub primary: u32,
    pub changing_view: bool,
    pub last_committed: u64,
    pub low_watermark: u64,
    pub high_watermark: u64,
    /// Heights with a slot in the log.
    pub in_flight: Vec<u64>,
    pub stable_checkpoint: Option<u64>,
    /// View changes this node started, by reason.
    pub view_changes: std::collections::BTreeMap<String, u64>,
    /// Recovery in progress, if any (DESIGN.md section 5.2).
    pub recovery: Option<RecoveryInfo>,
    /// Recoveries this node started, by reason.
    pub recoveries: std::collections::BTreeMap<String, u64>,
}

/// A recovery in progress, in `GET /consensus`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryInfo {
    /// Why it started: start, behind_checkpoint, view_ahead, transfer_incomplete,
    /// isolated.
    pub reason: String,
    /// negotiating_view, querying, transferring or rejoining.
    pub phase: String,
    pub round: u64,
    /// The checkpoint height being transferred to, once chosen.
    pub target_height: Option<u64>,
}
