//! State transfer in the simulator: a stand-in for the recovery protocol of
//! DESIGN.md section 5.2, which the recovery issue builds. A replica that fell
//! behind the others' garbage-collected window cannot complete the missing heights
//! with normal-case messages; it copies the committed blocks up to a peer's stable
//! checkpoint instead, checking everything it copies.

use super::{World, CATCH_UP_AFTER_MS, CHAIN_ID};
use consensus::{CommittedBlock, Message, SeqNo};

impl World {
    /// State transfer (a stand-in for DESIGN.md section 5.2, which the recovery issue
    /// builds): a node that f + 1 peers say is behind and that has stalled takes the
    /// highest stable checkpoint a reachable peer holds, checks its proof, copies the
    /// blocks up to it (each checked against its certificate by the commit checks,
    /// against the hash chain and by re-execution) and restarts its replica there.
    pub(super) fn maybe_catch_up(&mut self, i: usize) {
        let f = consensus::max_faulty(self.nodes.len());
        if !self.nodes[i].is_up()
            || self.now_ms < self.nodes[i].last_progress_ms + CATCH_UP_AFTER_MS
            || self.nodes[i].behind_target(f).is_none()
        {
            return;
        }
        let height = self.nodes[i].ledger.height();
        let best = (0..self.nodes.len())
            .filter(|j| *j != i && self.net.connected(i, *j))
            .filter_map(|j| {
                let stable = self.nodes[j].replica.as_ref()?.stable_checkpoint()?;
                (stable.seq.0 > height).then_some((stable.seq.0, j))
            })
            .max();
        let Some((target, j)) = best else {
            return;
        };
        let stable = self.nodes[j]
            .replica
            .as_ref()
            .and_then(|r| r.stable_checkpoint())
            .cloned()
            .expect("chosen for its checkpoint");
        let quorum = consensus::quorum(self.nodes.len());
        if !stable.is_proven(&self.chain.keys, CHAIN_ID, quorum) {
            self.checker.violations.push(format!(
                "state transfer: the checkpoint proof at {} does not hold {quorum} valid signatures for its block",
                stable.seq.0
            ));
            return;
        }
        for h in height + 1..=target {
            let block = self.nodes[j].ledger.blocks[h as usize].clone();
            let certificate = self.nodes[j].ledger.certificates[h as usize].clone();
            let view = certificate
                .first()
                .and_then(|m| <Message as crypto::Canonical>::from_canonical_bytes(&m.payload).ok())
                .and_then(|m| m.view())
                .unwrap_or_default();
            let info = CommittedBlock {
                seq: SeqNo(h),
                view,
                digest: block.header.batch_digest,
                block_hash: block.hash(),
                state_root: block.header.state_root,
                timestamp_ms: block.header.timestamp_ms,
                certificate,
            };
            let parent = self.nodes[i].ledger.tip().hash();
            match self.nodes[i].apply_transferred(&self.chain, block, info) {
                Ok(committed) => self.checker.on_commit(
                    i,
                    &parent,
                    &committed,
                    &self.chain.keys,
                    CHAIN_ID,
                    &mut self.cache,
                ),
                Err(text) => {
                    self.checker
                        .violations
                        .push(format!("state transfer: {text}"));
                    return;
                }
            }
        }
        if self.nodes[i].ledger.tip().hash() != stable.block_hash {
            self.checker
                .violations
                .push("state transfer: the checkpoint names another block".into());
            return;
        }
        self.nodes[i].restart_at_checkpoint(&self.chain, stable);
        self.nodes[i].last_progress_ms = self.now_ms;
        self.transfers += 1;
        if self.debug {
            eprintln!("{} node {i} transferred to {target}", self.now_ms);
        }
        let report = self.nodes[i].pool_report();
        self.step(i, report);
    }
}
