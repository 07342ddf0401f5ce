//! Transactions: each one a load generator saw committed is in the chain, and
//! none is in a chain twice (a replayed transaction would move money twice).

use super::fetch::NodeChain;
use super::report::Problem;
use crypto::Hash;
use ledger::Block;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What [`check_txs`] found.
#[derive(Debug, Default)]
pub struct TxFindings {
    pub missing: Vec<Hash>,
    pub duplicated: Vec<Hash>,
    pub problems: Vec<Problem>,
}

/// Every transaction of `listed` must be in some node's chain; no transaction may
/// be in one node's chain more than once. A duplicate is reported once with every
/// node whose chain holds it at the same heights.
pub fn check_txs(
    chains: &[NodeChain],
    bodies: &BTreeMap<Hash, Block>,
    listed: &[Hash],
) -> TxFindings {
    let mut seen: BTreeSet<Hash> = BTreeSet::new();
    let mut duplicates: BTreeMap<(Hash, Vec<u64>), Vec<String>> = BTreeMap::new();
    for chain in chains {
        let mut heights: HashMap<Hash, Vec<u64>> = HashMap::new();
        for summary in &chain.blocks {
            let Some(block) = bodies.get(&summary.hash) else {
                continue;
            };
            for tx in block.tx_hashes() {
                heights.entry(tx).or_default().push(summary.height);
            }
        }
        for (tx, at) in heights {
            if at.len() > 1 {
                duplicates
                    .entry((tx, at))
                    .or_default()
                    .push(chain.node.name.clone());
            }
            seen.insert(tx);
        }
    }
    let mut findings = TxFindings::default();
    let mut missing: BTreeSet<Hash> = BTreeSet::new();
    for tx in listed {
        if !seen.contains(tx) && missing.insert(*tx) {
            findings.missing.push(*tx);
            findings.problems.push(Problem::MissingTx { tx: *tx });
        }
    }
    for ((tx, heights), nodes) in duplicates {
        if findings.duplicated.last() != Some(&tx) {
            findings.duplicated.push(tx);
        }
        findings
            .problems
            .push(Problem::DuplicatedTx { tx, heights, nodes });
    }
    findings
}
