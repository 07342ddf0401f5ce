//! `rbft`: the validator node and its command line tool (DESIGN.md section 9).
//!
//! `keygen` writes keys; `init` makes a node's home and validator card and `genesis`
//! builds and checks the genesis from the cards (the operator's path: README, "Run
//! a network across machines"); `start` runs a validator; the client commands
//! (`tx`, `block`, `account`, `status`, `validator`) talk to a node's HTTP API (the
//! `cli` module).
#![forbid(unsafe_code)]

mod cli;

use clap::{Parser, Subcommand};
use cli::{BlockCommand, GenesisCommand, InitArgs, NodeArg, TxCommand, ValidatorCommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "rbft", version, about = "rbft validator node and client")]
struct Cli {
    /// Print JSON instead of human-readable text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new key file (mode 0600) and print its public key and address.
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the account address (and public key) of a key file.
    Address {
        /// The key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Make a node's home on this machine: key (mode 0600), config.toml and the
    /// validator card (printed) to send to whoever builds the genesis.
    Init(InitArgs),
    /// Build the genesis from validator cards; check a genesis and print its hash.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Run a validator from its home directory until Ctrl-C or SIGTERM.
    Start {
        /// The home directory: config.toml, node.key, genesis.json, data/.
        #[arg(long, value_name = "DIR")]
        home: PathBuf,
    },
    /// Send and look up transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Look up blocks.
    #[command(subcommand)]
    Block(BlockCommand),
    /// Show an account's balance and nonces.
    Account {
        /// The address (40 hex characters).
        #[arg(value_name = "ADDR")]
        address: ledger::Address,
        #[command(flatten)]
        node: NodeArg,
    },
    /// Add or remove validators (signed with the admin key), list the membership.
    #[command(subcommand)]
    Validator(ValidatorCommand),
    /// Show a node's status: height, view, peers, pool.
    Status {
        #[command(flatten)]
        node: NodeArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out } => keygen(&out, cli.json),
        Command::Address { key } => address(&key, cli.json),
        Command::Init(args) => cli::init(args, cli.json),
        Command::Genesis(command) => cli::genesis(command, cli.json),
        Command::Start { home } => node::run::start(&home),
        Command::Tx(command) => cli::tx(command, cli.json),
        Command::Block(command) => cli::block(command, cli.json),
        Command::Account { address, node } => cli::account(&address, &node, cli.json),
        Command::Validator(command) => cli::validator(command, cli.json),
        Command::Status { node } => cli::status(&node, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rbft: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the address alone (so a shell can capture it), or JSON with the key.
fn address(key: &std::path::Path, json: bool) -> Result<(), String> {
    let key = crypto::keyfile::read_key_file(key).map_err(|e| e.to_string())?;
    let public_key = key.public_key();
    let address = ledger::Address::of(&public_key);
    if json {
        let value = serde_json::json!({
            "public_key": public_key.to_string(),
            "address": address.to_string(),
        });
        println!("{value}");
    } else {
        println!("{address}");
    }
    Ok(())
}

fn keygen(out: &std::path::Path, json: bool) -> Result<(), String> {
    let key = crypto::SigningKey::generate();
    crypto::keyfile::write_key_file(out, &key).map_err(|e| e.to_string())?;
    let public_key = key.public_key();
    let address = ledger::Address::of(&public_key);
    if json {
        let value = serde_json::json!({
            "key_file": out.display().to_string(),
            "public_key": public_key.to_string(),
            "address": address.to_string(),
        });
        println!("{value}");
    } else {
        println!("key file:   {}", out.display());
        println!("public key: {public_key}");
        println!("address:    {address}");
    }
    Ok(())
}
