//! Who orders which heights (DESIGN.md section 6).
//!
//! A governance transaction committed at height `h` changes the validator set from
//! height `S + 1` on, where `S` = [`switch_height`]`(h)`: the first checkpoint above
//! `h`, plus the window L. No honest replica can have signed anything above `S` in
//! the old set when it learns of the change (it learns when it commits `h`, and its
//! window then ends at or below `h + L`), so heights up to `S` are ordered and
//! certified by the old set and heights above it by the new one, at every replica.
//!
//! Replica ids are stable: positions in the **roster**, the genesis validators in
//! genesis order followed by every key a change adds, in chain order, the first time
//! it appears. Removing a validator renumbers nobody.

use crate::quorum::{max_faulty, primary_of, quorum};
use crate::types::{ReplicaId, SeqNo, View, MAX_VALIDATORS};
use crypto::PublicKey;

/// The most keys a roster may hold: every validator a chain ever admitted.
pub const MAX_ROSTER: usize = 4 * MAX_VALIDATORS;

/// A committed governance change: the validator set (in ledger order) after the
/// block at `height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    pub height: SeqNo,
    pub validators: Vec<PublicKey>,
}

/// The validator set that orders heights from `first` on (until the next epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch {
    pub first: SeqNo,
    /// Roster ids, in ledger order: the primary of view `v` is `members[v mod N]`.
    pub members: Vec<ReplicaId>,
}

impl Epoch {
    pub fn n(&self) -> usize {
        self.members.len()
    }

    pub fn f(&self) -> usize {
        max_faulty(self.n())
    }

    pub fn q(&self) -> usize {
        quorum(self.n())
    }

    pub fn contains(&self, id: ReplicaId) -> bool {
        self.members.contains(&id)
    }

    /// The primary of `view` in this epoch.
    pub fn primary(&self, view: View) -> ReplicaId {
        self.members[primary_of(view, self.n()).index()]
    }
}

/// The last height the set before a change committed at `change_height` orders: the
/// first multiple of K above it, plus L.
pub fn switch_height(change_height: SeqNo, checkpoint_interval: u64, log_window: u64) -> SeqNo {
    let k = checkpoint_interval.max(1);
    SeqNo(
        (change_height.0 / k)
            .saturating_add(1)
            .saturating_mul(k)
            .saturating_add(log_window),
    )
}

/// Why a membership history was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("a validator set of {n}: must be 1 to {MAX_VALIDATORS}")]
    SetSize { n: usize },
    #[error("a public key appears twice in one validator set")]
    Duplicate,
    #[error("the roster would exceed {MAX_ROSTER} keys")]
    RosterFull,
    #[error("membership changes out of height order at {height:?}")]
    OutOfOrder { height: SeqNo },
}

/// The roster and the epochs: which validators order which heights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    roster: Vec<PublicKey>,
    /// In order of `first`; the first starts at height 1.
    epochs: Vec<Epoch>,
    /// The height of the last change recorded (changes come in height order).
    last_change: SeqNo,
    /// The heights of every change recorded.
    heights: Vec<SeqNo>,
    checkpoint_interval: u64,
    log_window: u64,
}

impl Membership {
    /// The membership of a chain with `genesis` validators after `changes` (in chain
    /// order), for checkpoint interval `k` and window `l`.
    pub fn new(
        genesis: &[PublicKey],
        changes: &[MembershipChange],
        k: u64,
        l: u64,
    ) -> Result<Membership, MembershipError> {
        check_set(genesis)?;
        let mut membership = Membership {
            roster: genesis.to_vec(),
            epochs: vec![Epoch {
                first: SeqNo(1),
                members: (0..genesis.len()).map(|i| ReplicaId(i as u32)).collect(),
            }],
            last_change: SeqNo(0),
            heights: Vec::new(),
            checkpoint_interval: k,
            log_window: l,
        };
        for change in changes {
            membership.record(change)?;
        }
        Ok(membership)
    }

    /// Records a change committed at `change.height` (after every change recorded
    /// so far): its set orders heights from `switch_height + 1` on. A later change
    /// with the same switch height replaces it.
    ///
    /// A change at a height recorded already is ignored (a host may report the
    /// changes of a transferred stretch that overlaps what it reported before).
    pub fn record(&mut self, change: &MembershipChange) -> Result<(), MembershipError> {
        if self.heights.contains(&change.height) {
            return Ok(());
        }
        if change.height <= self.last_change && self.last_change != SeqNo(0) {
            return Err(MembershipError::OutOfOrder {
                height: change.height,
            });
        }
        check_set(&change.validators)?;
        let mut roster = self.roster.clone();
        let mut members = Vec::with_capacity(change.validators.len());
        for key in &change.validators {
            let id = match roster.iter().position(|k| k == key) {
                Some(at) => at,
                None => {
                    if roster.len() >= MAX_ROSTER {
                        return Err(MembershipError::RosterFull);
                    }
                    roster.push(*key);
                    roster.len() - 1
                }
            };
            members.push(ReplicaId(id as u32));
        }
        let first = switch_height(change.height, self.checkpoint_interval, self.log_window).next();
        self.roster = roster;
        self.last_change = change.height;
        self.heights.push(change.height);
        if self.epochs.last().is_some_and(|e| e.first == first) {
            self.epochs.pop();
        }
        self.epochs.push(Epoch { first, members });
        Ok(())
    }

    /// Every key the chain admitted; a replica id is a position in it.
    pub fn roster(&self) -> &[PublicKey] {
        &self.roster
    }

