//! `testnet check`: the command line around [`testnet::check`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use testnet::check::inputs::{self, InputError};
use testnet::check::{check_network, CheckOptions, NodeApi};

/// What the command was given.
pub struct CheckArgs {
    pub dir: Option<PathBuf>,
    pub api: Vec<String>,
    pub genesis: Option<PathBuf>,
    pub txs: Option<PathBuf>,
    pub equal_heights: bool,
    pub timeout_s: u64,
}

/// Exit code for input that cannot be read (1 is a check that failed).
const BAD_INPUT: u8 = 2;

/// Prints each problem and lagging node, a verdict, and the JSON summary last.
pub fn check(args: &CheckArgs) -> ExitCode {
    let (nodes, genesis, txs) = match inputs_of(args) {
        Ok(inputs) => inputs,
        Err(error) => {
            eprintln!("testnet check: {error}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let mut options = CheckOptions {
        equal_heights: args.equal_heights,
        txs,
        ..CheckOptions::default()
    };
    options.timeouts.call = Duration::from_secs(args.timeout_s);
    let report = check_network(&nodes, &genesis, &options);
    for line in report.lines() {
        println!("{line}");
    }
    println!("{}", report.summary_json());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

type Inputs = (Vec<NodeApi>, ledger::Genesis, Vec<crypto::Hash>);

fn inputs_of(args: &CheckArgs) -> Result<Inputs, InputError> {
    let (nodes, genesis) = match &args.dir {
        Some(dir) => {
            let (nodes, genesis) = inputs::of_testnet_dir(dir)?;
            match &args.genesis {
                Some(path) => (nodes, inputs::load_genesis(path)?),
                None => (nodes, genesis),
            }
        }
        None => {
            // clap makes --api need --genesis.
            let path = args.genesis.clone().unwrap_or_default();
            (NodeApi::of_urls(&args.api), inputs::load_genesis(&path)?)
        }
    };
    let txs = match &args.txs {
        Some(path) => inputs::read_tx_list(path)?,
        None => Vec::new(),
    };
    Ok((nodes, genesis, txs))
}
