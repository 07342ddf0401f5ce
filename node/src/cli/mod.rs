//! The commands of `rbft` (DESIGN.md section 9). The operator's commands, `init`
//! and `genesis`, work on files on this machine. The client commands, `tx`, `block`,
//! `account`, `status` and `validator`, each talk to one node through
//! [`node::client::Client`]; `tx sign` talks to none (an offline key), and `block
//! verify` trusts only the genesis file it is given. All print text for people, or
//! JSON with `--json`.

mod args;
mod genesis;
mod init;
mod show;
mod sign;
mod tx;
mod validator;
mod verify;

use clap::{Args, Subcommand};
use node::client::{Client, ClientError, DEFAULT_NODE_URL};

pub use genesis::GenesisCommand;
pub use init::InitArgs;
pub use tx::TxCommand;
pub use validator::ValidatorCommand;

/// `--node URL`, shared by every client command.
#[derive(Args, Debug, Clone)]
pub struct NodeArg {
    /// The node's HTTP API.
    #[arg(long = "node", value_name = "URL", default_value = DEFAULT_NODE_URL)]
    pub url: String,
}

impl NodeArg {
    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }
}

#[derive(Subcommand, Debug)]
pub enum BlockCommand {
    /// Show one block: by height, by hash, or `latest`.
    Get {
        #[arg(value_name = "HEIGHT|HASH|latest", value_parser = parse_block_id)]
        id: String,
        #[command(flatten)]
        node: NodeArg,
    },
    /// List block headers, ascending from a height.
    List {
        /// The first height (default: the node's choice, from the start).
        #[arg(long, value_name = "H")]
        from: Option<u64>,
        /// How many blocks (the node caps a page).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Print each block as it commits, until Ctrl-C (`--json`: one line each).
    Watch {
        #[command(flatten)]
        node: NodeArg,
    },
    /// Check a block from a trusted genesis file alone: every block from the
    /// genesis up to it, their parent links, transaction roots and signatures,
    /// and each commit certificate against the validator set in force at its
    /// height (following every membership change). Fails naming the problem.
    Verify {
        #[arg(value_name = "HEIGHT", required_unless_present = "checkpoint")]
        height: Option<u64>,
        /// Verify the node's latest stable checkpoint instead: its block as for
        /// HEIGHT, then its signed CHECKPOINTs by the set of its height.
        #[arg(long, conflicts_with = "height")]
        checkpoint: bool,
        /// The genesis file you trust (not the node's say-so).
        #[arg(long, value_name = "FILE")]
        genesis: std::path::PathBuf,
        #[command(flatten)]
        node: NodeArg,
    },
}

/// What `rbft block get` accepts: checked before any request, so a typo is named
/// as a typo rather than as a 404.
fn parse_block_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text == "latest" || text.parse::<u64>().is_ok() || text.parse::<crypto::Hash>().is_ok() {
        Ok(text.to_owned())
    } else {
        Err("expected a height (a number), a block hash (64 hex characters) or `latest`".into())
    }
}

/// A failed command, as the one line `rbft:` prints.
pub type CliResult = Result<(), String>;

/// Turns a client error into the message people read, with a hint where one helps.
pub fn explain(error: ClientError) -> String {
    match &error {
        ClientError::Unreachable { .. } => {
            format!("{error}\n  is a node running there? Choose one with --node URL")
        }
        _ => error.to_string(),
    }
}

pub fn block(command: BlockCommand, json: bool) -> CliResult {
    match command {
        BlockCommand::Get { id, node } => {
            let block = node.client().block(&id).map_err(|e| match e {
                e if e.is_not_found() => format!("no block {id} at {}", node.url),
                e => explain(e),
            })?;
            if json {
                show::json(&block);
            } else {
                show::block(&block);
            }
        }
        BlockCommand::Verify {
            height,
            checkpoint,
            genesis,
            node,
        } => {
            let what = match height {
                Some(height) if !checkpoint => verify::What::Block(height),
                _ => verify::What::LatestCheckpoint,
            };
            return verify::run(what, &genesis, &node, json);
        }
        BlockCommand::Watch { node } => return watch_blocks(&node, json),
        BlockCommand::List { from, limit, node } => {
            let list = node.client().blocks(from, limit).map_err(explain)?;
            if json {
                show::json(&list);
            } else {
                show::block_list(&list);
            }
        }
    }
    Ok(())
}

/// `rbft block watch`: the node's `block` events, printed as they arrive. Ends
/// with an error when the node ends the stream (it stopped, or this client fell
/// behind and was sent `lagged`).
fn watch_blocks(node: &NodeArg, json: bool) -> CliResult {
    use node::client::Next;
    use node::events::Event;
    let mut events = node.client().events(None, None).map_err(explain)?;
    loop {
        match events.next_event().map_err(explain)? {
            Next::Event(event @ Event::Block { .. }) if json => show::json(&event),
            Next::Event(Event::Block {
                height,
                hash,
                tx_count,
                view,
            }) => println!("height {height}  {hash}  {tx_count} txs  view {view}"),
            Next::Event(Event::Lagged { missed }) => {
                return Err(format!(
                    "fell {missed} events behind {} and was disconnected; run it again",
                    node.url
                ))
            }
            Next::Event(_) => {}
            Next::End | Next::TimedOut => {
                return Err(format!("{} ended the event stream", node.url))
            }
        }
    }
}

pub fn account(address: &ledger::Address, node: &NodeArg, json: bool) -> CliResult {
    let account = node.client().account(address).map_err(explain)?;
    if json {
        show::json(&account);
    } else {
        show::account(&account);
    }
    Ok(())
}

pub fn status(node: &NodeArg, json: bool) -> CliResult {
    let status = node.client().status().map_err(explain)?;
    if json {
        show::json(&status);
    } else {
        show::status(&status);
    }
    Ok(())
}

pub fn tx(command: TxCommand, json: bool) -> CliResult {
    tx::run(command, json)
}

pub fn validator(command: ValidatorCommand, json: bool) -> CliResult {
    validator::run(command, json)
}

pub fn init(args: InitArgs, json: bool) -> CliResult {
    init::run(args, json)
}

pub fn genesis(command: GenesisCommand, json: bool) -> CliResult {
    genesis::run(command, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_are_heights_hashes_or_latest() {
        assert!(parse_block_id("latest").is_ok());
        assert!(parse_block_id("42").is_ok());
        assert!(parse_block_id(&"ab".repeat(32)).is_ok());
        assert!(parse_block_id("-1").is_err());
        assert!(parse_block_id("lastest").is_err());
        assert!(parse_block_id(&"ab".repeat(31)).is_err());
    }
}
