//! The replica's configuration: the genesis consensus parameters (DESIGN.md section 10).

use crate::membership::{Membership, MembershipChange, MembershipError};
use crate::types::{ReplicaId, MAX_BATCH_TXS, MAX_CHAIN_ID_LEN, MAX_LOG_WINDOW, MAX_VALIDATORS};
use crypto::PublicKey;

/// Everything a replica needs to know that is not in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// Signed into every message's domain (DESIGN.md section 2).
    pub chain_id: String,
    /// The genesis validator list, in order.
    pub validators: Vec<PublicKey>,
    /// The governance changes committed up to the host's ledger tip, in chain order
    /// (DESIGN.md section 6); see [`crate::Membership`].
    pub changes: Vec<MembershipChange>,
    /// This replica's id: its position in the roster (the genesis validators, then
    /// every key the changes added).
    pub me: ReplicaId,
    /// K: a checkpoint every K heights (DESIGN.md section 4).
    pub checkpoint_interval: u64,
    /// L: the high watermark is `h + L`; a multiple of K.
    pub log_window: u64,
    /// The primary cuts a batch when the pool holds this many transactions.
    pub batch_max_txs: u32,
    /// ... or when the oldest pending one has waited this long.
    pub batch_timeout_ms: u64,
    /// How far ahead of this replica's clock a batch timestamp may be.
    pub max_clock_drift_ms: u64,
    /// A replica whose committed height and low watermark have not moved for this
    /// long, while it has unfinished heights, sends its own messages for the window
    /// again (lost or refused-as-too-new messages would otherwise stall the normal
    /// case). Not a DESIGN.md section 10 parameter; an addition of this crate.
    pub retransmit_interval_ms: u64,
    /// A replica holding a pending transaction (or an accepted, uncommitted batch)
    /// that has seen no commit for this long starts a view change.
    pub request_timeout_ms: u64,
    /// A backup that heard neither a pre-prepare nor a heartbeat from the primary for
    /// this long starts a view change; an idle primary heartbeats every half of it.
    pub idle_timeout_ms: u64,
    /// How long a view change may take, once q replicas have asked for it, before the
    /// replica moves on to the next view; doubled per consecutive failure.
    pub view_change_timeout_ms: u64,
}

impl ReplicaConfig {
    /// The DESIGN.md section 10 defaults for a validator set.
    pub fn with_defaults(chain_id: &str, validators: Vec<PublicKey>, me: ReplicaId) -> Self {
        ReplicaConfig {
            chain_id: chain_id.to_string(),
            validators,
            changes: Vec::new(),
            me,
            checkpoint_interval: 10,
            log_window: 40,
            batch_max_txs: 2000,
            batch_timeout_ms: 10,
            max_clock_drift_ms: 5_000,
            retransmit_interval_ms: 500,
            request_timeout_ms: 2_000,
            idle_timeout_ms: 2_000,
            view_change_timeout_ms: 2_000,
        }
    }

    /// N, the number of genesis validators.
    pub fn n(&self) -> usize {
        self.validators.len()
    }

    /// The roster and epochs of the genesis validators after `changes`.
    pub fn membership(&self) -> Result<Membership, ConfigError> {
        Membership::new(
            &self.validators,
            &self.changes,
            self.checkpoint_interval,
            self.log_window,
        )
        .map_err(ConfigError::Membership)
    }

    /// Refuses a configuration the replica could not run safely with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.chain_id.is_empty() || self.chain_id.len() > MAX_CHAIN_ID_LEN {
            return Err(ConfigError::ChainId {
                len: self.chain_id.len(),
            });
        }
        if self.validators.is_empty() || self.validators.len() > MAX_VALIDATORS {
            return Err(ConfigError::ValidatorCount {
                n: self.validators.len(),
            });
        }
        let mut sorted = self.validators.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.validators.len() {
            return Err(ConfigError::DuplicateValidator);
        }
        let k = self.checkpoint_interval;
        let l = self.log_window;
        if k == 0 || l == 0 || l % k != 0 || l > MAX_LOG_WINDOW {
            return Err(ConfigError::Window {
                checkpoint_interval: k,
                log_window: l,
            });
        }
        if self.retransmit_interval_ms == 0 {
            return Err(ConfigError::RetransmitInterval);
        }
        if self.request_timeout_ms == 0
            || self.idle_timeout_ms < 2
            || self.view_change_timeout_ms == 0
        {
            return Err(ConfigError::Timeouts);
        }
        let membership = self.membership()?;
        if self.me.index() >= membership.roster().len() {
            return Err(ConfigError::NotAValidator { me: self.me });
        }
        if self.batch_max_txs == 0 || self.batch_max_txs as usize > MAX_BATCH_TXS {
            return Err(ConfigError::BatchMaxTxs {
                batch_max_txs: self.batch_max_txs,
            });
        }
        let largest_set = membership.epochs().iter().map(|e| e.n()).max().unwrap_or(0);
        let (view_change, new_view) = crate::view_change::largest_view_change_messages(
            largest_set,
            self.log_window,
            self.batch_max_txs,
        );
        if view_change > crate::view_change::MAX_VIEW_CHANGE_LEN
            || new_view > crate::view_change::MAX_NEW_VIEW_LEN
        {
            return Err(ConfigError::ViewChangeTooLarge {
                view_change,
                new_view,
            });
        }
        Ok(())
    }
}

