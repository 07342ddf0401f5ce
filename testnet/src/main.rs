//! `testnet`: local networks (`up`), networks of namespaced hosts (`hosts`, `chaos`),
//! the benchmarks (`bench`, `bench-catch-up`), the ledger checker (`check`) and the
//! deterministic simulator (`sim`, `sweep`), DESIGN.md section 9.
#![forbid(unsafe_code)]

mod check_command;
mod commands;
mod hosts_command;
mod sim_command;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use testnet::sim::{Scenario, SimOptions};

#[derive(Parser)]
#[command(
    name = "testnet",
    version,
    about = "Local rbft networks and the simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or reuse) a local testnet, start its nodes, and stop them on Ctrl-C.
    Up {
        /// Validators in a new testnet.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// The testnet directory: created when new, reused as it is otherwise.
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// Node i serves its API on base-port + i and peers on base-port + 100 + i.
        #[arg(long, default_value_t = 8000)]
        base_port: u16,
        /// Funded client keys written into a new testnet (clients/).
        #[arg(long, default_value_t = testnet::layout::DEFAULT_CLIENTS)]
        clients: usize,
    },
    /// Add a validator to a running testnet: write node N's key and config, submit
    /// the AddValidator signed by DIR/admin.key, wait for it to commit, start the node.
    AddNode {
        /// The testnet directory.
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Remove validator I from a running testnet: submit the RemoveValidator, wait
    /// until it has taken effect, stop the node.
    RemoveNode {
        /// The node's index (its directory is DIR/nodeI).
        #[arg(long)]
        id: usize,
        /// The testnet directory.
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
    },
    /// Measure committed throughput and latency under load.
    Bench {
        /// Transfers per second to offer (default: as fast as the nodes accept).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        rate: Option<u64>,
        /// Seconds of submission.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
        duration: u64,
        /// Use the running testnet of this directory (its clients/ keys) instead of
        /// starting a fresh one.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Validators of the fresh testnet.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Funded accounts that send (each has consecutive nonces).
        #[arg(long, default_value_t = testnet::layout::DEFAULT_CLIENTS as u64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        senders: u64,
        /// Transfers per POST /txs.
        #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        batch: u64,
        /// Transfers each sender may have in flight (submitted, not yet committed).
        /// Without --rate this sets the load: senders x window transfers wait at
        /// most, so it bounds the queueing in the latency.
        #[arg(long, default_value_t = testnet::bench::DEFAULT_WINDOW, value_parser = clap::value_parser!(u64).range(1..=64))]
        window: u64,
        /// Print a JSON summary as the last line.
        #[arg(long)]
        json: bool,
    },
    /// Measure how fast a node 100,000 blocks behind catches up: a generated chain
    /// in nodes 0-2, node 3 started empty; prints blocks/s and node 3's peak RSS.
    BenchCatchUp {
        /// Blocks in the generated chain (a multiple of the checkpoint interval, 10).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(10..=10_000_000))]
        blocks: u64,
        /// Fail unless node 3 reaches the tip within this many seconds of its start.
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        timeout: u64,
        /// Print a JSON summary as the last line.
        #[arg(long)]
        json: bool,
        /// Keep the temporary testnet (logs, stores) after a success too.
        #[arg(long)]
        keep: bool,
    },
    /// Check that every node holds one valid ledger: the same block hashes and
    /// state roots, valid commit certificates for the validator set of each
    /// height, the genesis supply, every committed transaction exactly once.
    /// Prints each problem, then a JSON summary as the last line; exits 1 when
    /// anything fails, 2 when the input cannot be read.
    Check {
        /// A testnet directory (`testnet up`): its nodes and its genesis.json.
        #[arg(long, conflicts_with = "api", required_unless_present = "api")]
        dir: Option<PathBuf>,
        /// A node's API URL, once per node (a network not made by `testnet up`);
        /// needs --genesis.
        #[arg(long, requires = "genesis")]
        api: Vec<String>,
        /// The genesis file (default with --dir: DIR/genesis.json).
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Transaction hashes seen committed (hex, one per line): each must be in
        /// the chain.
        #[arg(long)]
        txs: Option<PathBuf>,
        /// Fail when the nodes' heights differ (by default a lagging node is a note).
        #[arg(long)]
        equal_heights: bool,
        /// Seconds each request to a node may take.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
        timeout: u64,
    },
    /// Run the deterministic simulator over many seeds.
    Sim {
        /// How many seeds to run.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// The first seed; with --seeds 1, the one seed to replay.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Validators per run.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print a JSON summary as the last line.
        #[arg(long)]
        json: bool,
        /// Make up to f replicas per seed Byzantine, with behaviours the seed picks.
        #[arg(long)]
        byzantine: bool,
        /// Crash the primary once per seed at a random moment (no other crashes or
        /// partitions) and check commits resume within 3 view-change timeouts.
        #[arg(long)]
        crash_primary: bool,
        /// Instead of random crashes and partitions, one recovery story per seed:
        /// partitioned, crash-restart, wiped, mid-view-change, lying-peer or
        /// wiped-then-crash.
        #[arg(long, value_parser = parse_scenario)]
        scenario: Option<Scenario>,
        /// Grow from 4 validators to 7 and back to 4 under load, with one Byzantine
        /// validator and one crash during the changes (DESIGN.md section 6).
        #[arg(long, conflicts_with_all = ["scenario", "crash_primary", "nodes"])]
        membership: bool,
        /// Seeds whose number this divides sign with real ed25519, the others with
        /// the simulator's deterministic stand-in (1: every seed real).
        #[arg(long, default_value_t = testnet::sim::ED25519_EVERY, value_name = "N")]
        ed25519_every: u64,
    },
    /// A network whose nodes each run in their own network namespace (root only),
    /// built with `rbft init` and `rbft genesis`, and faults between them.
    Hosts {
        #[command(subcommand)]
        command: HostsCommand,
    },
    /// Load across namespaced hosts for N minutes while the primary is cut off,
    /// the hosts split 2|2, backups are killed and wiped, with loss on every link;
    /// then every node's chain and every accepted transfer is checked.
    Chaos {
        /// Minutes of faults (the cycle of faults runs at least once).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1440))]
        minutes: u64,
        /// Transfers per second offered.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        rate: u64,
        /// Percentage of packets dropped on every link.
        #[arg(long, default_value_t = 2.0)]
        loss: f64,
        /// Hosts (validators).
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Build the network here and keep it (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Print a JSON summary as the last line.
        #[arg(long)]
        json: bool,
    },
    /// A test tool: take validator I's place in the testnet of DIR (stop that node
    /// first) with its key, attack the others over libp2p for SECONDS (equivocating
    /// pre-prepares while primary, votes nobody proposed, old and future views,
    /// replays, a flood, broken frames), then print what it did as JSON.
    ByzantinePeer {
        /// The testnet directory.
        #[arg(long, default_value = "./testnet-data")]
        dir: PathBuf,
        /// The validator whose key it uses (DIR/nodeI).
        #[arg(long)]
        node: usize,
        /// How long it attacks.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        seconds: u64,
        /// Seeds its random choices.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Run simulator suites over a range of fresh seeds, with progress, and list
    /// every failing seed with its replay command.
    Sweep {
        /// Seeds per suite.
        #[arg(long, default_value_t = 2000)]
        seeds: u64,
        /// The first seed of every suite (start far from the seeds CI runs).
        #[arg(long, default_value_t = 1_000_000)]
        seed: u64,
        /// Comma-separated: all, plain, byzantine, crash-primary,
        /// scenario:NAME (one per recovery scenario), membership.
        #[arg(long, default_value = "all")]
        suites: String,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print a JSON summary as the last line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum HostsCommand {
    /// Make the namespaces, build the network with the operators' commands, start
    /// every node in its namespace, and on Ctrl-C stop them and remove it all.
    Up {
        /// A new (or empty) directory for the homes, genesis and client keys.
        #[arg(long, default_value = "./hosts-data")]
        dir: PathBuf,
        /// Hosts (validators).
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Funded client keys (clients/), for `testnet bench --dir`.
        #[arg(long, default_value_t = testnet::layout::DEFAULT_CLIENTS)]
        clients: usize,
        /// Cards carry each host's DNS name (hI.PREFIX.test) instead of its address.
        #[arg(long)]
        dns_names: bool,
    },
    /// Apply or remove a fault on the network `testnet hosts up` runs in DIR.
    Fault {
        #[arg(long, default_value = "./hosts-data")]
        dir: PathBuf,
        #[command(subcommand)]
        fault: hosts_command::FaultCommand,
    },
    /// Remove the namespaces and bridge of DIR (after an `up` that could not clean
    /// up), killing any node still running there.
    Down {
        #[arg(long, default_value = "./hosts-data")]
        dir: PathBuf,
    },
}

fn parse_scenario(name: &str) -> Result<Scenario, String> {
    Scenario::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
        format!("one of {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Up {
            nodes,
            dir,
            base_port,
            clients,
        } => commands::up(&dir, nodes, base_port, clients),
        Command::AddNode { dir } => commands::add_node(&dir),
        Command::Check {
            dir,
            api,
            genesis,
            txs,
            equal_heights,
            timeout,
        } => check_command::check(&check_command::CheckArgs {
            dir,
            api,
            genesis,
            txs,
            equal_heights,
            timeout_s: timeout,
        }),
        Command::RemoveNode { id, dir } => commands::remove_node(&dir, id),
        Command::ByzantinePeer {
            dir,
            node,
            seconds,
            seed,
        } => match testnet::byzantine_peer::run(&dir, node, seconds, seed) {
            Ok(report) => {
                println!(
                    "{}",
                    serde_json::to_string(&report).expect("a report serialises")
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("byzantine-peer: {error}");
                ExitCode::from(1)
            }
        },
        Command::Bench {
            rate,
            duration,
            dir,
            nodes,
            senders,
            batch,
            window,
            json,
        } => {
            let options = testnet::bench::BenchOptions {
                rate,
                duration: std::time::Duration::from_secs(duration),
                batch_max_txs: batch as usize,
                window,
                ..Default::default()
            };
            commands::bench(dir.as_deref(), nodes, senders as usize, &options, json)
        }
        Command::BenchCatchUp {
            blocks,
            timeout,
            json,
            keep,
        } => {
            let options = testnet::catch_up_bench::CatchUpOptions {
                blocks,
                timeout: std::time::Duration::from_secs(timeout),
                progress: true,
                keep,
            };
            commands::bench_catch_up(&options, json)
        }
        Command::Sim {
            seeds,
            seed,
            nodes,
            threads,
            json,
            byzantine,
            crash_primary,
            scenario,
            membership,
            ed25519_every,
        } => {
            let options = SimOptions {
                nodes,
                byzantine,
                crash_primary,
                scenario,
                membership,
                ed25519_every,
                ..SimOptions::default()
            };
            sim_command::sim(seed, seeds, threads, json, &options)
        }
        Command::Hosts { command } => match command {
            HostsCommand::Up {
                dir,
                nodes,
                clients,
                dns_names,
            } => hosts_command::up(&dir, nodes, clients, dns_names),
            HostsCommand::Fault { dir, fault } => hosts_command::fault(&dir, &fault),
            HostsCommand::Down { dir } => hosts_command::down(&dir),
        },
        Command::Chaos {
            minutes,
            rate,
            loss,
            nodes,
            dir,
            json,
        } => hosts_command::chaos(&hosts_command::ChaosArgs {
            minutes,
            rate,
            loss_percent: loss,
            nodes,
            dir: dir.as_deref(),
            json,
        }),
        Command::Sweep {
            seeds,
            seed,
            suites,
            threads,
            json,
        } => sim_command::sweep(seed, seeds, &suites, threads, json),
    }
}
