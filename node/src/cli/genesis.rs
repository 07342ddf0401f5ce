//! `rbft genesis build | check`: the genesis from the operators' validator cards
//! ([`node::genesis_build`]), and the hash every operator compares out of band
//! before starting.

use super::CliResult;
use clap::Subcommand;
use crypto::PublicKey;
use ledger::{Address, ConsensusParams, Genesis};
use node::card::ValidatorCard;
use node::genesis_build::{self, GenesisPlan};
use std::io::Write;
use std::path::{Path, PathBuf};

// Parsed once per run of the command: the size of a public key in one variant
// costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Build a genesis from validator cards (in the order given: the first is the
    /// primary of view 0) and print its hash.
    Build {
        /// The chain id: 1 to 64 of A-Z a-z 0-9 . _ -
        #[arg(long, value_name = "ID")]
        chain_id: String,
        /// The admin's public key (64 hex characters; `rbft address --key FILE --json`
        /// prints it): signs the transactions that add and remove validators.
        #[arg(long, value_name = "PUBKEY")]
        admin: PublicKey,
        /// A validator card `rbft init` wrote; one per validator, at least 4.
        #[arg(long = "card", value_name = "FILE", required = true)]
        cards: Vec<PathBuf>,
        /// An initial account balance, ADDR=AMOUNT; repeat for more.
        #[arg(long = "fund", value_name = "ADDR=AMOUNT", value_parser = parse_fund)]
        funds: Vec<(Address, u64)>,
        /// A consensus parameter, NAME=VALUE (e.g. checkpoint_interval=10); the
        /// others keep their defaults (DESIGN.md section 10).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
        params: Vec<(String, u64)>,
        /// The time of block 0 in ms since the Unix epoch (default: now). Two people
        /// building from the same cards and options get the same genesis only with
        /// the same time.
        #[arg(long, value_name = "MS")]
        genesis_time_ms: Option<u64>,
        /// Where to write the genesis; an existing file is not replaced.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check a genesis file and print its hash, to compare with the other operators.
    Check {
        /// The genesis file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Fail unless the hash is this one (64 hex characters).
        #[arg(long, value_name = "HASH")]
        expect: Option<crypto::Hash>,
    },
}

fn parse_fund(text: &str) -> Result<(Address, u64), String> {
    let (address, amount) = text
        .split_once('=')
        .ok_or_else(|| "expected ADDR=AMOUNT".to_owned())?;
    let address = address
        .trim()
        .parse::<Address>()
        .map_err(|e| format!("{address:?} is not an address: {e}"))?;
    let amount = amount
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{amount:?} is not an amount"))?;
    Ok((address, amount))
}

fn parse_param(text: &str) -> Result<(String, u64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=VALUE".to_owned())?;
    let value = value
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    Ok((name.trim().to_owned(), value))
}

/// The consensus parameters: the defaults with `params` over them; an unknown
/// name is refused with the list of known ones.
fn consensus_params(params: &[(String, u64)]) -> Result<ConsensusParams, String> {
    let mut map = serde_json::Map::new();
    for (name, value) in params {
        if map.insert(name.clone(), (*value).into()).is_some() {
            return Err(format!("--param: {name} is given twice"));
        }
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| format!("--param: {e}"))
}

pub fn run(command: GenesisCommand, json: bool) -> CliResult {
    match command {
        GenesisCommand::Build {
            chain_id,
            admin,
            cards,
            funds,
            params,
            genesis_time_ms,
            out,
        } => {
            let cards = cards
                .into_iter()
                .map(|path| ValidatorCard::load(&path).map(|card| (path, card)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            let plan = GenesisPlan {
                chain_id,
                genesis_time_ms: genesis_time_ms.unwrap_or_else(node::shared::Shared::now_ms),
                admin,
                balances: funds,
                cards,
                consensus: consensus_params(&params)?,
            };
            let genesis = genesis_build::build(&plan).map_err(|e| e.to_string())?;
            write_new(&out, &format!("{}\n", genesis.to_json()))?;
            show(&genesis, json, Some(&out));
            Ok(())
        }
        GenesisCommand::Check { file, expect } => {
            let genesis = Genesis::load(&file).map_err(|e| e.to_string())?;
            genesis_build::check_addresses(&genesis)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let hash = genesis.hash();
            if let Some(expected) = expect {
                if hash != expected {
                    return Err(format!(
                        "{}: genesis hash is {hash}, not the expected {expected}; do not start with this file",
                        file.display()
                    ));
                }
            }
            show(&genesis, json, None);
            Ok(())
        }
    }
}

fn show(genesis: &Genesis, json: bool, written: Option<&Path>) {
    let hash = genesis.hash();
    if json {
        let validators: Vec<_> = genesis
            .validators
            .iter()
            .map(|v| serde_json::json!({ "public_key": v.public_key, "p2p_addr": &*v.p2p_addr }))
            .collect();
        let supply: u64 = genesis.balances.iter().map(|b| b.balance).sum();
        let mut value = serde_json::json!({
            "hash": hash.to_string(),
            "chain_id": genesis.chain_id.to_string(),
            "admin": genesis.admin,
            "validators": validators,
            "accounts": genesis.balances.len(),
            "supply": supply,
        });
        if let Some(path) = written {
            value["file"] = path.display().to_string().into();
        }
        println!("{value}");
        return;
    }
    if let Some(path) = written {
        println!("wrote {}", path.display());
    }
    println!("chain id:   {}", genesis.chain_id);
    println!("validators: {}", genesis.validators.len());
    for (i, v) in genesis.validators.iter().enumerate() {
        println!("  {i}: {} {}", v.public_key, &*v.p2p_addr);
    }
    println!("accounts:   {}", genesis.balances.len());
    println!("hash:       {hash}");
}

/// Writes a new file (never replacing one); a failed write leaves no file.
fn write_new(path: &Path, text: &str) -> CliResult {
    let fail = |e: std::io::Error| format!("--out {}: {e}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(fail)?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_override_the_defaults_and_unknown_names_are_refused() {
        let params = consensus_params(&[("checkpoint_interval".into(), 5)]).unwrap();
        assert_eq!(params.checkpoint_interval, 5);
        assert_eq!(params.log_window, ConsensusParams::default().log_window);
        let err = consensus_params(&[("checkpoint_intervall".into(), 5)]).unwrap_err();
        assert!(err.contains("checkpoint_intervall"), "{err}");
        assert!(consensus_params(&[("log_window".into(), 1), ("log_window".into(), 2)]).is_err());
    }

    #[test]
    fn funds_are_address_equals_amount() {
        let address = "00112233445566778899aabbccddeeff00112233";
        assert_eq!(parse_fund(&format!("{address}=5")).unwrap().1, 5);
        assert!(parse_fund(address).is_err());
        assert!(parse_fund(&format!("{address}=-1")).is_err());
        assert!(parse_fund("xyz=1").is_err());
    }
}
