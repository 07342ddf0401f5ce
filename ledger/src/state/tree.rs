//! The state tree: a sparse binary merkle tree over 160-bit addresses, compressed so
//! that a subtree holding one account is represented by that account's leaf.
//!
//! - Leaf hash: `SHA-256(0x00 || address || balance || nonce)` (little-endian u64s).
//! - Inner node: `SHA-256(0x01 || left || right)`; an empty subtree hashes to zero.
//! - A subtree with exactly one leaf has that leaf's hash, wherever the leaf sits, so
//!   a path is only as long as the longest shared address prefix (about log2 of the
//!   number of accounts), not 160 levels.
//!
//! An update touches only the paths to the changed leaves: with `k` changed accounts
//! among `n`, it hashes about `k * log2(n / k) + k` nodes and never looks at the rest.
//! Accounts are never deleted, so nodes are only added or overwritten; no update
//! ever has to collapse a subtree.
//!
//! Nodes live in a hash map keyed by (depth, path prefix). Updates are computed
//! against a [`NodeSource`] (the committed tree with any speculative layers on top)
//! and written to a separate map, which the caller applies later or drops.

use crate::account::{Account, Address};
use crypto::{Hash, Sha256};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

const LEAF: u8 = 0x00;
const INNER: u8 = 0x01;

/// The position of a subtree: its depth and the address bits leading to it (the bits
/// at and below `depth` are zero).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeKey {
    depth: u8,
    path: [u8; 20],
}

impl NodeKey {
    pub const ROOT: NodeKey = NodeKey {
        depth: 0,
        path: [0; 20],
    };

    fn child(&self, right: bool) -> NodeKey {
        let d = self.depth as usize;
        assert!(d < 160, "the state tree has 160 levels");
        let mut path = self.path;
        if right {
            path[d / 8] |= 0x80 >> (d % 8);
        }
        NodeKey {
            depth: self.depth + 1,
            path,
        }
    }
}

impl std::hash::Hash for NodeKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Paths are prefixes of SHA-256 output: already uniform. Fold them into one
        // word and finish with splitmix64 so that depth separates equal prefixes.
        let word = |range: std::ops::Range<usize>| {
            let mut buf = [0u8; 8];
            buf[..range.len()].copy_from_slice(&self.path[range]);
            u64::from_be_bytes(buf)
        };
        let mut x = word(0..8)
            ^ word(8..16).rotate_left(21)
            ^ word(16..20).rotate_left(42)
            ^ (self.depth as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 30;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        state.write_u64(x);
    }
}

/// A hasher that passes through the one word [`NodeKey`] writes.
#[derive(Default, Clone, Copy)]
pub struct NodeKeyHasher(u64);

impl Hasher for NodeKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[derive(Default, Clone, Copy)]
pub struct BuildNodeKeyHasher;

impl BuildHasher for BuildNodeKeyHasher {
    type Hasher = NodeKeyHasher;
    fn build_hasher(&self) -> NodeKeyHasher {
        NodeKeyHasher::default()
    }
}

/// A stored node: a leaf at its shortest unique position, or an inner node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Node {
    Leaf { address: Address, hash: Hash },
    Inner { hash: Hash },
}

impl Node {
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { hash, .. } | Node::Inner { hash } => *hash,
        }
    }
}

pub type NodeMap = HashMap<NodeKey, Node, BuildNodeKeyHasher>;

/// Where an update reads the current tree from.
pub trait NodeSource {
    fn node(&self, key: &NodeKey) -> Option<Node>;

    fn root_hash(&self) -> Hash {
        self.node(&NodeKey::ROOT).map_or(Hash::ZERO, |n| n.hash())
    }
}

impl NodeSource for NodeMap {
    fn node(&self, key: &NodeKey) -> Option<Node> {
        self.get(key).copied()
    }
}

pub fn leaf_hash(address: &Address, account: &Account) -> Hash {
    let mut h = Sha256::new();
    h.update(&[LEAF])
        .update(&address.0)
        .update(&account.balance.to_le_bytes())
        .update(&account.nonce.to_le_bytes());
    h.finish()
}

fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(&[INNER]).update(&left.0).update(&right.0);
    h.finish()
}

/// Computes the tree after setting the leaves in `changes` (sorted by address, no
/// address twice) on top of `source`. New and overwritten nodes go into `writes`;
/// returns the new root.
pub fn update(source: &impl NodeSource, changes: &[(Address, Hash)], writes: &mut NodeMap) -> Hash {
    debug_assert!(changes.windows(2).all(|w| w[0].0 < w[1].0));
    if changes.is_empty() {
        return source.root_hash();
    }
    update_subtree(source, NodeKey::ROOT, changes, writes)
}

fn update_subtree(
    source: &impl NodeSource,
    key: NodeKey,
    changes: &[(Address, Hash)],
    writes: &mut NodeMap,
) -> Hash {
    match source.node(&key) {
        None if changes.len() == 1 => write_leaf(key, changes[0], writes),
        None | Some(Node::Inner { .. }) => split(source, key, changes, writes),
        Some(Node::Leaf { address, hash }) => {
            if changes.len() == 1 && changes[0].0 == address {
                return write_leaf(key, changes[0], writes);
            }
            // The lone leaf gains company: push it down with the changes (unless
            // one of them replaces it) and turn this position into an inner node.
            let mut merged = changes.to_vec();
            if let Err(at) = merged.binary_search_by(|(a, _)| a.cmp(&address)) {
                merged.insert(at, (address, hash));
            }
            split(source, key, &merged, writes)
        }
    }
}

