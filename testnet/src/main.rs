//! `testnet`: local networks (`up`), the benchmarks (`bench`, `bench-catch-up`) and
//! the deterministic simulator (`sim`), DESIGN.md section 9.
#![forbid(unsafe_code)]

mod commands;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use testnet::sim::{run_seeds, Scenario, SeedReport, SimOptions};

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
        /// partitioned, crash-restart, wiped, mid-view-change or lying-peer.
        #[arg(long, value_parser = parse_scenario)]
        scenario: Option<Scenario>,
        /// Grow from 4 validators to 7 and back to 4 under load, with one Byzantine
        /// validator and one crash during the changes (DESIGN.md section 6).
        #[arg(long, conflicts_with_all = ["scenario", "crash_primary", "nodes"])]
        membership: bool,
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
        Command::RemoveNode { id, dir } => commands::remove_node(&dir, id),
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
        } => {
            let options = SimOptions {
                nodes,
                byzantine,
                crash_primary,
                scenario,
                membership,
                ..SimOptions::default()
            };
            sim(seed, seeds, threads, json, &options)
        }
    }
}

fn sim(
    first: u64,
    seeds: u64,
    threads: Option<usize>,
    json: bool,
    options: &SimOptions,
) -> ExitCode {
    let nodes = options.nodes;
    if !(4..=16).contains(&nodes) {
        eprintln!("testnet sim: --nodes must be between 4 and 16");
        return ExitCode::FAILURE;
    }
    if seeds == 0 {
        eprintln!("testnet sim: --seeds must be at least 1");
        return ExitCode::FAILURE;
    }
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let started = std::time::Instant::now();
    let reports = run_seeds(first, seeds, threads, options);
    let failing: Vec<&SeedReport> = reports
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    for report in &failing {
        println!("seed {} FAILED:", report.seed);
        for v in &report.violations {
            println!("  {v}");
        }
        let mut flags = match (options.byzantine, options.crash_primary) {
            (true, true) => " --byzantine --crash-primary".to_string(),
            (true, false) => " --byzantine".to_string(),
            (false, true) => " --crash-primary".to_string(),
            (false, false) => String::new(),
        };
        if let Some(scenario) = options.scenario {
            flags.push_str(&format!(" --scenario {}", scenario.name()));
        }
        if options.membership {
            flags.push_str(" --membership");
        }
        println!(
            "  replay: cargo run --release -p testnet -- sim --nodes {nodes} --seeds 1 --seed {}{flags}",
            report.seed
        );
    }
    let violations: usize = reports.iter().map(|r| r.violations.len()).sum();
    let min_height = reports.iter().map(|r| r.quorum_height).min().unwrap_or(0);
    let max_height = reports.iter().map(|r| r.max_tip).max().unwrap_or(0);
    let min_replica_height = reports.iter().map(|r| r.min_tip).min().unwrap_or(0);
    let lagging: usize = reports.iter().map(|r| r.lagging_replicas).sum();
    let crashes: usize = reports.iter().map(|r| r.crashes).sum();
    let partitions: usize = reports.iter().map(|r| r.partitions).sum();
    let committed: usize = reports.iter().map(|r| r.committed_txs).sum();
    let last = reports.last().expect("at least one seed");
    let mut view_changes = std::collections::BTreeMap::<&str, usize>::new();
    let mut behaviours = std::collections::BTreeMap::<String, usize>::new();
    for report in &reports {
        for (reason, count) in &report.view_changes {
            *view_changes.entry(reason).or_default() += count;
        }
        for (_, behaviour) in &report.byzantine {
            *behaviours.entry(format!("{behaviour:?}")).or_default() += 1;
        }
    }
    let progress_after_heal = reports.iter().filter(|r| r.progress_after_heal).count();
    let injected: usize = reports.iter().map(|r| r.equivocations_injected).sum();
    let detected: usize = reports.iter().map(|r| r.equivocations_detected).sum();
    let resumes: Vec<u64> = reports.iter().filter_map(|r| r.resume_ms).collect();
    let max_resume_ms = resumes.iter().max().copied();
    let view_change_total: usize = view_changes.values().sum();
    let transfers: usize = reports.iter().map(|r| r.transfers).sum();
    let refused_blocks: usize = reports.iter().map(|r| r.refused_blocks).sum();
    let behind: Vec<u64> = reports.iter().map(|r| r.behind_by).collect();
    let (behind_min, behind_max) = (
        behind.iter().min().copied().unwrap_or(0),
        behind.iter().max().copied().unwrap_or(0),
    );
    let behind_mean = behind.iter().sum::<u64>() as f64 / behind.len().max(1) as f64;
    println!(
        "{} seeds ({}..{}) in {:.1} s: {} violations in {} seeds; quorum height min {} max {}; \
         lowest replica {}; {} lagging replicas; {} crashes, {} partitions; {} transactions committed",
        reports.len(),
        first,
        first + seeds - 1,
        started.elapsed().as_secs_f64(),
        violations,
        failing.len(),
        min_height,
        max_height,
        min_replica_height,
        lagging,
        crashes,
        partitions,
        committed
    );
    println!(
        "view changes {view_change_total} {view_changes:?}; progress after heal in {progress_after_heal} seeds; \
         Byzantine {behaviours:?}; equivocations injected {injected}, detected {detected}; \
         slowest resume after a primary crash {max_resume_ms:?} ms"
    );
    println!(
        "state transfers {transfers}, blocks refused {refused_blocks}; \
         victim behind by min {behind_min} mean {behind_mean:.0} max {behind_max} heights"
    );
    let seven = reports.iter().filter(|r| r.largest_set == 7).count();
    let newcomer_signatures: usize = reports.iter().map(|r| r.newcomer_signatures).sum();
    if options.membership {
        println!(
            "membership: {seven} seeds reached 7 validators; {newcomer_signatures} certificate \
             signatures by validators that joined"
        );
    }
    if json {
        let summary = serde_json::json!({
            "seeds": reports.len(),
            "violations": violations,
            "failing_seeds": failing.iter().map(|r| r.seed).collect::<Vec<_>>(),
            "min_height": min_height,
            "max_height": max_height,
            "min_replica_height": min_replica_height,
            "lagging_replicas": lagging,
            "crashes": crashes,
            "partitions": partitions,
            "committed_txs": committed,
            "trace_hash": last.trace_hash.to_string(),
            "view_changes": view_changes,
            "progress_after_heal": progress_after_heal,
            "byzantine_behaviours": behaviours,
            "equivocations_injected": injected,
            "equivocations_detected": detected,
            "max_resume_ms": max_resume_ms,
            "transfers": transfers,
            "refused_blocks": refused_blocks,
            "behind_by": { "min": behind_min, "mean": behind_mean, "max": behind_max },
            "seeds_with_7_validators": seven,
            "newcomer_signatures": newcomer_signatures,
            "elapsed_s": started.elapsed().as_secs_f64(),
        });
        println!("{summary}");
    }
    if violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
