//! Checkpoint votes and the stable checkpoint (DESIGN.md section 4).

use crate::log::{insert_vote, Vote, VoteOutcome};
use crate::membership::Membership;
use crate::message::{Checkpoint, Message, SignedMessage};
use crate::types::{ReplicaId, SeqNo, MAX_VALIDATORS};
use crate::verify::verify;
use crypto::codec::BoundedVec;
use crypto::{Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A checkpoint proven by `q` matching CHECKPOINT messages (DESIGN.md section 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StableCheckpoint {
    pub seq: SeqNo,
    pub block_hash: Hash,
    /// The C set, in sender order.
    pub proof: BoundedVec<SignedMessage, MAX_VALIDATORS>,
}

impl StableCheckpoint {
    /// Whether the proof holds `quorum` distinct validators' valid CHECKPOINTs for
    /// exactly this height and block, each signer once, and nothing else (the C set,
    /// DESIGN.md section 4). Anyone holding the validator set can check it.
    pub fn is_proven(&self, validators: &[PublicKey], chain_id: &str, quorum: usize) -> bool {
        let expected = Message::Checkpoint(Checkpoint {
            seq: self.seq,
            block_hash: self.block_hash,
        });
        let mut signers = BTreeSet::new();
        for signed in self.proof.iter() {
            match verify(signed, validators, chain_id) {
                // A signer twice would only pad the proof (it travels in every
                // VIEW-CHANGE that carries it).
                Ok(verified) if *verified.message() == expected => {
                    if !signers.insert(signed.sender) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        signers.len() >= quorum
    }

    /// [`StableCheckpoint::is_proven`] with the set that orders this height: a
    /// quorum of that epoch's members, each a member (DESIGN.md section 6).
    pub fn is_proven_by(&self, membership: &Membership, chain_id: &str) -> bool {
        let epoch = membership.at(self.seq);
        self.proof
            .iter()
            .all(|signed| epoch.contains(signed.sender))
            && self.is_proven(membership.roster(), chain_id, epoch.q())
    }
}

/// CHECKPOINT votes for heights inside the window, at most one per validator per
/// height, and the last stable checkpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checkpoints {
    votes: BTreeMap<SeqNo, BTreeMap<ReplicaId, Vote<Checkpoint>>>,
    stable: Option<StableCheckpoint>,
}

impl Checkpoints {
    pub fn restored(stable: Option<StableCheckpoint>) -> Self {
        Checkpoints {
            votes: BTreeMap::new(),
            stable,
        }
    }

    pub fn stable(&self) -> Option<&StableCheckpoint> {
        self.stable.as_ref()
    }

    pub fn add(
        &mut self,
        sender: ReplicaId,
        vote: Checkpoint,
        signed: SignedMessage,
    ) -> VoteOutcome {
        let at_seq = self.votes.entry(vote.seq).or_default();
        insert_vote(at_seq, sender, vote, signed)
    }

    /// This replica's own checkpoint at `seq`, if it signed one.
    pub fn own(&self, seq: SeqNo, me: ReplicaId) -> Option<Hash> {
        self.votes
            .get(&seq)?
            .get(&me)
            .map(|vote| vote.body.block_hash)
    }

    /// This replica's own checkpoint messages still held (all above h).
    pub fn own_messages(&self, me: ReplicaId) -> Vec<SignedMessage> {
        self.votes
            .values()
            .filter_map(|votes| votes.get(&me))
            .map(|vote| vote.signed.clone())
            .collect()
    }

    /// A proof for `seq` when `q` validators, this replica among them, signed the same
    /// block hash. Requiring our own vote means we committed `seq` ourselves with that
    /// hash, so dropping the log below it loses nothing we still need. The proof always
    /// holds our own vote (a lagging replica resends it from there), in sender order.
    pub fn proof(&self, seq: SeqNo, me: ReplicaId, q: usize) -> Option<StableCheckpoint> {
        let votes = self.votes.get(&seq)?;
        let own = votes.get(&me)?;
        let block_hash = own.body.block_hash;
        let mut proof = vec![own.signed.clone()];
        proof.extend(
            votes
                .iter()
                .filter(|(sender, vote)| **sender != me && vote.body.block_hash == block_hash)
                .take(q.saturating_sub(1))
                .map(|(_, vote)| vote.signed.clone()),
        );
        if proof.len() < q {
            return None;
        }
        proof.sort_by_key(|signed| signed.sender);
        let proof = BoundedVec::new(proof).expect("q <= N <= MAX_VALIDATORS");
        Some(StableCheckpoint {
            seq,
            block_hash,
            proof,
        })
    }

    /// A proof of `q` matching votes of others, for a replica that does not vote at
    /// `seq` (a validator that joins or leaves follows checkpoints it does not sign).
    pub fn proof_of_others(&self, seq: SeqNo, q: usize) -> Option<StableCheckpoint> {
        let votes = self.votes.get(&seq)?;
        let (_, first) = votes.iter().find(|(_, vote)| {
            votes
                .values()
                .filter(|other| other.body.block_hash == vote.body.block_hash)
                .count()
                >= q
        })?;
        let block_hash = first.body.block_hash;
        let proof: Vec<_> = votes
            .values()
            .filter(|vote| vote.body.block_hash == block_hash)
            .take(q)
            .map(|vote| vote.signed.clone())
            .collect();
        Some(StableCheckpoint {
            seq,
            block_hash,
            proof: BoundedVec::new(proof).expect("q <= N <= MAX_VALIDATORS"),
        })
    }

    /// Records `stable` and forgets every vote at or below it.
    pub fn make_stable(&mut self, stable: StableCheckpoint) {
        self.votes = self.votes.split_off(&stable.seq.next());
        self.stable = Some(stable);
    }

    /// The highest height above `above` that at least `senders` validators other
    /// than `me` checkpointed.
    pub fn highest_voted_above(
        &self,
        above: SeqNo,
        senders: usize,
        me: ReplicaId,
    ) -> Option<SeqNo> {
        self.votes
            .range(above.next()..)
            .rev()
            .find(|(_, votes)| votes.keys().filter(|s| **s != me).count() >= senders)
            .map(|(seq, _)| *seq)
    }

    /// Heights with votes, for the invariant checks.
    pub fn vote_heights(&self) -> impl Iterator<Item = (&SeqNo, usize)> {
        self.votes.iter().map(|(seq, votes)| (seq, votes.len()))
    }
}
