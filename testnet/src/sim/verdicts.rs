//! The end of a seed and the checks only Byzantine and crash-primary runs need: the
//! report, no honest replica accusing an honest one, every injected equivocation
//! provable evidence, and how long commits take to resume after the primary crashed.

use super::{byzantine, SeedReport, World, CHAIN_ID};
use consensus::{Message, ReplicaId, SeqNo};

impl World {
    pub(super) fn report(mut self, seed: u64) -> SeedReport {
        let mut tips: Vec<u64> = self.nodes.iter().map(|n| n.ledger.height()).collect();
        tips.sort_unstable();
        let quorum = consensus::quorum(tips.len());
        let max_tip = *tips.last().expect("nodes");
        let window = self.chain.config.log_window;
        let mut violations = std::mem::take(&mut self.checker.violations);
        for (b, e) in self
            .byzantine
            .iter()
            .flat_map(|b| b.equivocations.iter().map(move |e| (b, e)))
        {
            if !is_evidence(e, &self.chain.keys[b.node]) {
                violations.push("an injected equivocation is not provable evidence".into());
            }
        }
        // A quorum of the validators that order the height: with membership changes,
        // not of every node simulated (removed nodes stop committing, and the chain
        // may be back to 4 validators of 7 nodes before the heal).
        let progress_after_heal = self
            .heights_after_heal
            .iter()
            .any(|h| self.checker.committed_by(*h) >= self.checker.membership.at(SeqNo(*h)).q());
        if self.crash_primary {
            let bound = 3 * self.chain.config.view_change_timeout_ms;
            match self.resume_ms {
                Some(ms) if ms <= bound => {}
                Some(ms) => violations.push(format!(
                    "resume: commits resumed {ms} ms after the primary crashed, bound {bound} ms"
                )),
                None if self.crashed_primary_at.is_some() => violations
                    .push("resume: commits never resumed after the primary crashed".into()),
                None => {}
            }
        }
        SeedReport {
            seed,
            quorum_height: tips[tips.len() - quorum],
            min_tip: tips[0],
            max_tip,
            lagging_replicas: tips.iter().filter(|t| **t + window < max_tip).count(),
            trace_hash: self.trace.finish(),
            committed_txs: self
                .nodes
                .iter()
                .map(|n| n.ledger.blocks.iter().map(|b| b.txs.len()).sum::<usize>())
                .max()
                .unwrap_or(0),
            crashes: self.crashes,
            partitions: self.partitions,
            transfers: self.transfers,
            messages_sent: self.net.sent,
            messages_dropped: self.net.dropped,
            violations,
            view_changes: self.view_changes,
            progress_after_heal,
            byzantine: self
                .byzantine
                .iter()
                .map(|b| (b.node, b.behaviour))
                .collect(),
            equivocations_injected: self.byzantine.iter().map(|b| b.equivocations.len()).sum(),
            equivocations_detected: self.detected.len(),
            resume_ms: self.resume_ms,
            refused_blocks: self.refused_blocks,
            behind_by: self.behind_by,
            largest_set: self.checker.largest_set,
            newcomer_signatures: self.checker.newcomer_signatures,
            ed25519: false,
        }
    }

    /// With `crash_primary`: the first height above the crash-time tip that a quorum
    /// of replicas committed marks the resumption.
    pub(super) fn measure_resume(&mut self) {
        let Some((at, tip)) = self.crashed_primary_at else {
            return;
        };
        if self.resume_ms.is_some() {
            return;
        }
        let quorum = consensus::quorum(self.nodes.len());
        if self.checker.committed_by(tip + 1) >= quorum {
            self.resume_ms = Some(self.now_ms - at);
        }
    }

    /// An honest replica's fault report must name a Byzantine replica: honest ones
    /// never misbehave, so any other accusation is a bug.
    pub(super) fn check_accusation(&mut self, reporter: usize, fault: &consensus::Fault) {
        use consensus::Fault as F;
        let n = self.nodes.len();
        let accused = match fault {
            F::EquivocatingPrimary {
                first, view, seq, ..
            } => {
                self.detected.insert((view.0, seq.0));
                first.sender.index()
            }
            F::EquivocatingVote { sender, .. }
            | F::BadViewChange { sender, .. }
            | F::BadNewView { sender, .. } => sender.index(),
            F::PrepareFromPrimary { evidence, .. } | F::MalformedPrePrepare { evidence, .. } => {
                evidence.sender.index()
            }
            F::WrongStateRoot { primary, .. } | F::InvalidBatch { primary, .. } => primary.index(),
            F::NewViewConflictsWithCommitted { view, .. } => {
                consensus::primary_of(*view, n).index()
            }
            F::ExecutionDiverged { .. } => usize::MAX,
        };
        if !self.is_byzantine(accused) {
            let text = format!("{fault:?}");
            self.checker.violations.push(format!(
                "false accusation: honest node {reporter} reported {}",
                &text[..text.len().min(200)]
            ));
        }
    }
}

/// Two pre-prepares signed by `key`'s holder for one (view, height) with different
/// digests: what an honest replica needs to prove equivocation to anyone.
pub(super) fn is_evidence(e: &byzantine::Equivocation, key: &crypto::PublicKey) -> bool {
    let keys = [*key];
    let open = |m: &consensus::SignedMessage| {
        let mut m = m.clone();
        m.sender = ReplicaId(0);
        match consensus::verify(&m, &keys, CHAIN_ID).ok()?.message() {
            Message::PrePrepare(pp) => Some((pp.view, pp.seq, pp.digest)),
            _ => None,
        }
    };
    match (open(&e.first), open(&e.second)) {
        (Some((v1, s1, d1)), Some((v2, s2, d2))) => v1 == v2 && s1 == s2 && d1 != d2,
        _ => false,
    }
}
