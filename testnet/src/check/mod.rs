//! `testnet check`: whether the nodes of a network hold one valid ledger (issue 16).
//!
//! [`check_network`] reads every node's HTTP API and reports, as [`Problem`]s:
//!
//! - a node that cannot be read (no answer within the timeouts, an error, JSON
//!   that is not what the route returns), or that runs another genesis or chain id;
//! - a fork: two nodes with different block hashes (and state roots) at a height;
//! - a node whose blocks do not link by their parent hashes, or whose summary of
//!   a block differs from that block's header; a block whose body does not match
//!   its header or holds a badly signed transaction;
//! - a commit certificate (`/blocks/{height}/commit`) that does not prove its
//!   block: fewer than the quorum of distinct members of the validator set in
//!   force at that height, a COMMIT that is not for this block, a signature that
//!   does not verify. The set is followed from the genesis through every
//!   membership change in the blocks by the node's own checker
//!   ([`node::driver::transfer::Checker`]);
//! - a node whose balances do not add up to the genesis supply (accounts: the
//!   genesis ones and every address a committed transaction names);
//! - a transaction reported committed (the caller's list) that is in no chain,
//!   and a transaction in a chain twice.
//!
//! Nodes below the highest are listed as lagging, a problem only with
//! [`CheckOptions::equal_heights`]. The check reads each node at the height its
//! `/status` gives when the check starts, so a network may go on committing; the
//! supply, read from the current state, wants a quiet network (see [`supply`]).
//!
//! The work is split by idea: [`fetch`] reads the nodes, [`decode`] turns their
//! JSON back into ledger types, [`chain`] compares the chains, [`blocks`] checks
//! each distinct block, [`certificate`] the certificates, [`supply`] the balances,
//! [`txs`] the transactions, and [`report`] holds the findings; [`inputs`] reads
//! what the command is given (a testnet directory, a genesis, a transaction list). [`observe`] does
//! all the reading and [`judge`] all the checking, so tests can judge made-up
//! observations.

pub mod blocks;
pub mod certificate;
pub mod chain;
pub mod decode;
pub mod fetch;
pub mod inputs;
pub mod report;
pub mod supply;
pub mod txs;

pub use fetch::{FetchError, NodeApi, NodeChain};
pub use report::{BlockFault, CertificateFault, CheckReport, Lag, Problem};
pub use supply::Supply;

use crypto::Hash;
use ledger::{Block, Genesis};
use node::client::Timeouts;
use std::collections::BTreeMap;
use std::time::Duration;

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Nodes below the highest are a failure, not a note.
    pub equal_heights: bool,
    /// Transactions someone saw committed (a load generator): each must be in
    /// the chain.
    pub txs: Vec<Hash>,
    /// Of every call to a node.
    pub timeouts: Timeouts,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            equal_heights: false,
            txs: Vec::new(),
            timeouts: Timeouts {
                connect: Duration::from_secs(2),
                call: Duration::from_secs(10),
            },
        }
    }
}

/// What the nodes served.
#[derive(Debug, Default)]
pub struct Observed {
    /// How many nodes were asked.
    pub nodes: usize,
    /// The nodes that could be read, in the order asked.
    pub chains: Vec<NodeChain>,
    /// Every distinct block of `chains`, by hash (checked to hash to it).
    pub bodies: BTreeMap<Hash, Block>,
    /// Each chain's node's balances, in `chains` order.
    pub supplies: Vec<Result<Supply, FetchError>>,
    /// What went wrong while reading (nodes that could not be read, blocks
    /// that could not be fetched or were not the block asked for).
    pub problems: Vec<Problem>,
}

/// Reads `nodes` (see [`fetch`] and [`supply`]).
pub fn observe(nodes: &[NodeApi], genesis: &Genesis, options: &CheckOptions) -> Observed {
    let mut observed = Observed {
        nodes: nodes.len(),
        ..Observed::default()
    };
    for result in fetch::fetch_chains(nodes, options.timeouts) {
        match result {
            Ok(chain) => observed.chains.push(chain),
            Err(error) => observed.problems.push(Problem::Fetch(error)),
        }
    }
    let (bodies, problems) = fetch::fetch_bodies(&observed.chains, options.timeouts);
    observed.bodies = bodies;
    observed.problems.extend(problems);
    let addresses = supply::addresses(genesis, observed.bodies.values());
    observed.supplies = supply::read_supplies(&observed.chains, &addresses, options.timeouts);
    observed
}

/// Checks what was observed.
pub fn judge(observed: Observed, genesis: &Genesis, options: &CheckOptions) -> CheckReport {
    let Observed {
        nodes,
        chains,
        bodies,
        supplies,
        problems,
    } = observed;
    let mut report = CheckReport {
        nodes,
        nodes_read: chains.len(),
        problems,
        supply_expected: supply::expected_supply(genesis),
        ..CheckReport::default()
    };
    if nodes == 0 {
        report.problems.push(Problem::NoNodes);
    }
    let compared = chain::compare(&chains, genesis, options.equal_heights);
    report.lowest_height = compared.lowest_height;
    report.highest_height = compared.highest_height;
    report.heights_checked = if chains.is_empty() {
        0
    } else {
        compared.highest_height + 1
    };
    report.divergent_heights = compared.divergent_heights;
    report.lagging = compared.lagging;
    report.problems.extend(compared.problems);
    report
        .problems
        .extend(blocks::check_bodies(&chains, &bodies));
    report
        .problems
        .extend(blocks::check_summaries(&chains, &bodies));

    let certified: Vec<certificate::CertificateFindings> = std::thread::scope(|scope| {
        let handles: Vec<_> = chains
            .iter()
            .map(|chain| scope.spawn(|| certificate::check_certificates(chain, &bodies, genesis)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a certificate check does not panic"))
            .collect()
    });
    for findings in certified {
        report.certificates_checked += findings.checked;
        report.bad_certificates += findings.bad;
        report.problems.extend(findings.problems);
    }

    for (chain, supply) in chains.iter().zip(supplies) {
        let node = chain.node.name.clone();
        match supply {
            Ok(supply) => {
                let found = match supply {
                    Supply::Settled { found, .. } => Some(found),
                    Supply::Unsettled { .. } => None,
                };
                report.supply_found.insert(node.clone(), found);
                report.problems.extend(supply::judge_supply(
                    &node,
                    &supply,
                    report.supply_expected,
                ));
            }
            Err(error) => {
                report.supply_found.insert(node, None);
                report.problems.push(Problem::Fetch(error));
            }
        }
    }

    let found = txs::check_txs(&chains, &bodies, &options.txs);
    report.missing_txs = found.missing;
    report.duplicated_txs = found.duplicated;
    report.problems.extend(found.problems);
    report
}

/// Reads every node of `nodes` and checks that they hold one valid ledger of
/// `genesis`; see the module documentation. Never panics on what a node serves:
/// a node that cannot be read is a [`Problem::Fetch`] naming it.
pub fn check_network(nodes: &[NodeApi], genesis: &Genesis, options: &CheckOptions) -> CheckReport {
    if let Err(error) = genesis.validate() {
        let mut report = CheckReport {
            nodes: nodes.len(),
            ..CheckReport::default()
        };
        report.problems.push(Problem::InvalidGenesis {
            reason: error.to_string(),
        });
        return report;
    }
    judge(observe(nodes, genesis, options), genesis, options)
}

#[cfg(test)]
mod tests;
