//! `rbft validator add | remove | list` (issue 7): governance transactions signed with
//! the admin key, and the membership a node reports.

use super::{explain, show, CliResult, NodeArg};
use clap::Subcommand;
use crypto::{BoundedString, PublicKey};
use ledger::{TxKind, ValidatorInfo};
use node::governance::{self, GovernanceError};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ValidatorCommand {
    /// Authorise a new validator: an AddValidator signed with the admin key.
    Add {
        /// The new validator's public key (64 hex characters).
        #[arg(long, value_name = "KEY")]
        pubkey: PublicKey,
        /// Where peers dial it: a libp2p multiaddress such as /ip4/127.0.0.1/tcp/8104.
        #[arg(long, value_name = "ADDR", value_parser = parse_p2p_addr)]
        p2p_addr: BoundedString<256>,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Remove a validator: a RemoveValidator signed with the admin key.
    Remove {
        /// The validator's public key (64 hex characters).
        #[arg(long, value_name = "KEY")]
        pubkey: PublicKey,
        #[command(flatten)]
        submit: SubmitArgs,
    },
    /// Show the membership: the validators in force and the changes pending.
    List {
        #[command(flatten)]
        node: NodeArg,
    },
}

#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// The chain's admin key file.
    #[arg(long, value_name = "FILE")]
    admin_key: PathBuf,
    #[command(flatten)]
    wait: super::args::WaitArgs,
    #[command(flatten)]
    node: NodeArg,
}

fn parse_p2p_addr(text: &str) -> Result<BoundedString<256>, String> {
    let text = text.trim();
    text.parse::<libp2p::Multiaddr>()
        .map_err(|e| format!("not a libp2p multiaddress ({e}); e.g. /ip4/127.0.0.1/tcp/8104"))?;
    BoundedString::new(text).map_err(|_| "at most 256 bytes".to_owned())
}

pub fn run(command: ValidatorCommand, json: bool) -> CliResult {
    match command {
        ValidatorCommand::Add {
            pubkey,
            p2p_addr,
            submit,
        } => {
            let validator = ValidatorInfo {
                public_key: pubkey,
                p2p_addr,
            };
            submit.run(TxKind::AddValidator { validator }, json)
        }
        ValidatorCommand::Remove { pubkey, submit } => {
            submit.run(TxKind::RemoveValidator { public_key: pubkey }, json)
        }
        ValidatorCommand::List { node } => {
            let info = node.client().validators().map_err(explain)?;
            if json {
                show::json(&info);
            } else {
                show::validators(&info);
            }
            Ok(())
        }
    }
}

impl SubmitArgs {
    fn run(self, kind: TxKind, json: bool) -> CliResult {
        let admin = governance::read_admin_key(&self.admin_key).map_err(describe)?;
        let client = self.node.client();
        let hash = governance::submit(&client, &admin, kind).map_err(describe)?;
        let Some(timeout) = self.wait.for_how_long() else {
            if json {
                println!("{}", serde_json::json!({ "hash": hash }));
            } else {
                println!("submitted {hash}");
            }
            return Ok(());
        };
        if !json {
            eprintln!("submitted {hash}; waiting for it to commit");
        }
        let height = governance::wait_committed(&client, &hash, timeout).map_err(describe)?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "hash": hash, "status": "committed", "height": height })
            );
        } else {
            println!("committed {hash} at height {height}");
        }
        Ok(())
    }
}

/// The message people read, with a hint where one helps.
fn describe(error: GovernanceError) -> String {
    match error {
        GovernanceError::Client(e) => explain(e),
        GovernanceError::Refused { ref code, .. } if code == "not_admin" => format!(
            "{error}\n  the key given with --admin-key is not the chain's admin key (genesis.json: admin)"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2p_addresses_are_multiaddresses() {
        assert!(parse_p2p_addr("/ip4/127.0.0.1/tcp/8104").is_ok());
        assert!(parse_p2p_addr("127.0.0.1:8104").is_err());
        assert!(parse_p2p_addr(&format!("/dns4/{}/tcp/1", "a".repeat(300))).is_err());
    }
}