    pub fn id_of(&self, key: &PublicKey) -> Option<ReplicaId> {
        self.roster
            .iter()
            .position(|k| k == key)
            .map(|i| ReplicaId(i as u32))
    }

    pub fn key_of(&self, id: ReplicaId) -> Option<&PublicKey> {
        self.roster.get(id.index())
    }

    /// Every epoch, in order.
    pub fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }

    /// The epoch that orders height `seq` (genesis belongs to the first).
    pub fn at(&self, seq: SeqNo) -> &Epoch {
        self.epochs
            .iter()
            .rev()
            .find(|e| e.first <= seq)
            .unwrap_or(&self.epochs[0])
    }

    /// q of the epoch that orders `seq`.
    pub fn quorum_at(&self, seq: SeqNo) -> usize {
        self.at(seq).q()
    }

    /// The last height the epoch ordering `seq` orders, if a later epoch is known.
    pub fn end_of(&self, seq: SeqNo) -> Option<SeqNo> {
        self.epochs
            .iter()
            .find(|e| e.first > seq)
            .map(|e| e.first.prev())
    }

    /// Whether `id` orders any height from `seq` on (a member now or later).
    pub fn member_from(&self, seq: SeqNo, id: ReplicaId) -> bool {
        self.at(seq).contains(id) || self.epochs.iter().any(|e| e.first > seq && e.contains(id))
    }
}

fn check_set(set: &[PublicKey]) -> Result<(), MembershipError> {
    if set.is_empty() || set.len() > MAX_VALIDATORS {
        return Err(MembershipError::SetSize { n: set.len() });
    }
    let mut sorted = set.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != set.len() {
        return Err(MembershipError::Duplicate);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::SigningKey;

    fn key(i: u8) -> PublicKey {
        SigningKey::from_seed([i; 32]).public_key()
    }

    fn keys(ids: &[u8]) -> Vec<PublicKey> {
        ids.iter().map(|&i| key(i)).collect()
    }

    #[test]
    fn switch_is_the_first_checkpoint_above_the_change_plus_the_window() {
        assert_eq!(switch_height(SeqNo(1), 10, 40), SeqNo(50));
        assert_eq!(switch_height(SeqNo(9), 10, 40), SeqNo(50));
        // A change at a checkpoint height: the next checkpoint, not this one.
        assert_eq!(switch_height(SeqNo(10), 10, 40), SeqNo(60));
        assert_eq!(switch_height(SeqNo(u64::MAX), 10, 40), SeqNo(u64::MAX));
    }

    #[test]
    fn ids_are_stable_and_epochs_follow_the_changes() {
        let changes = [
            MembershipChange {
                height: SeqNo(3),
                validators: keys(&[1, 2, 3, 4, 5]),
            },
            MembershipChange {
                height: SeqNo(70),
                validators: keys(&[1, 3, 4, 5]),
            },
            MembershipChange {
                height: SeqNo(200),
                validators: keys(&[1, 3, 4, 5, 2]),
            },
        ];
        let m = Membership::new(&keys(&[1, 2, 3, 4]), &changes, 10, 40).unwrap();
        assert_eq!(m.roster(), keys(&[1, 2, 3, 4, 5]).as_slice());
        assert_eq!(m.at(SeqNo(0)).n(), 4);
        assert_eq!(m.at(SeqNo(50)).n(), 4);
        assert_eq!(m.at(SeqNo(51)).n(), 5);
        assert_eq!(m.end_of(SeqNo(50)), Some(SeqNo(50)));
        assert_eq!(m.at(SeqNo(120)).members.len(), 5);
        let removed = m.at(SeqNo(121));
        assert_eq!(
            removed.members,
            vec![ReplicaId(0), ReplicaId(2), ReplicaId(3), ReplicaId(4)]
        );
        // Re-adding key 2 gives it back its id; it is last in ledger order.
        let back = m.at(SeqNo(251));
        assert_eq!(back.members.last(), Some(&ReplicaId(1)));
        assert_eq!(back.primary(View(4)), ReplicaId(1));
        assert_eq!(m.end_of(SeqNo(251)), None);
        assert!(m.member_from(SeqNo(130), ReplicaId(1)));
        assert!(!m.at(SeqNo(130)).contains(ReplicaId(1)));
    }

    #[test]
    fn a_later_change_with_the_same_switch_replaces_the_earlier() {
        let changes = [
            MembershipChange {
                height: SeqNo(3),
                validators: keys(&[1, 2, 3, 4, 5]),
            },
            MembershipChange {
                height: SeqNo(7),
                validators: keys(&[1, 2, 3, 4, 5, 6]),
            },
        ];
        let m = Membership::new(&keys(&[1, 2, 3, 4]), &changes, 10, 40).unwrap();
        assert_eq!(m.epochs().len(), 2);
        assert_eq!(m.at(SeqNo(51)).n(), 6);
    }

    #[test]
    fn bad_histories_are_refused() {
        let genesis = keys(&[1, 2, 3, 4]);
        let dup = [MembershipChange {
            height: SeqNo(3),
            validators: keys(&[1, 1, 3, 4]),
        }];
        assert_eq!(
            Membership::new(&genesis, &dup, 10, 40),
            Err(MembershipError::Duplicate)
        );
        let backwards = [
            MembershipChange {
                height: SeqNo(5),
                validators: keys(&[1, 2, 3, 4, 5]),
            },
            MembershipChange {
                height: SeqNo(4),
                validators: keys(&[1, 2, 3, 4]),
            },
        ];
        assert_eq!(
            Membership::new(&genesis, &backwards, 10, 40),
            Err(MembershipError::OutOfOrder { height: SeqNo(4) })
        );
    }
}