fn write_leaf(key: NodeKey, (address, hash): (Address, Hash), writes: &mut NodeMap) -> Hash {
    writes.insert(key, Node::Leaf { address, hash });
    hash
}

/// Updates both children of `key` (which holds two or more leaves after the update)
/// and writes the inner node.
fn split(
    source: &impl NodeSource,
    key: NodeKey,
    changes: &[(Address, Hash)],
    writes: &mut NodeMap,
) -> Hash {
    let depth = key.depth as usize;
    let at = changes.partition_point(|(address, _)| !address.bit(depth));
    let (left_changes, right_changes) = changes.split_at(at);
    let mut child = |right: bool, changes: &[(Address, Hash)]| {
        let child_key = key.child(right);
        if changes.is_empty() {
            source.node(&child_key).map_or(Hash::ZERO, |n| n.hash())
        } else {
            update_subtree(source, child_key, changes, writes)
        }
    };
    let left = child(false, left_changes);
    let right = child(true, right_changes);
    let hash = inner_hash(&left, &right);
    writes.insert(key, Node::Inner { hash });
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// The definition, computed from scratch: the reference the tree must match.
    fn reference_root(accounts: &BTreeMap<Address, Account>) -> Hash {
        fn subtree(leaves: &[(Address, Hash)], depth: usize) -> Hash {
            match leaves.len() {
                0 => Hash::ZERO,
                1 => leaves[0].1,
                _ => {
                    let at = leaves.partition_point(|(a, _)| !a.bit(depth));
                    inner_hash(
                        &subtree(&leaves[..at], depth + 1),
                        &subtree(&leaves[at..], depth + 1),
                    )
                }
            }
        }
        let leaves: Vec<(Address, Hash)> = accounts
            .iter()
            .map(|(a, acc)| (*a, leaf_hash(a, acc)))
            .collect();
        subtree(&leaves, 0)
    }

    fn apply(tree: &mut NodeMap, accounts: &BTreeMap<Address, Account>) -> Hash {
        let changes: Vec<(Address, Hash)> = accounts
            .iter()
            .map(|(a, acc)| (*a, leaf_hash(a, acc)))
            .collect();
        let mut writes = NodeMap::default();
        let root = update(tree, &changes, &mut writes);
        tree.extend(writes);
        root
    }

    #[test]
    fn empty_tree_has_zero_root() {
        assert_eq!(NodeMap::default().root_hash(), Hash::ZERO);
        let mut writes = NodeMap::default();
        assert_eq!(update(&NodeMap::default(), &[], &mut writes), Hash::ZERO);
        assert!(writes.is_empty());
    }

    #[test]
    fn incremental_updates_match_the_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut all = BTreeMap::new();
        let mut tree = NodeMap::default();
        for round in 0..60 {
            let mut changes = BTreeMap::new();
            for _ in 0..rng.gen_range(1..40) {
                // Reuse existing addresses half the time, and make near-collisions
                // (long shared prefixes) common to exercise deep paths.
                let address = if !all.is_empty() && rng.gen_bool(0.5) {
                    *all.keys().nth(rng.gen_range(0..all.len())).unwrap()
                } else {
                    let mut a = Address(rng.gen());
                    if rng.gen_bool(0.3) {
                        a.0[..18].copy_from_slice(&[0x5a; 18]);
                    }
                    a
                };
                changes.insert(
                    address,
                    Account {
                        balance: rng.gen(),
                        nonce: round,
                    },
                );
            }
            all.extend(changes.clone());
            let root = apply(&mut tree, &changes);
            assert_eq!(root, reference_root(&all), "round {round}");
        }
    }

    #[test]
    fn order_of_updates_does_not_change_the_root() {
        let accounts: BTreeMap<Address, Account> = (0..200u64)
            .map(|i| {
                (
                    Address::of(&crypto::SigningKey::from_seed([i as u8; 32]).public_key()),
                    Account {
                        balance: i,
                        nonce: 0,
                    },
                )
            })
            .collect();
        let mut one_shot = NodeMap::default();
        let a = apply(&mut one_shot, &accounts);
        let mut one_by_one = NodeMap::default();
        let mut b = Hash::ZERO;
        for (addr, acc) in accounts.iter().rev() {
            b = apply(&mut one_by_one, &BTreeMap::from([(*addr, *acc)]));
        }
        assert_eq!(a, b);
        assert_eq!(a, reference_root(&accounts));
    }

    #[test]
    fn any_account_change_changes_the_root() {
        let mut accounts: BTreeMap<Address, Account> = (0..50u8)
            .map(|i| (Address([i; 20]), Account::default()))
            .collect();
        let mut tree = NodeMap::default();
        let before = apply(&mut tree, &accounts);
        accounts.insert(
            Address([7; 20]),
            Account {
                balance: 0,
                nonce: 1,
            },
        );
        let after = apply(
            &mut tree,
            &BTreeMap::from([(Address([7; 20]), accounts[&Address([7; 20])])]),
        );
        assert_ne!(before, after);
        assert_eq!(after, reference_root(&accounts));
    }
}
