//! `rbft block verify HEIGHT --genesis FILE`: runs [`node::verify::verify`] against
//! a node and says what it checked, or names the problem.

use super::{explain, CliResult, NodeArg};
use node::verify::{verify, Verified, VerifyError};
use std::path::Path;

pub fn run(height: u64, genesis: &Path, node: &NodeArg, json: bool) -> CliResult {
    let genesis = ledger::Genesis::load(genesis).map_err(|e| e.to_string())?;
    match verify(&genesis, &node.client(), height) {
        Ok(verified) => {
            if json {
                super::show::json(&verified);
            } else {
                print(&verified);
            }
            Ok(())
        }
        Err(VerifyError::Fetch { what, source }) => {
            Err(format!("fetching {what}: {}", explain(source)))
        }
        Err(problem) => Err(format!(
            "block {height} does NOT verify against the genesis file: {problem}"
        )),
    }
}

fn list(ids: &[u32]) -> String {
    ids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print(v: &Verified) {
    println!("block {} verifies: {}", v.height, v.hash);
    println!(
        "  genesis       {} (chain {}) is block 0 as the file makes it",
        v.genesis_hash, v.chain_id
    );
    if v.height == 0 {
        return;
    }
    println!(
        "  chain         blocks 1 to {} checked on the way: parent, transactions, certificate",
        v.blocks_below
    );
    if v.membership_changes.is_empty() {
        println!("  membership    no change since the genesis");
    } else {
        let changes: Vec<String> = v.membership_changes.iter().map(u64::to_string).collect();
        println!(
            "  membership    changes followed at heights {}",
            changes.join(", ")
        );
    }
    println!(
        "  set           replicas {} (from height {}), quorum {}",
        list(&v.members),
        v.set_since,
        v.quorum
    );
    println!("  parent        {} (block {})", v.parent, v.height - 1);
    println!(
        "  transactions  {}, root {} matches, every signature valid",
        v.tx_count, v.tx_root
    );
    println!(
        "  certificate   view {}, COMMITs of replicas {}: members, distinct, {} of {} needed, every signature valid",
        v.view.unwrap_or_default(),
        list(&v.signers),
        v.signers.len(),
        v.quorum
    );
}
