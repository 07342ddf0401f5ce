//! The properties checked after every step of a simulation (issue: consensus core).
//!
//! - agreement: no two replicas commit different blocks at one height;
//! - validity: every committed transaction was submitted and correctly signed, and
//!   none is committed at two heights;
//! - order: each replica commits heights in order on an intact hash chain;
//! - certificates: each committed block carries `q` distinct valid COMMIT signatures
//!   for exactly that block from validators of the epoch that orders its height, `q`
//!   being that epoch's quorum (the checker follows the committed governance
//!   changes, DESIGN.md section 6);
//! - bounded log: no replica holds votes outside its window `(h, H]`;
//! - no equivocation: no replica, crashed and restarted or not, signs two different
//!   messages of one kind for one (view, height).

use super::host::Committed;
use super::verify_cache::VerifyCache;
use consensus::{Envelope, Membership, MembershipChange, Message, MessageKind, Replica};
use crypto::{Canonical, Hash};
use std::collections::{HashMap, HashSet};

pub struct Checker {
    /// The validator sets the committed chain implies.
    pub membership: Membership,
    /// The first block committed at each height, by anyone.
    canonical: HashMap<u64, Hash>,
    /// Height of each committed transaction.
    committed_txs: HashMap<Hash, u64>,
    /// How many replicas committed each height.
    commit_count: HashMap<u64, usize>,
    /// Valid transactions submitted (signed correctly); only these may commit.
    pub submitted: HashSet<Hash>,
    /// What each replica signed: (sender, kind, view, height) → payload hash.
    signed: HashMap<(u32, MessageKind, u64, u64), Hash>,
    pub violations: Vec<String>,
    /// Certificate signatures by validators that joined after genesis.
    pub newcomer_signatures: usize,
    /// The most validators an epoch whose heights were committed had.
    pub largest_set: usize,
}

impl Checker {
    pub fn new(membership: Membership) -> Checker {
        Checker {
            membership,
            canonical: HashMap::new(),
            committed_txs: HashMap::new(),
            commit_count: HashMap::new(),
            submitted: HashSet::new(),
            signed: HashMap::new(),
            violations: Vec::new(),
            newcomer_signatures: 0,
            largest_set: 0,
        }
    }

    /// The highest height anyone committed.
    pub fn highest_height(&self) -> u64 {
        self.canonical.keys().copied().max().unwrap_or(0)
    }

    fn violation(&mut self, text: String) {
        // One seed can break many times over; the first few say everything.
        if self.violations.len() < 20 {
            self.violations.push(text);
        }
    }

    pub fn on_commit(
        &mut self,
        node: usize,
        parent: &Hash,
        committed: &Committed,
        change: Option<MembershipChange>,
        chain_id: &str,
        cache: &mut VerifyCache,
    ) {
        let block = &committed.block;
        if let Some(change) = change {
            if let Err(e) = self.membership.record(&change) {
                self.violation(format!("membership: node {node} committed a change: {e}"));
            }
        }
        let height = block.header.height;
        let hash = block.hash();
        *self.commit_count.entry(height).or_default() += 1;
        match self.canonical.get(&height) {
            Some(first) if *first != hash => self.violation(format!(
                "agreement: node {node} committed {} at height {height}, another node {}",
                hash.short(),
                first.short()
            )),
            Some(_) => {}
            None => {
                self.canonical.insert(height, hash);
            }
        }
        if block.header.parent != *parent {
            self.violation(format!(
                "order: node {node} block {height} does not extend its previous block"
            ));
        }
        for tx in block.txs.iter() {
            let tx_hash = tx.hash();
            if !self.submitted.contains(&tx_hash) {
                self.violation(format!(
                    "validity: node {node} committed transaction {} that was never validly submitted",
                    tx_hash.short()
                ));
            }
            match self.committed_txs.get(&tx_hash) {
                Some(at) if *at != height => self.violation(format!(
                    "validity: transaction {} committed at heights {at} and {height}",
                    tx_hash.short()
                )),
                Some(_) => {}
                None => {
                    self.committed_txs.insert(tx_hash, height);
                }
            }
        }
        self.check_certificate(node, committed, chain_id, cache);
    }

