//! `rbft tx send`, `rbft tx get`, and (in [`super::sign`]) `rbft tx sign` and
//! `rbft tx submit`: signing a transfer ([`super::sign::sign_transfer`]) and
//! submitting one ([`submit_signed`]) are written once and used by both paths.

use super::args::{TransferArgs, WaitArgs};
use super::{explain, show, CliResult, NodeArg};
use clap::Subcommand;
use crypto::Hash;
use ledger::{Address, ChainId, SignedTransaction};
use node::api::types::{TxInfo, TxStatus};
use node::client::Client;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Sign a transfer with a key file and submit it.
    Send {
        #[command(flatten)]
        transfer: TransferArgs,
        /// The nonce to use (default: the account's pending nonce at the node).
        #[arg(long, value_name = "N")]
        nonce: Option<u64>,
        #[command(flatten)]
        wait: WaitArgs,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Sign a transfer without contacting a node (the key may stay on a machine with
    /// no network) and write it as JSON, for `rbft tx submit`.
    Sign(super::sign::SignArgs),
    /// Submit a signed transaction written by `rbft tx sign` (`-` reads stdin).
    Submit {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Wait until a transaction commits (success), is dropped or the timeout
    /// passes (failure), following the node's events rather than polling.
    Wait {
        #[arg(value_name = "HASH")]
        hash: Hash,
        /// How long to wait, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Show a transaction: pending, committed (where) or dropped (why).
    Get {
        #[arg(value_name = "HASH")]
        hash: Hash,
        #[command(flatten)]
        node: NodeArg,
    },
}

pub fn run(command: TxCommand, json: bool) -> CliResult {
    match command {
        TxCommand::Send {
            transfer,
            nonce,
            wait,
            node,
        } => {
            let send = Send { transfer, nonce };
            let client = node.client();
            let signed = send.sign(&client)?;
            submit_signed(&client, &signed, wait.for_how_long(), json)
        }
        TxCommand::Sign(args) => super::sign::sign(args, json),
        TxCommand::Submit { file, wait, node } => {
            let signed = super::sign::read_signed(&file).map_err(|e| e.to_string())?;
            submit_signed(&node.client(), &signed, wait.for_how_long(), json)
        }
        TxCommand::Wait {
            hash,
            timeout,
            node,
        } => wait_for_commit(&node.client(), &hash, Duration::from_secs(timeout), json),
        TxCommand::Get { hash, node } => {
            let info = node.client().tx(&hash).map_err(|e| {
                if e.is_not_found() {
                    format!("transaction {hash} is unknown to {}", node.url)
                } else {
                    explain(e)
                }
            })?;
            if json {
                show::json(&info);
            } else {
                show::tx(&info);
            }
            Ok(())
        }
    }
}

struct Send {
    transfer: TransferArgs,
    nonce: Option<u64>,
}

impl Send {
    /// Reads the key, asks the node for the chain id and (unless given) the nonce,
    /// and signs.
    fn sign(&self, client: &Client) -> Result<SignedTransaction, String> {
        let transfer = &self.transfer;
        let key = crypto::keyfile::read_key_file(&transfer.key).map_err(|e| e.to_string())?;
        let sender = Address::of(&key.public_key());
        let status = client.status().map_err(explain)?;
        let chain_id = ChainId::new(status.chain_id.clone())
            .map_err(|_| format!("the node reports an invalid chain id {:?}", status.chain_id))?;
        let nonce = match self.nonce {
            Some(nonce) => nonce,
            None => client.account(&sender).map_err(explain)?.pending_nonce,
        };
        Ok(super::sign::sign_transfer(
            &key,
            chain_id,
            nonce,
            transfer.to,
            transfer.amount,
        ))
    }
}

/// Submits `signed` and prints its hash; with `wait` (a timeout in seconds),
/// waits for it to commit: `tx send` and `tx submit` both end here.
fn submit_signed(
    client: &Client,
    signed: &SignedTransaction,
    wait: Option<Duration>,
    json: bool,
) -> CliResult {
    let hash = client.submit(signed).map_err(|e| match e.status() {
        Some(_) => format!("the node refused the transaction: {e}"),
        None => explain(e),
    })?;
    let Some(timeout) = wait else {
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
    wait_for_commit(client, &hash, timeout, json)
}

/// Waits ([`Client::wait_settled`]: the node's events, not polling) until
/// committed (success), dropped or out of time (failure). With `--json` the last
/// state is printed in every case. `tx send --wait`, `tx submit --wait` and `tx
/// wait` all end here.
pub(super) fn wait_for_commit(
    client: &Client,
    hash: &Hash,
    timeout: Duration,
    json: bool,
) -> CliResult {
    let last: Option<TxInfo> = client.wait_settled(hash, timeout).map_err(explain)?;
    let status = last.as_ref().map(|i| i.status);
    if json {
        let reason = last.as_ref().and_then(|i| i.reason.clone());
        let mut line = serde_json::json!({
            "hash": hash,
            "status": status.map_or("unknown", show::status_name),
            "height": last.as_ref().and_then(|i| i.height),
        });
        if let Some(reason) = reason {
            line["reason"] = reason.into();
        }
        println!("{line}");
    }
    match last {
        Some(info) if info.status == TxStatus::Committed => {
            if !json {
                let height = info.height.map_or("?".to_owned(), |h| h.to_string());
                println!("committed {hash} at height {height}");
            }
            Ok(())
        }
        Some(info) if info.status == TxStatus::Dropped => Err(format!(
            "transaction {hash} was dropped: {}",
            info.reason.as_deref().unwrap_or("no reason given")
        )),
        Some(_) => Err(format!(
            "transaction {hash} is still pending after {} s",
            timeout.as_secs()
        )),
        None => Err(format!(
            "transaction {hash} is unknown to the node after {} s",
            timeout.as_secs()
        )),
    }
}
