//! The state tree: a fixed-shape merkle tree over 2^17 buckets of accounts.
//!
//! - An account's bucket is the first 17 bits of its address. Addresses are hash
//!   outputs, so accounts spread evenly over the buckets.
//! - Leaf hash: `SHA-256(0x00 || address || balance || nonce)` (little-endian u64s).
//! - Bucket hash: `SHA-256(0x02 || leaf hashes in address order)`; an empty bucket
//!   hashes to zero.
//! - Above the buckets sits a complete binary tree of 17 levels: a node is
//!   `SHA-256(0x01 || left || right)`, or zero when both children are zero, so the
//!   empty state has root zero.
//!
//! The nodes are numbered in heap order (node 1 is the root; node `i` has children
//! `2i` and `2i + 1`; bucket `b` is node `2^17 + b`) and stored in 2 KiB pages of
//! one array: 8 MiB when full, which stay in cache far better than a pointer or
//! hash-map tree. A page holds a subtree of six levels (63 nodes), so an account's
//! path from its bucket to the root crosses three pages. A page is made when first
//! written, and buckets are kept only when they hold accounts, so a small state (a
//! test's, a simulated replica's) costs little to make and drop: three pages per
//! account at most, where pages of consecutive nodes of one level took twelve, each
//! holding one node of the path. An update that touches `k`
//! accounts rehashes the `k` buckets they fall in and the paths above them (at most
//! `17k` nodes, fewer where paths share ancestors), so its cost follows the block,
//! not the state. Bucket rehashing grows with accounts per bucket (`n / 131072`):
//! 8 at a million accounts, 76 at ten million. (2^16 buckets measured 2.03x slower
//! at a million accounts than at ten thousand, 2^17 1.62x: BENCHMARKS.md.)
//!
//! Updates are computed against a [`TreeSource`] (the committed tree with any
//! speculative layers on top) into a [`TreeUpdate`], which the caller applies later
//! or drops.

use crate::account::{Account, Address};
use crypto::{Hash, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

const LEAF: u8 = 0x00;
const INNER: u8 = 0x01;
const BUCKET: u8 = 0x02;

/// Bits of the address that choose the bucket.
pub const BUCKET_BITS: u32 = 17;
/// The number of buckets.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// A bucket's accounts as (address, leaf hash), sorted by address.
pub type Bucket = Vec<(Address, Hash)>;

/// The bucket an address falls in.
pub fn bucket_of(address: &Address) -> usize {
    let prefix = u32::from_be_bytes([address.0[0], address.0[1], address.0[2], address.0[3]]);
    (prefix >> (32 - BUCKET_BITS)) as usize
}

/// What a leaf hash covers after its tag: address, balance, nonce.
const LEAF_INPUT: usize = std::mem::size_of::<Address>() + 16;

pub fn leaf_hash(address: &Address, account: &Account) -> Hash {
    let mut input = [0u8; LEAF_INPUT];
    let (addr, numbers) = input.split_at_mut(address.0.len());
    addr.copy_from_slice(&address.0);
    numbers[..8].copy_from_slice(&account.balance.to_le_bytes());
    numbers[8..].copy_from_slice(&account.nonce.to_le_bytes());
    let compute = || {
        let mut h = Sha256::new();
        h.update(&[LEAF]).update(&input);
        h.finish()
    };
    #[cfg(feature = "memo")]
    return super::hash_memo::leaf(input, compute);
    #[cfg(not(feature = "memo"))]
    compute()
}

fn bucket_hash(bucket: &Bucket) -> Hash {
    if bucket.is_empty() {
        return Hash::ZERO;
    }
    let mut h = Sha256::new();
    h.update(&[BUCKET]);
    for (_, leaf) in bucket {
        h.update(&leaf.0);
    }
    h.finish()
}

fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    if *left == Hash::ZERO && *right == Hash::ZERO {
        return Hash::ZERO;
    }
    let mut input = [0u8; 64];
    input[..32].copy_from_slice(&left.0);
    input[32..].copy_from_slice(&right.0);
    let compute = || {
        let mut h = Sha256::new();
        h.update(&[INNER]).update(&input);
        h.finish()
    };
    #[cfg(feature = "memo")]
    return super::hash_memo::inner(input, compute);
    #[cfg(not(feature = "memo"))]
    compute()
}

/// The committed tree: every bucket and every node.
pub struct Tree {
    /// The buckets that hold accounts; a missing one is empty.
    buckets: HashMap<u32, Bucket, BuildIndexHasher>,
    /// The nodes in subtree pages ([`page_of`]). A page that was never written is
    /// missing and reads as zeros, so a tree with few accounts (a test's, each
    /// simulated replica's) holds the pages its paths reach, not 8 MiB.
    nodes: Vec<Option<Box<[Hash; PAGE_NODES]>>>,
}

