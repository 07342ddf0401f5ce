//! Byzantine replicas (issue: view change). A Byzantine replica runs the real replica
//! code; one behaviour is altered, mostly by rewriting what it sends with its own key
//! (it holds no other replica's key, so forging for others can only fail), and, for
//! the new primary that forges Q, by a test-only switch in the replica itself.
//!
//! Up to f replicas per run are Byzantine. The checks of `checks` apply to the honest
//! replicas; on top, no honest replica may accuse an honest one.

use consensus::{
    Batch, Envelope, Message, PrePrepare, Prepare, Recovery, SeqNo, SignedMessage, SignedRecovery,
    SignedViewChange, Target, View, ViewChange,
};
use crypto::{BoundedVec, Canonical, Hash, SigningKey};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// One altered behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// As primary, sends nothing at all.
    SilentPrimary,
    /// As primary, sends one pre-prepare to half the others and another (a different
    /// batch for the same height) to the rest, and sometimes both to some.
    Equivocate,
    /// As primary, claims a wrong state root in every pre-prepare.
    WrongRoot,
    /// As primary, puts a transaction twice in every batch.
    MalformedBatch,
    /// Also sends copies of its messages claiming another sender, and copies with a
    /// broken signature.
    Forger,
    /// Also sends old messages of its own again, from views long gone.
    Replayer,
    /// Also sends votes for heights far outside the window.
    OutsideWindow,
    /// As primary, also sends a PREPARE for its own pre-prepares.
    PrimaryPrepares,
    /// Sends VIEW-CHANGEs with a short or forged P set.
    BadViewChange,
    /// As new primary, sends a NEW-VIEW whose Q does not follow from its V.
    ForgedNewView,
    /// Goes quiet once it has sent its VIEW-CHANGE, until it is in a view again.
    QuietInViewChange,
    /// Answers recovery with lies: a view far ahead, a checkpoint far ahead whose
    /// proof it forged (signed with its own key under the others' ids), a committed
    /// height far ahead; and serves corrupted blocks in state transfers
    /// (`sim::transfer`).
    LyingRecovery,
}

impl Behaviour {
    pub const ALL: [Behaviour; 12] = [
        Behaviour::SilentPrimary,
        Behaviour::Equivocate,
        Behaviour::WrongRoot,
        Behaviour::MalformedBatch,
        Behaviour::Forger,
        Behaviour::Replayer,
        Behaviour::OutsideWindow,
        Behaviour::PrimaryPrepares,
        Behaviour::BadViewChange,
        Behaviour::ForgedNewView,
        Behaviour::QuietInViewChange,
        Behaviour::LyingRecovery,
    ];
}

/// An injected equivocation: two pre-prepares signed by the Byzantine primary for one
/// `(view, height)` with different digests. Kept as evidence.
#[derive(Debug, Clone)]
pub struct Equivocation {
    pub first: SignedMessage,
    pub second: SignedMessage,
}

const REPLAY_MEMORY: usize = 256;

/// A Byzantine replica's altered sending.
pub struct Byzantine {
    pub node: usize,
    pub behaviour: Behaviour,
    key: SigningKey,
    chain_id: &'static str,
    nodes: usize,
    /// Its own messages, for replaying (and to tell a first VIEW-CHANGE from a resend).
    sent: VecDeque<Envelope>,
    /// Every equivocation it injected, as evidence.
    pub equivocations: Vec<Equivocation>,
}

/// What the Byzantine replica knows of itself when it sends.
pub struct SenderState {
    pub is_primary: bool,
    pub changing: bool,
}

impl Byzantine {
    pub fn new(
        node: usize,
        behaviour: Behaviour,
        key: SigningKey,
        chain_id: &'static str,
        nodes: usize,
    ) -> Self {
        Byzantine {
            node,
            behaviour,
            key,
            chain_id,
            nodes,
            sent: VecDeque::new(),
            equivocations: Vec::new(),
        }
    }

    fn sign(&self, message: &Message) -> SignedMessage {
        SignedMessage::sign(
            &self.key,
            self.chain_id,
            consensus::ReplicaId(self.node as u32),
            message,
        )
    }

    fn others(&self) -> Vec<usize> {
        (0..self.nodes).filter(|n| *n != self.node).collect()
    }

