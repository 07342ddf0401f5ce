//! The membership scenario (issue: membership; DESIGN.md section 6): the chain
//! grows from 4 validators to 7 and shrinks back to 4 while clients keep sending,
//! one genesis validator is Byzantine and one honest validator crashes (and comes
//! back) in the middle of the changes.
//!
//! The admin submits AddValidator for nodes 4, 5 and 6, then RemoveValidator for
//! 6, 5 and 4, each a random moment after the one before took effect (so the chain
//! really has 5, 6, 7, 6, 5 and 4 validators in turn). A joining node starts once some node
//! committed its authorisation: like a node's observer sync, it first copies the
//! committed chain from a validator (every block checked against its certificate
//! under the membership of its height), then runs recovery like any restarted
//! node. Removed nodes keep running; they just stop being addressed.
//!
//! Beyond every usual check: every commit certificate is checked against the
//! validator set and quorum of the epoch that orders its height (the checker
//! follows the committed governance changes), and by the end every change must be
//! in force (the final epoch is the genesis set again).

use super::{Fault, World, FAULT_END_MS};
use consensus::{Membership, MembershipChange, SeqNo};
use crypto::{BoundedString, SigningKey};
use ledger::{ChainId, Transaction, TxKind, ValidatorInfo, VerifiedTx};
use rand::Rng;

/// How many validators genesis has, and how many the chain grows to.
pub const GENESIS_VALIDATORS: usize = 4;
pub const GROWN_VALIDATORS: usize = 7;

/// The changes, in order.
pub const CHANGES: [Change; 6] = [
    Change::Add(4),
    Change::Add(5),
    Change::Add(6),
    Change::Remove(6),
    Change::Remove(5),
    Change::Remove(4),
];

/// A governance transaction the admin submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add(usize),
    Remove(usize),
}

/// The admin key of the simulated chain (its public key is in genesis).
pub fn admin_key() -> SigningKey {
    SigningKey::from_seed([0xad; 32])
}

impl World {
    /// Crashes one random honest node for a while in the middle of the changes
    /// (which [`World::drive_membership`] submits).
    pub(super) fn membership_schedule(&mut self) -> Vec<(u64, Fault)> {
        let mut events = Vec::new();
        let honest: Vec<usize> = (0..GROWN_VALIDATORS)
            .filter(|i| !self.is_byzantine(*i))
            .collect();
        let victim = honest[self.rng.gen_range(0..honest.len())];
        let at = self.rng.gen_range(300..FAULT_END_MS - 1000);
        let length = self.rng.gen_range(200..800);
        events.push((at, Fault::Crash(victim)));
        events.push((at + length, Fault::Restart(victim)));
        events.sort_by_key(|(at, _)| *at);
        events
    }

    /// On every tick: the next change goes out a random moment after the previous
    /// one took effect (the highest committed height passed its switch height).
    pub(super) fn drive_membership(&mut self) {
        let submitted = self.admin_nonce as usize;
        if submitted >= CHANGES.len() || self.now_ms < self.next_change_ms {
            return;
        }
        let in_force = self.checker.membership.epochs().len() - 1;
        let top = SeqNo(self.checker.highest_height());
        let switched = self
            .checker
            .membership
            .epochs()
            .last()
            .is_some_and(|e| e.first <= top);
        if in_force < submitted || !switched {
            return;
        }
        self.next_change_ms = self.now_ms + self.rng.gen_range(50..300);
        self.apply_fault(Fault::Governance(CHANGES[submitted]));
    }

