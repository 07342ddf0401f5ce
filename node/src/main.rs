//! `rbft`: the validator node and its command line tool (DESIGN.md section 9).
//!
//! Today it manages keys; running a node (`rbft start`) and the client commands
//! arrive with the node issue.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { out } => keygen(&out, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rbft: {message}");
            ExitCode::FAILURE
        }
    }
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
