//! `testnet`: local networks (`up`), the benchmark (`bench`) and the deterministic
//! simulator (`sim`), DESIGN.md section 9. `up` and `bench` need the node, which is
//! not built yet; they say so and fail rather than pretend.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use testnet::sim::{run_seeds, SeedReport, SimOptions};

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
    /// Start a local network (needs the node: not built yet).
    Up,
    /// Benchmark a local network (needs the node: not built yet).
    Bench,
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
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Up | Command::Bench => {
            eprintln!(
                "testnet: the local testnet needs the rbft node, which is not built yet.\n\
                 What exists today: `testnet sim`, `rbft keygen`, the crypto and ledger\n\
                 crates, and their tests (`make test`) and benchmarks (`make bench`)."
            );
            ExitCode::FAILURE
        }
        Command::Sim {
            seeds,
            seed,
            nodes,
            threads,
            json,
        } => sim(seed, seeds, nodes, threads, json),
    }
}

fn sim(first: u64, seeds: u64, nodes: usize, threads: Option<usize>, json: bool) -> ExitCode {
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
    let options = SimOptions {
        nodes,
        ..SimOptions::default()
    };
    let started = std::time::Instant::now();
    let reports = run_seeds(first, seeds, threads, &options);
    let failing: Vec<&SeedReport> = reports
        .iter()
        .filter(|r| !r.violations.is_empty())
        .collect();
    for report in &failing {
        println!("seed {} FAILED:", report.seed);
        for v in &report.violations {
            println!("  {v}");
        }
        println!(
            "  replay: cargo run --release -p testnet -- sim --nodes {nodes} --seeds 1 --seed {}",
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
