//! State transfer in the simulator (DESIGN.md section 5.2 step 3): the host's side
//! of a replica's [`TransferRequest`]. It copies the committed blocks from its
//! ledger's tip up to the target checkpoint from the first listed peer that is
//! reachable and serves them, checking each block against its commit certificate,
//! the hash chain and by re-executing it. A peer that serves a block that fails a
//! check is dropped and the next one tried; the replica learns where the ledger
//! got to after a delay that grows with the number of blocks copied.

use super::host::Committed;
use super::verify_cache::VerifyCache;
use super::{byzantine::Behaviour, World, CHAIN_ID};
use consensus::{CommittedBlock, Membership, Message, SeqNo, SignedMessage, TransferRequest};
use crypto::Hash;
use ledger::Block;
use std::collections::BTreeSet;

/// Simulated time to copy and check this many blocks per millisecond.
const BLOCKS_PER_MS: u64 = 20;

/// A transfer whose answer the replica gets at `due_ms`, if the node has not
/// restarted since (`incarnation`).
pub struct PendingTransfer {
    pub due_ms: u64,
    pub node: usize,
    pub incarnation: u64,
}

impl World {
    /// Copies what `request` asks for into node `i`'s ledger now and schedules the
    /// replica's answer.
    pub(super) fn transfer(&mut self, i: usize, request: TransferRequest) {
        let target = request.target.seq.0;
        let start = self.nodes[i].ledger.height();
        for j in request.peers.iter().map(|p| p.index()) {
            if self.nodes[i].ledger.height() >= target {
                break;
            }
            if j >= self.nodes.len() || !self.nodes[j].is_up() || !self.net.connected(i, j) {
                continue;
            }
            let lies = self
                .byzantine
                .iter()
                .any(|b| b.node == j && b.behaviour == Behaviour::LyingRecovery);
            if let Err(text) = self.copy_from(i, j, target, lies) {
                if !self.is_byzantine(j) {
                    self.checker
                        .violations
                        .push(format!("state transfer from honest node {j}: {text}"));
                }
                self.refused_blocks += 1;
            }
        }
        let copied = self.nodes[i].ledger.height() - start;
        if self.debug {
            eprintln!(
                "{} node {i} transferred {start}..{} of target {target}",
                self.now_ms,
                self.nodes[i].ledger.height()
            );
        }
        self.pending_transfers.push(PendingTransfer {
            due_ms: self.now_ms + 1 + copied / BLOCKS_PER_MS,
            node: i,
            incarnation: self.nodes[i].incarnation,
        });
    }

    /// The replica learns where its ledger got to.
    pub(super) fn finish_transfer(&mut self, pending: PendingTransfer) {
        let i = pending.node;
        if !self.nodes[i].is_up() || self.nodes[i].incarnation != pending.incarnation {
            return;
        }
        self.transfers += 1;
        let answer = self.nodes[i].finish_transfer();
        self.step(i, answer);
    }

    /// Copies blocks from `j`'s ledger into `i`'s up to `target`, checking each. A
    /// lying peer corrupts what it serves.
    pub(super) fn copy_from(
        &mut self,
        i: usize,
        j: usize,
        target: u64,
        lies: bool,
    ) -> Result<(), String> {
        while self.nodes[i].ledger.height() < target {
            let h = self.nodes[i].ledger.height() + 1;
            let Some(block) = self.nodes[j].ledger.blocks.get(h as usize).cloned() else {
                return Ok(()); // it has no more
            };
            let mut block = block;
            let mut certificate = self.nodes[j].ledger.certificates[h as usize].clone();
            if lies {
                match h % 4 {
                    0 => block.header.timestamp_ms += 1,
                    1 => certificate.truncate(1),
                    2 => block.header.state_root = Hash([h as u8; 32]),
                    // A body that is not the header's (the certificate still holds).
                    _ => block.txs = crypto::BoundedVec::empty(),
                }
            }
            // Certificates are checked against the membership the receiving
            // node's own ledger implies at that height.
            let membership = self.membership_of(i);
            let info = checked_info(&block, certificate, &membership, &mut self.cache)?;
            let parent = self.nodes[i].ledger.tip().hash();
            let committed: Committed = self.nodes[i].apply_transferred(&self.chain, block, info)?;
            let change = self.change_at(i, h);
            self.checker
                .on_commit(i, &parent, &committed, change, CHAIN_ID, &mut self.cache);
        }
        Ok(())
    }
}

/// A transferred block's commit certificate: `q` distinct validators' valid COMMITs
/// of one view for exactly this block's hash and batch digest.
fn checked_info(
    block: &Block,
    certificate: Vec<SignedMessage>,
    membership: &Membership,
    cache: &mut VerifyCache,
) -> Result<CommittedBlock, String> {
    let height = block.header.height;
    let hash = block.hash();
    let epoch = membership.at(SeqNo(height));
    let mut signers = BTreeSet::new();
    let mut view = None;
    for signed in &certificate {
        if !epoch.contains(signed.sender) {
            return Err(format!(
                "block {height}: a certificate signer outside the validator set"
            ));
        }
        let verified = cache
            .verify(signed, membership.roster(), CHAIN_ID)
            .map_err(|e| format!("block {height}: a certificate signature: {e}"))?;
        match verified.message() {
            Message::Commit(c)
                if c.seq == SeqNo(height)
                    && c.block_hash == hash
                    && c.digest == block.header.batch_digest
                    && view.is_none_or(|v| v == c.view) =>
            {
                view = Some(c.view);
                signers.insert(signed.sender);
            }
            _ => return Err(format!("block {height}: a COMMIT for another block")),
        }
    }
    let q = epoch.q();
    if signers.len() < q {
        return Err(format!(
            "block {height}: {} signers, quorum {q}",
            signers.len()
        ));
    }
    Ok(CommittedBlock {
        seq: SeqNo(height),
        view: view.unwrap_or_default(),
        digest: block.header.batch_digest,
        block_hash: hash,
        state_root: block.header.state_root,
        timestamp_ms: block.header.timestamp_ms,
        certificate,
    })
}
