//! The membership as this node's ledger records it (issue 7, DESIGN.md section 6):
//! the genesis validators and the governance history the store keeps, turned into
//! the consensus crate's [`Membership`] (the roster: every key ever admitted, ids
//! = positions; and the epochs: which set orders which heights).
//!
//! The network follows it: it admits every roster key, dials every key that orders
//! a height above the ledger's tip (the members of the epoch in force and of every
//! later one known: a validator being added is dialled as soon as its AddValidator
//! commits, a removed one until its epoch ends), and dials each at the address its
//! latest ValidatorInfo gives.

use consensus::{Membership, MembershipChange, MembershipError, ReplicaId, SeqNo};
use crypto::PublicKey;
use ledger::{Genesis, HistoryEntry, Store, ValidatorInfo};

/// The governance changes of `history`, as the consensus crate takes them.
pub fn changes(history: &[HistoryEntry]) -> Vec<MembershipChange> {
    history
        .iter()
        .map(|(height, set)| MembershipChange {
            height: SeqNo(*height),
            validators: set.iter().map(|v| v.public_key).collect(),
        })
        .collect()
}

/// The membership of `store`'s ledger.
pub fn of_store(genesis: &Genesis, store: &Store) -> Result<Membership, MembershipError> {
    let params = &genesis.consensus;
    let keys: Vec<PublicKey> = store
        .genesis_validators()
        .iter()
        .map(|v| v.public_key)
        .collect();
    Membership::new(
        &keys,
        &changes(store.validator_history()),
        params.checkpoint_interval,
        params.log_window,
    )
}

/// The network's roster: `membership`'s keys in id order, each with the address of
/// its latest appearance in the ledger.
pub fn net_roster(membership: &Membership, store: &Store) -> Vec<(PublicKey, String)> {
    let sets = std::iter::once(store.genesis_validators()).chain(
        store
            .validator_history()
            .iter()
            .map(|(_, set)| set.as_slice()),
    );
    let mut latest: Vec<&ValidatorInfo> = Vec::new();
    for set in sets {
        for validator in set {
            latest.retain(|v| v.public_key != validator.public_key);
            latest.push(validator);
        }
    }
    membership
        .roster()
        .iter()
        .map(|key| {
            let addr = latest
                .iter()
                .find(|v| v.public_key == *key)
                .map_or_else(String::new, |v| v.p2p_addr.to_string());
            (*key, addr)
        })
        .collect()
}

/// The ids to dial with the ledger at `tip`: those that order a height above it.
pub fn to_dial(membership: &Membership, tip: u64) -> Vec<ReplicaId> {
    let next = SeqNo(tip + 1);
    (0..membership.roster().len())
        .map(|i| ReplicaId(i as u32))
        .filter(|id| membership.member_from(next, *id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::{BoundedString, SigningKey};

    fn v(seed: u8, port: u16) -> ValidatorInfo {
        ValidatorInfo {
            public_key: SigningKey::from_seed([seed; 32]).public_key(),
            p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{port}")).unwrap(),
        }
    }

    #[test]
    fn the_dialled_ids_follow_the_epochs() {
        let genesis: Vec<PublicKey> = [1, 2, 3, 4].map(|s| v(s, 0).public_key).to_vec();
        let history = vec![
            (5, vec![v(1, 1), v(2, 2), v(3, 3), v(4, 4), v(5, 5)]),
            (60, vec![v(2, 2), v(3, 3), v(4, 4), v(5, 5)]),
        ];
        let m = Membership::new(&genesis, &changes(&history), 10, 40).unwrap();
        let ids = |list: &[u32]| list.iter().map(|i| ReplicaId(*i)).collect::<Vec<_>>();
        // Before the addition commits nothing is pending; once it has, the newcomer
        // is dialled although it orders only from height 51.
        let before = Membership::new(&genesis, &[], 10, 40).unwrap();
        assert_eq!(to_dial(&before, 3), ids(&[0, 1, 2, 3]));
        assert_eq!(to_dial(&m, 5), ids(&[0, 1, 2, 3, 4]));
        // The removal at 60 takes effect above 110: id 0 is dialled until then.
        assert_eq!(to_dial(&m, 109), ids(&[0, 1, 2, 3, 4]));
        assert_eq!(to_dial(&m, 110), ids(&[1, 2, 3, 4]));
    }
}
