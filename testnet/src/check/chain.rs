//! Whether the nodes hold one chain: the same genesis, the same block hash and
//! state root at every height two of them hold, each node's blocks linked by
//! their parent hashes, and how far each node is below the highest.

use super::fetch::NodeChain;
use super::report::{Lag, Problem};
use crypto::Hash;
use ledger::Genesis;

/// What [`compare`] found.
#[derive(Debug, Default)]
pub struct ChainFindings {
    pub lowest_height: u64,
    pub highest_height: u64,
    pub divergent_heights: u64,
    pub lagging: Vec<Lag>,
    pub problems: Vec<Problem>,
}

/// Compares the chains of the nodes read. Nodes below the highest are listed in
/// `lagging`, and are problems too when `equal_heights`.
pub fn compare(chains: &[NodeChain], genesis: &Genesis, equal_heights: bool) -> ChainFindings {
    let mut findings = ChainFindings {
        lowest_height: chains.iter().map(|c| c.height).min().unwrap_or(0),
        highest_height: chains.iter().map(|c| c.height).max().unwrap_or(0),
        ..ChainFindings::default()
    };
    for chain in chains {
        findings.problems.extend(genesis_problems(chain, genesis));
        findings.problems.extend(broken_links(chain));
    }
    for height in 0..=findings.highest_height {
        let hashes = grouped(chains, height, |c| c.hash_at(height));
        // Compared apart from the hashes: a node's summary may claim another's
        // hash with its own state root (`blocks` holds each summary to its body).
        let roots = grouped(chains, height, |c| {
            c.blocks.get(height as usize).map(|b| b.state_root)
        });
        if hashes.len() > 1 || roots.len() > 1 {
            findings.divergent_heights += 1;
        }
        if hashes.len() > 1 {
            findings.problems.push(Problem::Fork { height, hashes });
        }
        if roots.len() > 1 {
            findings
                .problems
                .push(Problem::StateRootDiffers { height, roots });
        }
    }
    for chain in chains {
        let behind = findings.highest_height - chain.height;
        if behind == 0 {
            continue;
        }
        let lag = Lag {
            node: chain.node.name.clone(),
            height: chain.height,
            behind,
        };
        if equal_heights {
            findings.problems.push(Problem::UnequalHeight {
                node: lag.node.clone(),
                height: lag.height,
                behind,
            });
        }
        findings.lagging.push(lag);
    }
    findings
}

/// The distinct values `of` gives at `height` across the chains that hold it,
/// each with the nodes giving it, in node order.
fn grouped(
    chains: &[NodeChain],
    height: u64,
    of: impl Fn(&NodeChain) -> Option<Hash>,
) -> Vec<(Hash, Vec<String>)> {
    let mut groups: Vec<(Hash, Vec<String>)> = Vec::new();
    for chain in chains.iter().filter(|c| c.height >= height) {
        let Some(value) = of(chain) else { continue };
        match groups.iter_mut().find(|(v, _)| *v == value) {
            Some((_, nodes)) => nodes.push(chain.node.name.clone()),
            None => groups.push((value, vec![chain.node.name.clone()])),
        }
    }
    groups
}

/// The node runs another chain than the genesis file describes.
fn genesis_problems(chain: &NodeChain, genesis: &Genesis) -> Vec<Problem> {
    let mut problems = Vec::new();
    let node = || chain.node.name.clone();
    if chain.chain_id != *genesis.chain_id {
        problems.push(Problem::ChainIdMismatch {
            node: node(),
            expected: genesis.chain_id.to_string(),
            found: chain.chain_id.clone(),
        });
    }
    if chain.genesis_hash != genesis.hash() {
        problems.push(Problem::GenesisMismatch {
            node: node(),
            what: "genesis hash",
            expected: genesis.hash(),
            found: chain.genesis_hash,
        });
    }
    let block_zero = genesis.block(&genesis.initial_state()).hash();
    if let Some(found) = chain.hash_at(0).filter(|found| *found != block_zero) {
        problems.push(Problem::GenesisMismatch {
            node: node(),
            what: "block 0",
            expected: block_zero,
            found,
        });
    }
    problems
}

/// Heights whose block does not name the node's previous block as its parent.
fn broken_links(chain: &NodeChain) -> Vec<Problem> {
    chain
        .blocks
        .windows(2)
        .filter(|pair| pair[1].parent != pair[0].hash)
        .map(|pair| Problem::BrokenChain {
            node: chain.node.name.clone(),
            height: pair[1].height,
            parent: pair[1].parent,
            previous: pair[0].hash,
        })
        .collect()
}
