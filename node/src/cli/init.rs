//! `rbft init --home DIR`: a node's key, config and validator card on this machine
//! (the work is [`node::init`]). The card goes to stdout as JSON, to be sent to
//! whoever builds the genesis; what was written goes to stderr.

use super::CliResult;
use clap::Args;
use node::init::{self, InitOptions};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The home directory to create (or an empty one).
    #[arg(long, value_name = "DIR")]
    home: PathBuf,
    /// Where to listen for peers: IP:PORT (0.0.0.0 for every address) or a
    /// multiaddress such as /ip4/0.0.0.0/tcp/8100.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8100")]
    listen: String,
    /// Where peers dial this node: an IP address or DNS name they can reach, with
    /// an optional :PORT (default: the listen port). Needed when listening on 0.0.0.0.
    #[arg(long, value_name = "HOST[:PORT]")]
    external_address: Option<String>,
    /// Where the HTTP API listens (keep it private unless clients need it).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8000")]
    api: String,
}

pub fn run(args: InitArgs, json: bool) -> CliResult {
    let options = InitOptions {
        listen: args.listen,
        external_address: args.external_address,
        api: args.api,
    };
    let done = init::init(&args.home, &options).map_err(|e| e.to_string())?;
    println!("{}", done.card.to_json());
    if !json {
        eprintln!(
            "wrote {} (the node key: keep it on this machine, back it up)",
            done.key_path.display()
        );
        eprintln!("wrote {}", done.config_path.display());
        eprintln!(
            "wrote {}: send it to whoever builds the genesis (`rbft genesis build`)",
            done.card_path.display()
        );
    }
    Ok(())
}
