//! A per-thread memo of state-tree hashes, for the simulator (cargo feature `memo`).
//!
//! Every simulated replica executes every block on its own copy of the state, so a
//! seed computes each leaf and inner-node hash of the tree once per replica: the
//! same SHA-256 over the same bytes, four times or more. While a [`TreeHashMemo`]
//! guard lives on a thread, [`leaf`] and [`inner`] look the hash up by its whole
//! input first. SHA-256 is a function: the memo's answer is the one computing it
//! would give, and each replica still builds, reads and checks its own tree.
//!
//! The memo is per thread and inert unless installed; the node never installs it.

use crypto::Hash;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// A leaf's input: a 20-byte address and two u64s.
const LEAF: usize = 36;

/// Above this many entries a table starts over, so a long run stays bounded.
const MAX_ENTRIES: usize = 1 << 20;

#[derive(Default)]
struct Memo {
    /// Leaf input: address, balance and nonce.
    leaves: HashMap<[u8; LEAF], Hash, BuildWordHasher>,
    /// Inner-node input: the two children.
    inner: HashMap<[u8; 64], Hash, BuildWordHasher>,
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// While alive, this thread remembers the tree hashes it computes. Dropping it puts
/// back what was in force before (guards nest).
#[must_use = "the memo is in force only while the guard lives"]
pub struct TreeHashMemo {
    previous: Option<Memo>,
}

impl TreeHashMemo {
    /// Puts an empty memo in force on this thread.
    pub fn install() -> TreeHashMemo {
        let previous = MEMO.with(|m| m.borrow_mut().replace(Memo::default()));
        TreeHashMemo { previous }
    }
}

impl Drop for TreeHashMemo {
    fn drop(&mut self) {
        let previous = self.previous.take();
        MEMO.with(|m| *m.borrow_mut() = previous);
    }
}

fn remembered<const N: usize>(
    table: impl Fn(&mut Memo) -> &mut HashMap<[u8; N], Hash, BuildWordHasher>,
    input: [u8; N],
    compute: impl FnOnce() -> Hash,
) -> Hash {
    MEMO.with(|m| {
        let mut memo = m.borrow_mut();
        let Some(memo) = memo.as_mut() else {
            return compute();
        };
        let table = table(memo);
        if let Some(hash) = table.get(&input) {
            return *hash;
        }
        if table.len() >= MAX_ENTRIES {
            table.clear();
        }
        let hash = compute();
        table.insert(input, hash);
        hash
    })
}

/// The leaf hash over `input` (address, balance, nonce), which `compute` makes.
pub(super) fn leaf(input: [u8; LEAF], compute: impl FnOnce() -> Hash) -> Hash {
    remembered(|memo| &mut memo.leaves, input, compute)
}

/// The inner-node hash over `input` (left, right), which `compute` makes.
pub(super) fn inner(input: [u8; 64], compute: impl FnOnce() -> Hash) -> Hash {
    remembered(|memo| &mut memo.inner, input, compute)
}

/// A hasher for hash inputs: their bytes are hash outputs and addresses, already
/// spread, so folding a few words is enough to place them.
#[derive(Default, Clone, Copy)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

#[derive(Default, Clone, Copy)]
struct BuildWordHasher;

impl BuildHasher for BuildWordHasher {
    type Hasher = WordHasher;
    fn build_hasher(&self) -> WordHasher {
        WordHasher::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_computing_gives_and_only_while_installed() {
        let a = [7u8; 64];
        let mut b = a;
        b[63] ^= 1;
        let calls = std::cell::Cell::new(0);
        let hash_of = |input: [u8; 64]| {
            calls.set(calls.get() + 1);
            crypto::sha256(&input)
        };
        {
            let _memo = TreeHashMemo::install();
            assert_eq!(inner(a, || hash_of(a)), crypto::sha256(&a));
            assert_eq!(inner(a, || hash_of(a)), crypto::sha256(&a));
            assert_eq!(calls.get(), 1, "the second answer came from the memo");
            assert_eq!(inner(b, || hash_of(b)), crypto::sha256(&b));
            assert_eq!(calls.get(), 2, "other bytes are computed");
        }
        assert_eq!(inner(a, || hash_of(a)), crypto::sha256(&a));
        assert_eq!(calls.get(), 3, "without a guard every hash is computed");
    }
}
