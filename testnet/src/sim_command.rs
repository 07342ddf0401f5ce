//! `testnet sim` and `testnet sweep`: the command line around the library's
//! [`sim`](testnet::sim) and [`sweep`](testnet::sweep), which print what the seeds
//! found.

use std::process::ExitCode;
use testnet::sim::{run_seeds, SeedReport, SimOptions};
use testnet::sweep::{parse_suites, Progress, SuiteResult};

fn threads_or_cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

pub fn sim(
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
    let threads = threads_or_cores(threads);
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
        println!("  replay: {}", options.replay_command(report.seed));
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
    let ed25519_seeds = reports.iter().filter(|r| r.ed25519).count();
    println!(
        "state transfers {transfers}, blocks refused {refused_blocks}; \
         victim behind by min {behind_min} mean {behind_mean:.0} max {behind_max} heights; \
         {ed25519_seeds} seeds signed with ed25519, the rest with the stand-in"
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
            "ed25519_seeds": ed25519_seeds,
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

pub fn sweep(first: u64, seeds: u64, suites: &str, threads: Option<usize>, json: bool) -> ExitCode {
    let suites = match parse_suites(suites) {
        Ok(suites) => suites,
        Err(error) => {
            eprintln!("testnet sweep: {error}");
            return ExitCode::FAILURE;
        }
    };
    if seeds == 0 {
        eprintln!("testnet sweep: --seeds must be at least 1");
        return ExitCode::FAILURE;
    }
    let threads = threads_or_cores(threads);
    let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    eprintln!(
        "testnet sweep: {} suites ({}), seeds {first}..{} each, {threads} threads",
        suites.len(),
        names.join(", "),
        first + seeds - 1
    );
    let started = std::time::Instant::now();
    let results = testnet::sweep::sweep(first, seeds, threads, &suites, |p: &Progress| {
        eprintln!(
            "  {}: {}/{} seeds, {} failing, {:.1} seeds/s",
            p.suite,
            p.done,
            p.seeds,
            p.failing,
            p.done as f64 / p.elapsed.as_secs_f64().max(1e-9)
        );
    });
    print_sweep(&results, started.elapsed(), json)
}

fn print_sweep(results: &[SuiteResult], elapsed: std::time::Duration, json: bool) -> ExitCode {
    println!(
        "{:<26} {:>8} {:>8} {:>9} {:>10} {:>8}",
        "suite", "seeds", "failing", "seconds", "seeds/s", "ed25519"
    );
    for r in results {
        println!(
            "{:<26} {:>8} {:>8} {:>9.1} {:>10.1} {:>8}",
            r.name,
            r.seeds,
            r.failing.len(),
            r.elapsed.as_secs_f64(),
            r.seeds_per_second(),
            r.ed25519_seeds
        );
    }
    let failing: usize = results.iter().map(|r| r.failing.len()).sum();
    for r in results {
        for (report, replay) in r.failing.iter().zip(&r.replays) {
            println!("{} seed {} FAILED:", r.name, report.seed);
            for v in &report.violations {
                println!("  {v}");
            }
            println!("  replay: {replay}");
        }
    }
    println!(
        "sweep: {} seeds in {:.1} s, {failing} failing",
        results.iter().map(|r| r.seeds).sum::<u64>(),
        elapsed.as_secs_f64()
    );
    if json {
        let suites: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "suite": r.name,
                    "first_seed": r.first,
                    "seeds": r.seeds,
                    "failing_seeds": r.failing.iter().map(|f| f.seed).collect::<Vec<_>>(),
                    "replays": r.replays,
                    "elapsed_s": r.elapsed.as_secs_f64(),
                    "seeds_per_s": r.seeds_per_second(),
                    "ed25519_seeds": r.ed25519_seeds,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "suites": suites, "failing": failing, "elapsed_s": elapsed.as_secs_f64() })
        );
    }
    if failing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