/// Levels per page: a page holds a subtree this deep.
const PAGE_LEVELS: u32 = 6;
/// Slots per page: 2 KiB. Slot 0 is unused; the subtree's nodes are numbered in
/// heap order from 1 within it.
const PAGE_NODES: usize = 1 << PAGE_LEVELS;
/// Pages of the whole tree: the root's subtree, then 2^6 subtrees, then 2^12 that
/// end at the buckets (levels 0-5, 6-11, 12-17).
const PAGES: usize = 1 + (1 << PAGE_LEVELS) + (1 << (2 * PAGE_LEVELS));

/// The page and slot of node `i` (heap order, `1 <= i < 2 * BUCKETS`).
fn page_of(i: usize) -> (usize, usize) {
    let depth = usize::BITS - 1 - i.leading_zeros();
    let band = depth / PAGE_LEVELS;
    let below = depth - band * PAGE_LEVELS;
    // The subtree's root, and the pages of the bands above this one.
    let top = i >> below;
    let first_page = ((1usize << (PAGE_LEVELS * band)) - 1) / (PAGE_NODES - 1);
    let page = first_page + (top - (1 << (PAGE_LEVELS * band)));
    let slot = (1 << below) | (i & ((1 << below) - 1));
    (page, slot)
}

/// What a missing bucket reads as.
static EMPTY_BUCKET: Bucket = Vec::new();

impl Default for Tree {
    fn default() -> Self {
        Tree {
            buckets: HashMap::default(),
            nodes: vec![None; PAGES],
        }
    }
}

impl Tree {
    pub fn root(&self) -> Hash {
        self.node(1)
    }

    pub fn apply(&mut self, update: TreeUpdate) {
        for (b, bucket) in update.buckets {
            if bucket.is_empty() {
                self.buckets.remove(&b);
            } else {
                self.buckets.insert(b, bucket);
            }
        }
        for (i, hash) in update.nodes {
            let (page, slot) = page_of(i as usize);
            let page = self.nodes[page].get_or_insert_with(|| Box::new([Hash::ZERO; PAGE_NODES]));
            page[slot] = hash;
        }
    }
}

/// Where an update reads the current tree from.
pub trait TreeSource {
    fn bucket(&self, b: usize) -> &Bucket;
    fn node(&self, i: usize) -> Hash;
}

impl TreeSource for Tree {
    fn bucket(&self, b: usize) -> &Bucket {
        self.buckets.get(&(b as u32)).unwrap_or(&EMPTY_BUCKET)
    }

    fn node(&self, i: usize) -> Hash {
        let (page, slot) = page_of(i);
        self.nodes[page]
            .as_ref()
            .map_or(Hash::ZERO, |page| page[slot])
    }
}

/// The new buckets and nodes of one update.
#[derive(Debug, Clone, Default)]
pub struct TreeUpdate {
    pub buckets: BTreeMap<u32, Bucket>,
    pub nodes: HashMap<u32, Hash, BuildIndexHasher>,
}

/// Computes the tree after setting the accounts in `changes` on top of `source`;
/// returns the new root and what changed.
pub fn update(
    source: &impl TreeSource,
    changes: &BTreeMap<Address, Account>,
) -> (Hash, TreeUpdate) {
    let mut out = TreeUpdate::default();
    if changes.is_empty() {
        return (source.node(1), out);
    }
    // Changes are sorted by address, so each bucket's changes are contiguous and
    // buckets come in increasing order.
    let mut level: Vec<(usize, Hash)> = Vec::new();
    let mut changes = changes.iter().peekable();
    while let Some((first, _)) = changes.peek() {
        let b = bucket_of(first);
        let mut bucket = source.bucket(b).clone();
        while let Some((address, account)) = changes.next_if(|(a, _)| bucket_of(a) == b) {
            let leaf = leaf_hash(address, account);
            match bucket.binary_search_by(|(a, _)| a.cmp(address)) {
                Ok(at) => bucket[at].1 = leaf,
                Err(at) => bucket.insert(at, (*address, leaf)),
            }
        }
        level.push((BUCKETS + b, bucket_hash(&bucket)));
        out.buckets.insert(b as u32, bucket);
    }
    // Walk up one level at a time. `level` is sorted by index, so two siblings that
    // both changed are adjacent.
    out.nodes.reserve(level.len() * 4);
    while level[0].0 > 1 {
        for &(i, hash) in &level {
            out.nodes.insert(i as u32, hash);
        }
        let mut parents = Vec::with_capacity(level.len() / 2 + 1);
        let mut at = 0;
        while at < level.len() {
            let (i, hash) = level[at];
            let parent = i / 2;
            let (left, right) = if i % 2 == 0 {
                match level.get(at + 1) {
                    Some(&(j, sibling)) if j == i + 1 => {
                        at += 1;
                        (hash, sibling)
                    }
                    _ => (hash, source.node(i + 1)),
                }
            } else {
                (source.node(i - 1), hash)
            };
            parents.push((parent, inner_hash(&left, &right)));
            at += 1;
        }
        level = parents;
    }
    let root = level[0].1;
    out.nodes.insert(1, root);
    (root, out)
}

