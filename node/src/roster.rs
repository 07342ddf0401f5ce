//! The network's roster, read from the ledger (issue 7): every key ever admitted, in
//! id order (the genesis validators in genesis order, then every key a committed
//! AddValidator adds, the first time it appears), with its latest p2p address, and the
//! ids to dial.
//!
//! Whom to dial: every member of the current set, and of every set a change replaced
//! so recently that the replaced set may still be ordering heights. A change committed
//! at `h` takes effect after its switch height, at most `h + K + L` (the first
//! checkpoint above `h`, plus the window), so a set replaced at `h` is dialled while
//! the tip is below `h + K + L + 1`. That is never shorter than the consensus switch,
//! and a removed validator stops being dialled soon after it is out.

use consensus::ReplicaId;
use crypto::PublicKey;
use ledger::{HistoryEntry, ValidatorInfo};

/// The roster, in id order, with the address to dial each key at.
pub fn roster(genesis: &[ValidatorInfo], history: &[HistoryEntry]) -> Vec<(PublicKey, String)> {
    let mut roster: Vec<(PublicKey, String)> = Vec::new();
    let sets = std::iter::once(genesis).chain(history.iter().map(|(_, set)| set.as_slice()));
    for set in sets {
        for validator in set {
            let addr = validator.p2p_addr.to_string();
            match roster
                .iter_mut()
                .find(|(key, _)| *key == validator.public_key)
            {
                Some(entry) => entry.1 = addr,
                None => roster.push((validator.public_key, addr)),
            }
        }
    }
    roster
}

/// The ids to dial at ledger height `tip` (see the module documentation).
pub fn to_dial(
    roster: &[(PublicKey, String)],
    genesis: &[ValidatorInfo],
    history: &[HistoryEntry],
    tip: u64,
    checkpoint_interval: u64,
    log_window: u64,
) -> Vec<ReplicaId> {
    let reach = checkpoint_interval.saturating_add(log_window);
    let mut keys: Vec<&PublicKey> = Vec::new();
    let mut previous = genesis;
    for (height, set) in history {
        if tip <= height.saturating_add(reach) {
            keys.extend(previous.iter().map(|v| &v.public_key));
        }
        previous = set;
    }
    keys.extend(previous.iter().map(|v| &v.public_key));
    roster
        .iter()
        .enumerate()
        .filter(|(_, (key, _))| keys.contains(&key))
        .map(|(i, _)| ReplicaId(i as u32))
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
    fn ids_are_genesis_order_then_additions_and_a_readded_key_keeps_its_id() {
        let genesis = vec![v(1, 1), v(2, 2), v(3, 3), v(4, 4)];
        let history = vec![
            (5, vec![v(1, 1), v(2, 2), v(3, 3), v(4, 4), v(5, 5)]),
            (20, vec![v(2, 2), v(3, 3), v(4, 4), v(5, 5)]),
            (
                40,
                vec![v(2, 2), v(3, 3), v(4, 4), v(5, 5), v(6, 6), v(1, 11)],
            ),
        ];
        let roster = roster(&genesis, &history);
        let keys: Vec<_> = roster.iter().map(|(k, _)| *k).collect();
        let expected: Vec<_> = [1, 2, 3, 4, 5, 6].map(|s| v(s, 0).public_key).to_vec();
        assert_eq!(keys, expected);
        assert_eq!(
            roster[0].1, "/ip4/127.0.0.1/tcp/11",
            "the latest address wins"
        );

        // Long after every change: only the current set.
        let dial = to_dial(&roster, &genesis, &history, 1000, 10, 40);
        assert_eq!(dial, [0, 1, 2, 3, 4, 5].map(ReplicaId).to_vec());
        let old = &history[..2];
        let dial = to_dial(&roster, &genesis, old, 1000, 10, 40);
        assert_eq!(dial, [1, 2, 3, 4].map(ReplicaId).to_vec());
        // Just after the removal at 20: the removed key is still dialled.
        let dial = to_dial(&roster, &genesis, old, 70, 10, 40);
        assert_eq!(dial, [0, 1, 2, 3, 4].map(ReplicaId).to_vec());
        let dial = to_dial(&roster, &genesis, old, 71, 10, 40);
        assert_eq!(dial, [1, 2, 3, 4].map(ReplicaId).to_vec());
    }
}
