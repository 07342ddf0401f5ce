//! The simulated clients and the pools they reach: transfers (valid, refused
//! at admission, and double spends) sent to every live node's pool, sent again
//! when every pool refused them, resent to a node that lost its pool, sent again by the nodes that hold them (as a node's
//! network edge does), and the check at the end of a seed that no pool keeps
//! a transaction its node's ledger made stale.

use super::{World, CHAIN_ID};
use crypto::Hash;
use ledger::{Address, ChainId, Transaction, TxKind, VerifiedTx};
use node::mempool::AdmitError;
use rand::Rng;

impl World {
    /// One client sends a transfer to every replica's pool (a node forwards what it
    /// receives to all validators), and the pools admit it as the node's pool
    /// does. About one in ten is refused at admission: a bad signature, a zero
    /// amount or more than the balance. About one in fifty is a double spend
    /// (except in the recovery scenarios): two transfers with the same nonce, one
    /// to the even nodes' pools and one to the odd ones'; once either commits, the
    /// other can never execute and every pool must drop it (the end of the run
    /// checks that none is left).
    pub(super) fn submit(&mut self) {
        let c = self.rng.gen_range(0..self.clients.len());
        let to = Address(self.rng.gen());
        let roll = self.rng.gen_range(0..100);
        let client = &mut self.clients[c];
        let (nonce, amount) = match roll {
            0..=3 => (client.nonce, 0),          // moves nothing: refused
            4..=5 => (client.nonce, 10_000_000), // more than the balance: refused
            _ => (client.nonce, self.rng.gen_range(1..50)),
        };
        let transfer = |to: Address| {
            Transaction {
                chain_id: ChainId::new(CHAIN_ID).expect("short"),
                signer: client.key.public_key(),
                nonce,
                kind: TxKind::Transfer { to, amount },
            }
            .sign(&client.key)
        };
        let mut signed = transfer(to);
        if roll == 8 {
            signed.signature.0[0] ^= 1; // refused at admission
        }
        // Not in the recovery scenarios, which measure a victim catching up under
        // a plain load.
        let double = (6..=7).contains(&roll) && self.scenario.is_none();
        let rival = double.then(|| transfer(Address(self.rng.gen())));
        let Some(tx) = VerifiedTx::verify(signed) else {
            return;
        };
        let valid = roll >= 6 && roll != 8;
        if valid {
            client.nonce += 1;
            self.outstanding.push(tx.hash());
            self.checker.submitted.insert(tx.hash());
        }
        match rival.and_then(VerifiedTx::verify) {
            Some(rival) => {
                self.checker.submitted.insert(rival.hash());
                self.rivals.insert(tx.hash(), rival.hash());
                let hash = tx.hash();
                let n = self.nodes.len();
                if !self.send_to_pools(tx, (0..n).step_by(2)) {
                    self.retry.push(hash);
                }
                self.send_to_pools(rival, (1..n).step_by(2));
            }
            None if valid => self.send_to_every_pool(tx),
            None => {
                let n = self.nodes.len();
                self.send_to_pools(tx, 0..n);
            }
        }
    }

    /// Whether the valid transaction `tx`, or the rival of a double spend, is
    /// committed by `quorum` nodes.
    pub(super) fn settled(&self, tx: &Hash, quorum: usize) -> bool {
        self.checker.is_committed_by(tx, quorum)
            || self
                .rivals
                .get(tx)
                .is_some_and(|rival| self.checker.is_committed_by(rival, quorum))
    }

    /// A transaction reaches the live pools among `nodes`, and each node tells its
    /// replica what its pool holds. Returns whether one of them holds it.
    fn send_to_pools(&mut self, tx: VerifiedTx, nodes: impl Iterator<Item = usize>) -> bool {
        self.bodies.insert(tx.hash(), tx.clone());
        let mut held = false;
        for i in nodes {
            if self.nodes[i].is_up() {
                // A refusal is the pool's answer, as at a node; the checks judge
                // what commits.
                match self.nodes[i].admit(tx.clone(), self.now_ms) {
                    Ok(()) | Err(AdmitError::Duplicate) => held = true,
                    Err(_) => {}
                }
                let report = self.nodes[i].pool_report(&self.chain);
                self.step(i, report);
            }
        }
        held
    }

    /// A valid transaction reaches every live node's pool (nodes forward what they
    /// get). If every pool refused it (a nonce too far ahead of what the nodes
    /// have committed, or no node up), its client sends it again later, as a
    /// client told to retry does ([`World::retry_refused`]).
    pub(super) fn send_to_every_pool(&mut self, tx: VerifiedTx) {
        let hash = tx.hash();
        let n = self.nodes.len();
        if !self.send_to_pools(tx, 0..n) {
            self.retry.push(hash);
        }
    }

    /// Clients send again the valid transactions every pool refused, unless they
    /// (or their double spend's rival) committed meanwhile.
    pub(super) fn retry_refused(&mut self) {
        for hash in std::mem::take(&mut self.retry) {
            if !self.settled(&hash, 1) {
                let tx = self.bodies[&hash].clone();
                self.send_to_every_pool(tx);
            }
        }
    }

    /// Clients resend what they have not seen committed to a node that
    /// (re)started with an empty pool.
    pub(super) fn resend_outstanding(&mut self, i: usize) {
        let quorum = self.liveness_quorum();
        let outstanding: Vec<VerifiedTx> = self
            .outstanding
            .iter()
            .filter(|h| !self.settled(h, quorum))
            .filter_map(|h| self.bodies.get(h).cloned())
            .collect();
        for tx in outstanding {
            // Refused if the pool has it or a rival already (as at a node).
            let _ = self.nodes[i].admit(tx, self.now_ms);
        }
    }

    /// Every live node sends the transactions that have waited long in its pool
    /// to the nodes it reaches, as a node does: a transaction a pool refused (its
    /// node was far behind, or down) reaches it this way once it is back.
    pub(super) fn reforward(&mut self) {
        for i in 0..self.nodes.len() {
            if !self.nodes[i].is_up() {
                continue;
            }
            let hashes = self.nodes[i].take_to_reforward(self.now_ms);
            if hashes.is_empty() {
                continue;
            }
            for j in 0..self.nodes.len() {
                if j == i || !self.nodes[j].is_up() || !self.net.connected(i, j) {
                    continue;
                }
                for hash in &hashes {
                    let tx = self.bodies[hash].clone();
                    // Refused if it holds it already, as at a node.
                    let _ = self.nodes[j].admit(tx, self.now_ms);
                }
                let report = self.nodes[j].pool_report(&self.chain);
                self.step(j, report);
            }
        }
    }

    /// No live node's pool keeps a transaction whose nonce its ledger has used: it
    /// can never commit, and a pool that keeps such ones fills up for good.
    pub(super) fn check_pools(&mut self) {
        for node in self.nodes.iter().filter(|node| node.is_up()) {
            let stale = node.stale_in_pool();
            if stale > 0 {
                self.checker.violations.push(format!(
                    "pool: node {} keeps {stale} transactions its ledger made stale",
                    node.index
                ));
            }
        }
    }
}
