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
        /// Make up to f replicas per seed Byzantine, with behaviours the seed picks.
        #[arg(long)]
        byzantine: bool,
        /// Crash the primary once per seed at a random moment (no other crashes or
        /// partitions) and check commits resume within 3 view-change timeouts.
        #[arg(long)]
        crash_primary: bool,
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
            byzantine,
            crash_primary,
        } => {
            let options = SimOptions {
                nodes,
                byzantine,
                crash_primary,
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
        let flags = match (options.byzantine, options.crash_primary) {
            (true, true) => " --byzantine --crash-primary",
            (true, false) => " --byzantine",
            (false, true) => " --crash-primary",
            (false, false) => "",
        };
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
