//! A binary merkle root over a list of hashes (the transaction root of a block).
//!
//! Leaves and inner nodes are hashed with different prefixes (0x00, 0x01), so a leaf
//! can never be passed off as an inner node. An odd node at the end of a level is
//! carried up unchanged rather than paired with a copy of itself, so two different
//! lists never share a root (the duplicated-last-leaf ambiguity of Bitcoin's tree).

use crate::hash::{Hash, Sha256};

const LEAF: u8 = 0x00;
const NODE: u8 = 0x01;

/// The merkle root of `leaves`, in order. The empty list has root [`Hash::ZERO`].
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = leaves
        .iter()
        .map(|leaf| {
            let mut h = Sha256::new();
            h.update(&[LEAF]).update(leaf.as_bytes());
            h.finish()
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut h = Sha256::new();
                    h.update(&[NODE])
                        .update(left.as_bytes())
                        .update(right.as_bytes());
                    h.finish()
                }
                [odd] => *odd,
                _ => unreachable!("chunks(2) yields one or two items"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;

    fn leaves(n: u32) -> Vec<Hash> {
        (0..n).map(|i| sha256(&i.to_le_bytes())).collect()
    }

    #[test]
    fn empty_list_has_zero_root() {
        assert_eq!(merkle_root(&[]), Hash::ZERO);
    }

    #[test]
    fn single_leaf_root_is_the_prefixed_leaf_hash_not_the_leaf() {
        let l = leaves(1);
        let root = merkle_root(&l);
        assert_ne!(root, l[0]);
        let mut expected = vec![LEAF];
        expected.extend_from_slice(l[0].as_bytes());
        assert_eq!(root, sha256(&expected));
    }

    #[test]
    fn root_depends_on_every_leaf_and_its_position() {
        for n in 1..20 {
            let base = leaves(n);
            let root = merkle_root(&base);
            for i in 0..n as usize {
                let mut changed = base.clone();
                changed[i] = sha256(b"other");
                assert_ne!(merkle_root(&changed), root, "n={n} i={i}");
            }
            if n > 1 {
                let mut swapped = base.clone();
                swapped.swap(0, n as usize - 1);
                assert_ne!(merkle_root(&swapped), root, "n={n}");
            }
        }
    }

    #[test]
    fn duplicating_the_last_leaf_changes_the_root() {
        let three = leaves(3);
        let mut four = three.clone();
        four.push(three[2]);
        assert_ne!(merkle_root(&three), merkle_root(&four));
    }
}
