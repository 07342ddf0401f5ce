//! PREPARE and COMMIT votes (DESIGN.md section 3 steps 3 and 5) and the prepared
//! predicate.

use super::Replica;
use crate::log::{insert_vote, VoteOutcome};
use crate::message::{Commit, MessageKind, Prepare, SignedMessage};
use crate::output::{Fault, IgnoreReason};
use crate::types::SeqNo;
use crate::view_change::PreparedCertificate;
use crypto::codec::BoundedVec;

impl Replica {
    /// Step 3: record a backup's PREPARE. It may arrive before its pre-prepare; it
    /// then waits in its slot. A PREPARE from the primary is refused and reported.
    pub(super) fn on_prepare(&mut self, signed: SignedMessage, prepare: Prepare) {
        if let Err(reason) = self.refuse_ordering_message(signed.sender, prepare.view, prepare.seq)
        {
            self.ignore(&signed, prepare.seq, reason);
            return;
        }
        if signed.sender == self.primary() {
            self.ready.faults.push(Fault::PrepareFromPrimary {
                view: prepare.view,
                seq: prepare.seq,
                evidence: signed.clone(),
            });
            self.ignore(&signed, prepare.seq, IgnoreReason::PrepareFromPrimary);
            return;
        }
        let seq = prepare.seq;
        self.help_if_behind(signed.sender, seq);
        let slot = self.log.slot_mut(seq);
        let outcome = insert_vote(&mut slot.prepares, signed.sender, prepare, signed.clone());
        if self.vote_recorded(outcome, &signed, seq, MessageKind::Prepare) {
            self.update_prepared(seq);
        }
    }

    /// Step 5: record a COMMIT (the primary sends one too). Committing itself happens
    /// in `commit_next`, strictly in height order.
    pub(super) fn on_commit(&mut self, signed: SignedMessage, commit: Commit) {
        if let Err(reason) = self.refuse_ordering_message(signed.sender, commit.view, commit.seq) {
            self.ignore(&signed, commit.seq, reason);
            return;
        }
        let seq = commit.seq;
        self.help_if_behind(signed.sender, seq);
        let slot = self.log.slot_mut(seq);
        let outcome = insert_vote(&mut slot.commits, signed.sender, commit, signed.clone());
        self.vote_recorded(outcome, &signed, seq, MessageKind::Commit);
    }

    /// A vote for a height we committed, which a new view orders again, comes from a
    /// replica still working on it: it may lack our votes for the heights after.
    fn help_if_behind(&mut self, sender: crate::types::ReplicaId, seq: SeqNo) {
        if seq <= self.last_committed {
            self.help_laggard(sender, seq);
        }
    }

    /// Reports a duplicate or a conflicting vote; true when the vote was new.
    pub(super) fn vote_recorded(
        &mut self,
        outcome: VoteOutcome,
        signed: &SignedMessage,
        seq: SeqNo,
        kind: MessageKind,
    ) -> bool {
        match outcome {
            VoteOutcome::Added => true,
            VoteOutcome::Duplicate => {
                self.ignore(signed, seq, IgnoreReason::Duplicate);
                false
            }
            VoteOutcome::Conflict { first } => {
                self.ready.faults.push(Fault::EquivocatingVote {
                    sender: signed.sender,
                    kind,
                    seq,
                    first,
                    second: signed.clone(),
                });
                self.ignore(signed, seq, IgnoreReason::ConflictingVote);
                false
            }
        }
    }

    /// Prepared for `(v, n, d)`: the pre-prepare and `q - 1` matching PREPAREs from
    /// distinct backups (DESIGN.md section 3 step 3; PBFT paper section 4.2). Latched.
    pub(super) fn update_prepared(&mut self, seq: SeqNo) {
        let primary = self.primary();
        let needed = self.membership.quorum_at(seq) - 1;
        let Some(slot) = self.log.get(seq) else {
            return;
        };
        let Some(pp) = slot.pre_prepare.as_ref() else {
            return;
        };
        if slot.prepared || slot.matching_prepares(primary) < needed {
            return;
        }
        let prepares: Vec<SignedMessage> = slot
            .prepares
            .iter()
            .filter(|(sender, vote)| {
                **sender != primary && vote.body.view == pp.view && vote.body.digest == pp.digest
            })
            .take(needed)
            .map(|(_, vote)| vote.signed.clone())
            .collect();
        let certificate = PreparedCertificate {
            pre_prepare: pp.signed.clone(),
            prepares: BoundedVec::new(prepares).expect("at most N prepares"),
        };
        let view = pp.view;
        self.log.slot_mut(seq).prepared = true;
        let newer = self
            .view_change
            .certificates
            .get(&seq)
            .is_none_or(|(held, _)| *held < view);
        if newer {
            self.ready
                .persist
                .push(crate::output::PersistEntry::Prepared(certificate.clone()));
            self.view_change
                .certificates
                .insert(seq, (view, certificate));
        }
    }
}
