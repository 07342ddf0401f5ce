//! `GET /validators` (issue 7): the members in force for the next height, with
//! their roster ids, keys, addresses and since when they order, and the committed
//! changes still waiting for their switch height. Built from the ledger's
//! governance history through [`consensus::Membership`], so every node with the
//! same ledger answers the same.

use super::types::{PendingMembership, ValidatorEntry, ValidatorsInfo};
use consensus::{switch_height, Epoch, Membership, SeqNo};
use ledger::{Address, Store};

/// The membership `store`'s ledger records, as `/validators` shows it.
pub fn validators_info(membership: &Membership, store: &Store, k: u64, l: u64) -> ValidatorsInfo {
    let height = store.tip().height;
    let next = SeqNo(height + 1);
    let addresses = crate::membership::net_roster(membership, store);
    let epochs = membership.epochs();
    let current = membership.at(next);
    let entries = |epoch: &Epoch| -> Vec<ValidatorEntry> {
        epoch
            .members
            .iter()
            .filter_map(|id| {
                let (key, addr) = addresses.get(id.index())?;
                Some(ValidatorEntry {
                    replica: id.0,
                    public_key: *key,
                    address: Address::of(key),
                    p2p_addr: addr.clone(),
                    since: member_since(epochs, epoch, *id),
                })
            })
            .collect()
    };
    let pending = epochs
        .iter()
        .filter(|epoch| epoch.first > next)
        .map(|epoch| PendingMembership {
            // The last change whose switch this epoch starts after (a later change
            // with the same switch height replaces an earlier one).
            authorised_at: store
                .validator_history()
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| switch_height(SeqNo(*h), k, l).next() == epoch.first)
                .max()
                .unwrap_or(0),
            from_height: epoch.first.0,
            f: epoch.f(),
            quorum: epoch.q(),
            validators: entries(epoch),
        })
        .collect();
    ValidatorsInfo {
        height,
        since_height: current.first.0,
        f: current.f(),
        quorum: current.q(),
        validators: entries(current),
        pending,
    }
}

/// The first height of the run of consecutive epochs up to `epoch` that all hold
/// `id`.
fn member_since(epochs: &[Epoch], epoch: &Epoch, id: consensus::ReplicaId) -> u64 {
    let Some(at) = epochs.iter().position(|e| e.first == epoch.first) else {
        return epoch.first.0;
    };
    let mut since = epoch.first;
    for earlier in epochs[..at].iter().rev() {
        if !earlier.contains(id) {
            break;
        }
        since = earlier.first;
    }
    since.0
}