/// Why a replica could not start. These are operating errors of the host, never
/// caused by another replica.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("chain id of {len} bytes: must be 1 to {MAX_CHAIN_ID_LEN}")]
    ChainId { len: usize },
    #[error("{n} validators: must be 1 to {MAX_VALIDATORS}")]
    ValidatorCount { n: usize },
    #[error("a public key appears twice in the validator list")]
    DuplicateValidator,
    #[error("replica id {me} is not a position in the roster")]
    NotAValidator { me: crate::types::ReplicaId },
    #[error("the signing key is not validator {me}'s key")]
    KeyMismatch { me: crate::types::ReplicaId },
    #[error(
        "checkpoint_interval {checkpoint_interval} and log_window {log_window}: both must be \
         positive, the window a multiple of the interval and at most {MAX_LOG_WINDOW}"
    )]
    Window {
        checkpoint_interval: u64,
        log_window: u64,
    },
    #[error("retransmit_interval_ms must be positive")]
    RetransmitInterval,
    #[error("request, idle and view-change timeouts must be positive (idle at least 2 ms)")]
    Timeouts,
    #[error(
        "validators x log_window x batch_max_txs too large: a view change could take \
         {view_change} bytes and a new view {new_view}, above the envelope limits"
    )]
    ViewChangeTooLarge { view_change: usize, new_view: usize },
    #[error("batch_max_txs {batch_max_txs}: must be 1 to {MAX_BATCH_TXS}")]
    BatchMaxTxs { batch_max_txs: u32 },
    #[error("membership history: {0}")]
    Membership(MembershipError),
    #[error("persisted state does not restore: {0}")]
    Restore(#[from] crate::persist::RestoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::SigningKey;

    fn base() -> ReplicaConfig {
        let validators = (1..=4u8)
            .map(|i| SigningKey::from_seed([i; 32]).public_key())
            .collect();
        ReplicaConfig::with_defaults("chain", validators, ReplicaId(1))
    }

    /// DESIGN.md section 10 defaults validate; each unsafe setting is refused by name.
    #[test]
    fn refusals() {
        assert_eq!(base().validate(), Ok(()));
        type Edit = fn(&mut ReplicaConfig);
        let cases: [(&str, Edit, ConfigError); 8] = [
            (
                "empty chain id",
                |c| c.chain_id.clear(),
                ConfigError::ChainId { len: 0 },
            ),
            (
                "no validators",
                |c| c.validators.clear(),
                ConfigError::ValidatorCount { n: 0 },
            ),
            (
                "duplicate key",
                |c| c.validators[1] = c.validators[0],
                ConfigError::DuplicateValidator,
            ),
            (
                "me outside the list",
                |c| c.me = ReplicaId(4),
                ConfigError::NotAValidator { me: ReplicaId(4) },
            ),
            (
                "L not a multiple of K",
                |c| c.log_window = 45,
                ConfigError::Window {
                    checkpoint_interval: 10,
                    log_window: 45,
                },
            ),
            (
                "K = 0",
                |c| c.checkpoint_interval = 0,
                ConfigError::Window {
                    checkpoint_interval: 0,
                    log_window: 40,
                },
            ),
            (
                "batch_max_txs above the codec bound",
                |c| c.batch_max_txs = 10_001,
                ConfigError::BatchMaxTxs {
                    batch_max_txs: 10_001,
                },
            ),
            (
                "retransmit 0",
                |c| c.retransmit_interval_ms = 0,
                ConfigError::RetransmitInterval,
            ),
        ];
        for (name, edit, expected) in cases {
            let mut config = base();
            edit(&mut config);
            assert_eq!(config.validate(), Err(expected), "{name}");
        }
    }
}
