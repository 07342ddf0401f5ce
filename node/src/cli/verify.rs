//! `rbft block verify HEIGHT|--checkpoint --genesis FILE`: runs
//! [`node::verify::verify`] (or [`node::verify::verify_checkpoint`]) against a node
//! and says what it checked, or names the problem.

use super::{explain, CliResult, NodeArg};
use node::verify::{verify, verify_checkpoint, Verified, VerifyError};
use std::path::Path;

/// What to verify.
pub enum What {
    Block(u64),
    /// `GET /checkpoints/latest`: its block and its proof.
    LatestCheckpoint,
}

pub fn run(what: What, genesis: &Path, node: &NodeArg, json: bool) -> CliResult {
    let genesis = ledger::Genesis::load(genesis).map_err(|e| e.to_string())?;
    let client = node.client();
    let checkpoint = matches!(what, What::LatestCheckpoint);
    let (verified, subject) = match what {
        What::Block(height) => (verify(&genesis, &client, height), format!("block {height}")),
        What::LatestCheckpoint => {
            let info = client.latest_checkpoint().map_err(explain)?;
            (
                verify_checkpoint(&genesis, &client, &info),
                format!("the stable checkpoint at {}", info.height),
            )
        }
    };
    match verified {
        Ok(verified) => {
            if json {
                super::show::json(&verified);
            } else {
                print(&verified);
                if checkpoint && verified.height > 0 {
                    println!(
                        "  checkpoint    proven by a quorum ({}) of the set's signed CHECKPOINTs",
                        verified.quorum
                    );
                }
            }
            Ok(())
        }
        Err(VerifyError::Fetch { what, source }) => {
            Err(format!("fetching {what}: {}", explain(source)))
        }
        Err(problem) => Err(format!(
            "{subject} does NOT verify against the genesis file: {problem}"
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
