//! The replica's own invariants, checked after every step with `assert!`s that stay
//! on in release builds (STYLE.md habit 5): a broken one is a bug here, never the
//! fault of another replica.

use super::Replica;
use crate::output::Ready;
use crate::types::SeqNo;

impl Replica {
    pub(super) fn check_invariants(&self, committed_before: SeqNo, ready: &Ready) {
        self.check_window();
        self.check_slots();
        self.check_commits(committed_before, ready);
    }

    /// h <= committed <= executed <= H; the log holds at most L heights, all in
    /// (h, H]; the stable checkpoint is h.
    fn check_window(&self) {
        let (low, high) = (self.log.low(), self.log.high());
        assert!(
            low <= self.last_committed,
            "committed {} below h {low}",
            self.last_committed
        );
        assert!(
            self.last_committed <= self.execution.executed_through,
            "committed beyond executed"
        );
        assert!(
            self.execution.executed_through <= high,
            "executed beyond H {high}"
        );
        assert!(
            self.log.len() as u64 <= self.config.log_window,
            "log longer than L"
        );
        for seq in self
            .held_height_bounds()
            .into_iter()
            .flat_map(|(l, h)| [l, h])
        {
            assert!(
                self.log.in_window(seq),
                "holding {seq} outside ({low}, {high}]"
            );
        }
        let stable = self
            .checkpoints
            .stable()
            .map_or(SeqNo(0), |stable| stable.seq);
        assert_eq!(stable, low, "h is the last stable checkpoint");
    }

    /// Each slot holds at most one vote per validator, and this replica's own votes
    /// agree with the pre-prepare it accepted: it never voted for two digests.
    fn check_slots(&self) {
        let me = self.config.me;
        for (seq, slot) in self.log.iter() {
            let n = self.membership.at(*seq).n();
            assert!(
                slot.prepares.len() <= n && slot.commits.len() <= n,
                "more than N votes at {seq}"
            );
            assert!(
                !slot.prepared || slot.pre_prepare.is_some(),
                "prepared without pre-prepare at {seq}"
            );
            let Some(pp) = &slot.pre_prepare else {
                continue;
            };
            if let Some(own) = slot.prepares.get(&me) {
                assert_eq!(own.body.digest, pp.digest, "own prepare disagrees at {seq}");
            }
            if let Some(own) = slot.commits.get(&me) {
                assert_eq!(own.body.digest, pp.digest, "own commit disagrees at {seq}");
            }
        }
        assert!(
            self.view_change.changing.is_none() || self.log.len() == 0,
            "a replica changing views holds no ordering messages"
        );
        for (seq, votes) in self.checkpoints.vote_heights() {
            let n = self.membership.at(*seq).n();
            assert!(votes <= n, "more than N checkpoint votes at {seq}");
        }
    }

    /// Blocks commit strictly in height order, each with a full certificate from
    /// distinct validators.
    fn check_commits(&self, committed_before: SeqNo, ready: &Ready) {
        // A state transfer that ended in this step moved the committed height to its
        // checkpoint (nothing commits while it runs).
        let resumed = ready.persist.iter().find_map(|entry| match entry {
            crate::output::PersistEntry::Resumed { seq, .. } => Some(*seq),
            _ => None,
        });
        let mut expected = resumed.unwrap_or(committed_before).next();
        for block in &ready.commit {
            assert_eq!(block.seq, expected, "commit out of order");
            assert!(
                block.certificate.len() >= self.commit_quorum(block.seq),
                "short certificate"
            );
            let mut senders: Vec<_> = block
                .certificate
                .iter()
                .map(|signed| signed.sender)
                .collect();
            senders.dedup();
            assert_eq!(
                senders.len(),
                block.certificate.len(),
                "certificate signer twice"
            );
            expected = expected.next();
        }
        assert_eq!(
            expected.prev(),
            self.last_committed,
            "commits reported = commits made"
        );
    }
}