/// A hasher for node indexes: one multiply spreads them over the table.
#[derive(Default, Clone, Copy)]
pub struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.0 = (value as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[derive(Default, Clone, Copy, Debug)]
pub struct BuildIndexHasher;

impl BuildHasher for BuildIndexHasher {
    type Hasher = IndexHasher;
    fn build_hasher(&self) -> IndexHasher {
        IndexHasher::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn every_node_has_its_own_page_slot_and_a_path_crosses_three_pages() {
        let mut seen = std::collections::HashSet::new();
        for i in 1..2 * BUCKETS {
            let (page, slot) = page_of(i);
            assert!(page < PAGES && (1..PAGE_NODES).contains(&slot), "node {i}");
            assert!(seen.insert((page, slot)), "node {i} shares a slot");
        }
        let mut pages: Vec<usize> =
            std::iter::successors(Some(BUCKETS + 12_345), |i| (*i > 1).then_some(i / 2))
                .map(|i| page_of(i).0)
                .collect();
        pages.dedup();
        assert_eq!(pages.len(), 3);
    }

    /// The definition, computed from scratch: the reference the tree must match.
    fn reference_root(accounts: &BTreeMap<Address, Account>) -> Hash {
        let mut buckets: Vec<Bucket> = vec![Vec::new(); BUCKETS];
        for (a, acc) in accounts {
            buckets[bucket_of(a)].push((*a, leaf_hash(a, acc)));
        }
        let mut level: Vec<Hash> = buckets.iter().map(bucket_hash).collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| inner_hash(&pair[0], &pair[1]))
                .collect();
        }
        level[0]
    }

    fn apply(tree: &mut Tree, accounts: &BTreeMap<Address, Account>) -> Hash {
        let (root, update) = update(tree, accounts);
        tree.apply(update);
        assert_eq!(tree.root(), root);
        root
    }

    #[test]
    fn empty_tree_has_zero_root() {
        let tree = Tree::default();
        assert_eq!(tree.root(), Hash::ZERO);
        let (root, update) = update(&tree, &BTreeMap::new());
        assert_eq!(root, Hash::ZERO);
        assert!(update.nodes.is_empty() && update.buckets.is_empty());
    }

    #[test]
    fn incremental_updates_match_the_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut all = BTreeMap::new();
        let mut tree = Tree::default();
        for round in 0..25 {
            let mut changes = BTreeMap::new();
            for _ in 0..rng.gen_range(1..60) {
                // Reuse existing addresses half the time; crowd some into one bucket
                // and put some in neighbouring buckets (sibling paths).
                let address = if !all.is_empty() && rng.gen_bool(0.5) {
                    *all.keys().nth(rng.gen_range(0..all.len())).unwrap()
                } else {
                    let mut a = Address(rng.gen());
                    if rng.gen_bool(0.3) {
                        a.0[..2].copy_from_slice(&[0x5a, rng.gen_range(0..4)]);
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
        let mut one_shot = Tree::default();
        let a = apply(&mut one_shot, &accounts);
        let mut one_by_one = Tree::default();
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
        let mut tree = Tree::default();
        let before = apply(&mut tree, &accounts);
        let changed = Account {
            balance: 0,
            nonce: 1,
        };
        accounts.insert(Address([7; 20]), changed);
        let after = apply(&mut tree, &BTreeMap::from([(Address([7; 20]), changed)]));
        assert_ne!(before, after);
        assert_eq!(after, reference_root(&accounts));
    }

    #[test]
    fn accounts_sharing_a_bucket_are_bound_to_their_addresses() {
        // Swapping two accounts' values inside one bucket changes the root.
        let a = Address([1; 20]);
        let mut b = a;
        b.0[19] = 2;
        assert_eq!(bucket_of(&a), bucket_of(&b));
        let x = Account {
            balance: 1,
            nonce: 0,
        };
        let y = Account {
            balance: 2,
            nonce: 0,
        };
        let mut t1 = Tree::default();
        let r1 = apply(&mut t1, &BTreeMap::from([(a, x), (b, y)]));
        let mut t2 = Tree::default();
        let r2 = apply(&mut t2, &BTreeMap::from([(a, y), (b, x)]));
        assert_ne!(r1, r2);
    }
}
