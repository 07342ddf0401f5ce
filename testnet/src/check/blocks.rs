//! Each distinct block the nodes hold, checked once: its body matches its header
//! (transaction count and merkle root, so the hash the nodes compare covers the
//! transactions) and every transaction in it is validly signed. And each node's
//! summary of a block (what the chains are compared on) says what the block's
//! header says.

use super::fetch::NodeChain;
use super::report::{BlockFault, Problem};
use crypto::Hash;
use ledger::{Block, VerifiedTx};
use std::collections::BTreeMap;

/// The problems of `bodies`, each naming the nodes that hold the block.
pub fn check_bodies(chains: &[NodeChain], bodies: &BTreeMap<Hash, Block>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (hash, block) in bodies {
        let height = block.header.height;
        let faults = faults_of(block);
        if faults.is_empty() {
            continue;
        }
        let holders: Vec<&str> = chains
            .iter()
            .filter(|c| c.hash_at(height) == Some(*hash))
            .map(|c| c.node.name.as_str())
            .collect();
        problems.extend(faults.into_iter().map(|fault| Problem::BadBlock {
            node: holders.join(", "),
            height,
            fault,
        }));
    }
    problems
}

/// Summaries that differ from the header of the block whose hash they give.
pub fn check_summaries(chains: &[NodeChain], bodies: &BTreeMap<Hash, Block>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for chain in chains {
        for summary in &chain.blocks {
            let Some(block) = bodies.get(&summary.hash) else {
                continue;
            };
            let h = &block.header;
            let same = summary.height == h.height
                && summary.parent == h.parent
                && summary.state_root == h.state_root
                && summary.tx_count == h.tx_count
                && summary.timestamp_ms == h.timestamp_ms
                && summary.proposer == h.proposer;
            if !same {
                problems.push(Problem::BadBlock {
                    node: chain.node.name.clone(),
                    height: summary.height,
                    fault: BlockFault::SummaryMismatch,
                });
            }
        }
    }
    problems
}

/// What is wrong with `block` on its own.
pub fn faults_of(block: &Block) -> Vec<BlockFault> {
    let hashes = block.tx_hashes();
    let mut faults = Vec::new();
    if !block.header_describes(&hashes) {
        faults.push(BlockFault::BodyMismatch);
    }
    let verified = VerifiedTx::verify_many(block.txs.to_vec());
    for (index, (result, tx)) in verified.iter().zip(hashes).enumerate() {
        if result.is_err() {
            faults.push(BlockFault::BadTxSignature { tx, index });
        }
    }
    faults
}