    /// Rewrites one message the replica wants to send into what it actually sends:
    /// `(to, envelope)` pairs.
    pub fn send(
        &mut self,
        rng: &mut ChaCha8Rng,
        state: &SenderState,
        to: Target,
        envelope: Envelope,
    ) -> Vec<(usize, Envelope)> {
        let targets: Vec<usize> = match to {
            Target::All => self.others(),
            Target::One(id) => vec![id.index()],
        };
        let plain = |e: &Envelope| targets.iter().map(|t| (*t, e.clone())).collect::<Vec<_>>();
        let decoded = envelope
            .as_message()
            .and_then(|m| Message::from_canonical_bytes(&m.payload).ok());
        let mut out = Vec::new();
        match self.behaviour {
            Behaviour::SilentPrimary if state.is_primary && !state.changing => return out,
            Behaviour::QuietInViewChange if state.changing => {
                if matches!(envelope, Envelope::ViewChange(_))
                    && !self.sent.iter().any(|e| *e == envelope)
                {
                    out = plain(&envelope);
                }
            }
            Behaviour::Equivocate => match &decoded {
                Some(Message::PrePrepare(pp)) if to == Target::All => {
                    let other = self.other_pre_prepare(pp, |batch| batch.timestamp_ms += 1);
                    let first = envelope.as_message().expect("a message").clone();
                    self.equivocations.push(Equivocation {
                        first: first.clone(),
                        second: other.clone(),
                    });
                    let half = targets.len() / 2;
                    for (k, t) in targets.iter().enumerate() {
                        if k < half {
                            out.push((*t, Envelope::Message(first.clone())));
                        } else {
                            out.push((*t, Envelope::Message(other.clone())));
                            if rng.gen_bool(0.5) {
                                out.push((*t, Envelope::Message(first.clone())));
                            }
                        }
                    }
                }
                _ => out = plain(&envelope),
            },
            Behaviour::WrongRoot => match &decoded {
                Some(Message::PrePrepare(pp)) => {
                    let mut lie = pp.clone();
                    lie.result = Hash(rng.gen());
                    let signed = self.sign(&Message::PrePrepare(lie));
                    out = plain(&Envelope::Message(signed));
                }
                _ => out = plain(&envelope),
            },
            Behaviour::MalformedBatch => match &decoded {
                Some(Message::PrePrepare(pp)) if !pp.batch.tx_hashes.is_empty() => {
                    let signed = self.other_pre_prepare(pp, |batch| {
                        let mut txs = batch.tx_hashes.to_vec();
                        txs.push(txs[0]);
                        if let Ok(txs) = BoundedVec::new(txs) {
                            batch.tx_hashes = txs;
                        }
                    });
                    out = plain(&Envelope::Message(signed));
                }
                _ => out = plain(&envelope),
            },
            Behaviour::Forger => {
                out = plain(&envelope);
                if let Some(message) = envelope.as_message() {
                    if rng.gen_bool(0.2) {
                        let mut impersonated = message.clone();
                        impersonated.sender = consensus::ReplicaId(
                            ((self.node + 1 + rng.gen_range(0..self.nodes - 1)) % self.nodes)
                                as u32,
                        );
                        let mut broken = message.clone();
                        broken.signature.0[rng.gen_range(0..64)] ^= 1;
                        let t = targets[rng.gen_range(0..targets.len())];
                        out.push((t, Envelope::Message(impersonated)));
                        out.push((t, Envelope::Message(broken)));
                    }
                }
            }
            Behaviour::Replayer => {
                out = plain(&envelope);
                if !self.sent.is_empty() && rng.gen_bool(0.2) {
                    let old = self.sent[rng.gen_range(0..self.sent.len())].clone();
                    let t = targets[rng.gen_range(0..targets.len())];
                    out.push((t, old));
                }
            }
            Behaviour::OutsideWindow => {
                out = plain(&envelope);
                if let Some(Message::Prepare(p)) = &decoded {
                    for seq in [SeqNo(p.seq.0 + 1_000), SeqNo(0)] {
                        let far = self.sign(&Message::Prepare(Prepare { seq, ..*p }));
                        for t in &targets {
                            out.push((*t, Envelope::Message(far.clone())));
                        }
                    }
                }
            }
            Behaviour::PrimaryPrepares => {
                out = plain(&envelope);
                if let Some(Message::PrePrepare(pp)) = &decoded {
                    let prepare = self.sign(&Message::Prepare(Prepare {
                        view: pp.view,
                        seq: pp.seq,
                        digest: pp.digest,
                    }));
                    for t in &targets {
                        out.push((*t, Envelope::Message(prepare.clone())));
                    }
                }
            }
            Behaviour::BadViewChange => match &envelope {
                Envelope::ViewChange(signed) => {
                    let forged = self.bad_view_change(rng, signed);
                    out = plain(&Envelope::ViewChange(forged));
                }
                _ => out = plain(&envelope),
            },
            Behaviour::LyingRecovery => match &envelope {
                Envelope::Recovery(signed) => match Recovery::from_canonical_bytes(&signed.payload)
                {
                    Ok(answer) => out = plain(&Envelope::Recovery(self.lie(answer))),
                    Err(_) => out = plain(&envelope),
                },
                _ => out = plain(&envelope),
            },
            // ForgedNewView: the replica's own switch forges Q (see SimNode::start),
            // so what it sends is already the forgery, signed with its key.
            _ => out = plain(&envelope),
        }
        if self.sent.len() >= REPLAY_MEMORY {
            self.sent.pop_front();
        }
        self.sent.push_back(envelope);
        out
    }

