//! The governance history: for every committed block that holds an AddValidator or
//! RemoveValidator, its height and the validator set after it (ledger order).
//!
//! Membership (DESIGN.md section 6) needs all of it: replica ids are positions in
//! the roster of every key ever added, and the set that orders a height depends on
//! the changes committed before it. Each entry is its own key in the metadata
//! column family (`validator_history/` + big-endian height), so an entry's encoding
//! is bounded by [`MAX_VALIDATORS`]; the number of entries grows by one per block
//! holding governance transactions, which only the admin key can sign.

use crate::block::Block;
use crate::genesis::{ValidatorInfo, MAX_VALIDATORS};
use crate::state::ValidatorChange;
use crate::tx::TxKind;
use crypto::{BoundedVec, Canonical};
use serde::{Deserialize, Serialize};

/// Prefix of the history's keys in the metadata column family.
pub const META_HISTORY_PREFIX: &[u8] = b"validator_history/";

/// A validator set as stored (the current set, and each history entry).
#[derive(Serialize, Deserialize)]
pub struct StoredValidators(pub BoundedVec<ValidatorInfo, MAX_VALIDATORS>);

impl Canonical for StoredValidators {
    const NAME: &'static str = "validator set";
    const MAX_ENCODED_LEN: usize = 3 + MAX_VALIDATORS * 300;
}

impl StoredValidators {
    pub fn of(validators: &[ValidatorInfo]) -> StoredValidators {
        StoredValidators(
            BoundedVec::new(validators.to_vec()).expect("execution caps the validator set"),
        )
    }
}

/// The key of the history entry for `height`.
pub fn history_key(height: u64) -> Vec<u8> {
    let mut key = META_HISTORY_PREFIX.to_vec();
    key.extend_from_slice(&height.to_be_bytes());
    key
}

/// The height a history key names; `None` for a key that is not one.
pub fn history_height(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(META_HISTORY_PREFIX)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The validator changes a committed block makes. A block's body holds only the
/// transactions that applied (`execute_batch` leaves failures out, `execute_block`
/// refuses them), so every governance transaction in it changed the set.
pub fn changes_in(block: &Block) -> Vec<ValidatorChange> {
    block
        .txs
        .iter()
        .filter_map(|tx| match &tx.tx.kind {
            TxKind::Transfer { .. } => None,
            TxKind::AddValidator { validator } => Some(ValidatorChange::Add(validator.clone())),
            TxKind::RemoveValidator { public_key } => Some(ValidatorChange::Remove(*public_key)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_sort_by_height_and_decode_back() {
        let keys: Vec<_> = [0u64, 1, 255, 256, u64::MAX].map(history_key).to_vec();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert_eq!(history_height(&history_key(300)), Some(300));
        assert_eq!(history_height(b"validators"), None);
        assert_eq!(history_height(b"validator_history/123"), None);
    }
}
