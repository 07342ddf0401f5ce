//! Fault threshold, quorum and primary for `N` validators (DESIGN.md section 2).

use crate::types::{ReplicaId, View};

/// `f = floor((N - 1) / 3)`: the most Byzantine replicas the protocol tolerates.
pub fn max_faulty(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// `q = ceil((N + f + 1) / 2)`. For `N = 3f + 1` this is `2f + 1`; for other sizes it
/// still makes any two quorums share at least one honest replica (DESIGN.md section 2,
/// deviation from PBFT's fixed `2f + 1`).
pub fn quorum(n: usize) -> usize {
    (n + max_faulty(n) + 2) / 2
}

/// The primary of view `v` is `validators[v mod N]`. `n` must not be zero (a
/// configuration with no validators is refused by `ReplicaConfig::validate`).
pub fn primary_of(view: View, n: usize) -> ReplicaId {
    assert!(n > 0, "primary_of with no validators");
    let index = view.0 % n as u64;
    ReplicaId(u32::try_from(index).expect("validator index fits in u32: N <= MAX_VALIDATORS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DESIGN.md section 2: f and q for the sizes membership can reach.
    #[test]
    fn f_and_q_table() {
        // (N, f, q)
        let table = [
            (1, 0, 1),
            (2, 0, 2),
            (3, 0, 2),
            (4, 1, 3),
            (5, 1, 4),
            (6, 1, 4),
            (7, 2, 5),
            (8, 2, 6),
            (10, 3, 7),
            (100, 33, 67),
        ];
        for (n, f, q) in table {
            assert_eq!(max_faulty(n), f, "f for N = {n}");
            assert_eq!(quorum(n), q, "q for N = {n}");
        }
    }

    /// DESIGN.md section 2: two quorums intersect in more than f replicas, so in at
    /// least one honest one.
    #[test]
    fn two_quorums_share_an_honest_replica() {
        for n in 1..=MAX {
            assert!(2 * quorum(n) > n + max_faulty(n), "N = {n}");
            assert!(
                quorum(n) <= n - max_faulty(n),
                "liveness with f silent, N = {n}"
            );
        }
    }
    const MAX: usize = crate::types::MAX_VALIDATORS;

    #[test]
    fn primary_rotates_with_the_view() {
        assert_eq!(primary_of(View(0), 4), ReplicaId(0));
        assert_eq!(primary_of(View(5), 4), ReplicaId(1));
        assert_eq!(primary_of(View(u64::MAX), 4), ReplicaId(3));
    }
}