    /// A recovery answer made to lie, signed with our key.
    fn lie(&self, answer: Recovery) -> SignedRecovery {
        let me = consensus::ReplicaId(self.node as u32);
        let lie = match answer {
            Recovery::NegotiateViewResponse {
                round,
                view,
                n,
                validators,
                ..
            } => Recovery::NegotiateViewResponse {
                round,
                view: View(view.0 + 7),
                changing: false,
                n,
                validators,
            },
            Recovery::RecoveryResponse {
                round,
                stable,
                last_committed,
                ..
            } => {
                let seq = SeqNo(stable.as_ref().map_or(0, |s| s.seq.0) + 50);
                let block_hash = Hash([0x66; 32]);
                let proof: Vec<SignedMessage> = (0..self.nodes)
                    .map(|i| {
                        let mut m = self.sign(&Message::Checkpoint(consensus::Checkpoint {
                            seq,
                            block_hash,
                        }));
                        m.sender = consensus::ReplicaId(i as u32);
                        m
                    })
                    .collect();
                Recovery::RecoveryResponse {
                    round,
                    stable: Some(consensus::StableCheckpoint {
                        seq,
                        block_hash,
                        proof: BoundedVec::new(proof).expect("N"),
                    }),
                    last_committed: SeqNo(last_committed.0 + 1_000),
                    last_block_hash: Some(block_hash),
                }
            }
            other => other,
        };
        SignedRecovery::sign(&self.key, self.chain_id, me, &lie)
    }

    /// The same pre-prepare with its batch changed by `edit`, re-digested and signed.
    fn other_pre_prepare(&self, pp: &PrePrepare, edit: impl Fn(&mut Batch)) -> SignedMessage {
        let mut other = pp.clone();
        edit(&mut other.batch);
        other.digest = other.batch.digest();
        self.sign(&Message::PrePrepare(other))
    }

    /// A VIEW-CHANGE whose P set is short (a certificate lost its prepares) or
    /// forged (a certificate made up, "signed" for another replica with our key).
    fn bad_view_change(&self, rng: &mut ChaCha8Rng, signed: &SignedViewChange) -> SignedViewChange {
        let Ok(mut vc) = ViewChange::from_canonical_bytes(&signed.payload) else {
            return signed.clone();
        };
        let mut certificates = vc.prepared.to_vec();
        if !certificates.is_empty() && rng.gen_bool(0.5) {
            let k = rng.gen_range(0..certificates.len());
            let mut prepares = certificates[k].prepares.to_vec();
            prepares.truncate(prepares.len().saturating_sub(1));
            certificates[k].prepares = BoundedVec::new(prepares).expect("shorter");
        } else {
            let low = vc.checkpoint.as_ref().map_or(SeqNo(0), |c| c.seq);
            let view = View(vc.new_view.0.saturating_sub(1));
            let primary = consensus::primary_of(view, self.nodes);
            let batch = Batch {
                tx_hashes: BoundedVec::new(vec![Hash(rng.gen())]).expect("one"),
                proposer: primary,
                timestamp_ms: 0,
            };
            let pp = PrePrepare {
                view,
                seq: low.next(),
                digest: batch.digest(),
                batch,
                result: Hash(rng.gen()),
            };
            let mut forged_pp = self.sign(&Message::PrePrepare(pp.clone()));
            forged_pp.sender = primary;
            let prepares: Vec<SignedMessage> = (0..self.nodes)
                .filter(|i| *i != primary.index())
                .map(|i| {
                    let mut p = self.sign(&Message::Prepare(Prepare {
                        view,
                        seq: pp.seq,
                        digest: pp.digest,
                    }));
                    p.sender = consensus::ReplicaId(i as u32);
                    p
                })
                .collect();
            certificates.retain(|c| {
                Message::from_canonical_bytes(&c.pre_prepare.payload)
                    .map(|m| m.seq() > pp.seq)
                    .unwrap_or(false)
            });
            certificates.insert(
                0,
                consensus::PreparedCertificate {
                    pre_prepare: forged_pp,
                    prepares: BoundedVec::new(prepares).expect("at most N"),
                },
            );
        }
        vc.prepared = BoundedVec::new(certificates).expect("at most L");
        SignedViewChange::sign(
            &self.key,
            self.chain_id,
            consensus::ReplicaId(self.node as u32),
            &vc,
        )
    }
}