    fn check_certificate(
        &mut self,
        node: usize,
        committed: &Committed,
        chain_id: &str,
        cache: &mut VerifyCache,
    ) {
        let info = &committed.info;
        let height = info.seq.0;
        let epoch = self.membership.at(info.seq).clone();
        let genesis = self.membership.epochs()[0].clone();
        let roster = self.membership.roster().to_vec();
        self.largest_set = self.largest_set.max(epoch.n());
        self.newcomer_signatures += info
            .certificate
            .iter()
            .filter(|s| !genesis.contains(s.sender))
            .count();
        let block_hash = committed.block.hash();
        let mut signers = HashSet::new();
        for signed in &info.certificate {
            if !epoch.contains(signed.sender) {
                self.violation(format!(
                    "certificate: node {node} height {height} holds a commit of {}, not a \
                     validator of the epoch from {}",
                    signed.sender, epoch.first.0
                ));
                continue;
            }
            let Ok(verified) = cache.verify(signed, &roster, chain_id) else {
                self.violation(format!(
                    "certificate: node {node} height {height} holds a signature that does not verify"
                ));
                continue;
            };
            match verified.message() {
                Message::Commit(c)
                    if c.seq == info.seq
                        && c.digest == info.digest
                        && c.block_hash == block_hash =>
                {
                    signers.insert(signed.sender);
                }
                _ => self.violation(format!(
                    "certificate: node {node} height {height} holds a message for another block"
                )),
            }
        }
        let q = epoch.q();
        if signers.len() < q {
            self.violation(format!(
                "certificate: node {node} committed height {height} with {} distinct commits, quorum is {q}",
                signers.len()
            ));
        }
    }

    /// Records a message an honest replica signed and sent. A VIEW-CHANGE or NEW-VIEW
    /// is keyed by the view it is for: one of each per replica and view.
    pub fn on_signed(&mut self, envelope: &Envelope) {
        let message = match envelope {
            Envelope::Message(message) => message,
            Envelope::ViewChange(signed) => {
                let view = consensus::ViewChange::from_canonical_bytes(&signed.payload)
                    .map(|vc| vc.new_view.0);
                self.record_signed(signed.sender.0, signed.kind, view, 0, &signed.payload);
                return;
            }
            Envelope::NewView(signed) => {
                let view =
                    consensus::NewView::from_canonical_bytes(&signed.payload).map(|nv| nv.view.0);
                self.record_signed(signed.sender.0, signed.kind, view, 0, &signed.payload);
                return;
            }
            // Recovery requests and answers promise nothing about the order.
            Envelope::Recovery(_) => return,
            // Membership messages (AddNode, ReadyForN, FinishUpdate) announce; the
            // switch itself is a VIEW-CHANGE and NEW-VIEW, checked above.
            Envelope::Update(_) => return,
        };
        let Ok(decoded) = <Message as crypto::Canonical>::from_canonical_bytes(&message.payload)
        else {
            self.violation(format!(
                "replica {} signed a message that does not decode",
                message.sender.0
            ));
            return;
        };
        let view = decoded.view().map_or(0, |v| v.0);
        self.record_signed(
            message.sender.0,
            message.kind,
            Ok(view),
            decoded.seq().0,
            &message.payload,
        );
    }

    fn record_signed(
        &mut self,
        sender: u32,
        kind: MessageKind,
        view: Result<u64, crypto::DecodeError>,
        seq: u64,
        payload: &[u8],
    ) {
        let Ok(view) = view else {
            self.violation(format!(
                "replica {sender} signed a {kind:?} that does not decode"
            ));
            return;
        };
        let key = (sender, kind, view, seq);
        let payload = crypto::sha256(payload);
        match self.signed.get(&key) {
            Some(first) if *first != payload => self.violation(format!(
                "equivocation: replica {sender} signed two {kind:?} messages for view {view} height {seq}"
            )),
            Some(_) => {}
            None => {
                self.signed.insert(key, payload);
            }
        }
    }

    pub fn check_log_bounds(&mut self, node: usize, replica: &Replica) {
        let (low, high) = (replica.low_watermark(), replica.high_watermark());
        if let Some(outside) = replica
            .held_height_bounds()
            .into_iter()
            .flat_map(|(lowest, highest)| [lowest, highest])
            .find(|seq| *seq <= low || *seq > high)
        {
            self.violation(format!(
                "bounded log: node {node} holds votes at {} outside ({}, {}]",
                outside.0, low.0, high.0
            ));
        }
    }

    /// How many replicas committed `height`.
    pub fn committed_by(&self, height: u64) -> usize {
        self.commit_count.get(&height).copied().unwrap_or(0)
    }

    /// Whether at least `quorum` replicas committed `tx`.
    pub fn is_committed_by(&self, tx: &Hash, quorum: usize) -> bool {
        self.committed_txs
            .get(tx)
            .is_some_and(|height| self.commit_count.get(height).copied().unwrap_or(0) >= quorum)
    }
}