    /// The admin signs the governance transaction and sends it to every pool.
    pub(super) fn submit_governance(&mut self, change: Change) {
        let validator = |i: usize| ValidatorInfo {
            public_key: self.chain.keys[i],
            p2p_addr: BoundedString::new(format!("/memory/{i}")).expect("short"),
        };
        let kind = match change {
            Change::Add(i) => TxKind::AddValidator {
                validator: validator(i),
            },
            Change::Remove(i) => TxKind::RemoveValidator {
                public_key: self.chain.keys[i],
            },
        };
        let admin = admin_key();
        let signed = Transaction {
            chain_id: ChainId::new(super::CHAIN_ID).expect("short"),
            signer: admin.public_key(),
            nonce: self.admin_nonce,
            kind,
        }
        .sign(&admin);
        self.admin_nonce += 1;
        let tx = VerifiedTx::verify(signed).expect("the admin signs correctly");
        if self.debug {
            eprintln!(
                "{} governance {change:?} tx {}",
                self.now_ms,
                tx.hash().short()
            );
        }
        self.outstanding.push(tx.hash());
        self.checker.submitted.insert(tx.hash());
        self.send_to_every_pool(tx);
    }

    /// Starts every joining node whose authorisation some live node committed: it
    /// copies that node's chain (checked block by block) and starts from it.
    pub(super) fn start_joiners(&mut self) {
        for joiner in 0..self.nodes.len() {
            if self.nodes[joiner].incarnation > 0 {
                continue;
            }
            let key = self.chain.keys[joiner];
            let source = (0..self.nodes.len()).find(|j| {
                self.nodes[*j].is_up()
                    && !self.is_byzantine(*j)
                    && self.nodes[*j]
                        .ledger
                        .changes
                        .iter()
                        .any(|c| c.validators.contains(&key))
            });
            let Some(source) = source else {
                continue;
            };
            let target = self.nodes[source].ledger.height();
            if let Err(text) = self.copy_from(joiner, source, target, false) {
                self.checker.violations.push(format!(
                    "joiner {joiner} syncing from node {source}: {text}"
                ));
            }
            if self.debug {
                eprintln!(
                    "{} joiner {joiner} synced to {} from node {source}, starts",
                    self.now_ms,
                    self.nodes[joiner].ledger.height()
                );
            }
            self.boot(joiner);
            self.resend_outstanding(joiner);
        }
    }

    /// The membership `node`'s ledger implies (genesis plus its committed changes).
    pub(super) fn membership_of(&self, node: usize) -> Membership {
        let genesis: Vec<_> = self.chain.config.validators.clone();
        Membership::new(
            &genesis,
            &self.nodes[node].ledger.changes,
            self.chain.config.checkpoint_interval,
            self.chain.config.log_window,
        )
        .expect("a ledger's changes form a history")
    }

    /// The change `node` committed at `height`, if that block changed the set.
    pub(super) fn change_at(&self, node: usize, height: u64) -> Option<MembershipChange> {
        self.nodes[node]
            .ledger
            .changes
            .iter()
            .find(|c| c.height == SeqNo(height))
            .cloned()
    }

    /// q of the validator set in force at the highest committed height: clients'
    /// transactions must be committed by that many nodes.
    pub(super) fn liveness_quorum(&self) -> usize {
        let top = self.checker.highest_height();
        self.checker.membership.at(SeqNo(top + 1)).q()
    }

    /// Every change was submitted and is in force (trivially without the
    /// membership scenario).
    pub(super) fn membership_settled(&self) -> bool {
        !self.membership
            || (self.admin_nonce as usize == CHANGES.len()
                && self.checker.membership.epochs().len() == CHANGES.len() + 1
                && self.checker.highest_height() > self.last_switch())
    }

    /// With the membership scenario: every change is in force by the end.
    pub(super) fn check_membership(&mut self) {
        if !self.membership {
            return;
        }
        let top = self.checker.highest_height();
        let epochs = self.checker.membership.epochs().len();
        let final_set = self.checker.membership.at(SeqNo(top + 1)).n();
        if epochs != 7 || final_set != GENESIS_VALIDATORS || top < self.last_switch() {
            self.checker.violations.push(format!(
                "membership: {epochs} epochs recorded (7 expected), {final_set} validators at \
                 height {top} (4 expected)"
            ));
        }
    }

    fn last_switch(&self) -> u64 {
        self.checker
            .membership
            .epochs()
            .last()
            .map_or(0, |e| e.first.0.saturating_sub(1))
    }
}
