//! `testnet up`, `add-node`, `remove-node` and `testnet bench`: the command line around the library's
//! [`layout`](testnet::layout), [`procs`](testnet::procs) and
//! [`bench`](testnet::bench).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testnet::bench::{self, BenchOptions, BenchReport, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::procs::{find_rbft_bin, Network, ProcError};

/// How long nodes have to commit their first block.
const FIRST_BLOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// How many client keys `up` prints.
const SHOWN_CLIENTS: usize = 5;

pub fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("testnet: {message}");
    ExitCode::FAILURE
}

/// Set on Ctrl-C, SIGTERM or SIGHUP. Installed before any node starts, so an
/// interrupted start still stops what it started.
pub fn interrupt_flag() -> Result<Arc<AtomicBool>, String> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    ctrlc::set_handler(move || set.store(true, Ordering::SeqCst))
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    Ok(flag)
}

pub fn up(dir: &Path, nodes: usize, base_port: u16, clients: usize) -> ExitCode {
    let interrupt = match interrupt_flag() {
        Ok(flag) => flag,
        Err(e) => return fail(e),
    };
    let spec = LayoutSpec {
        nodes,
        base_port,
        clients,
        ..LayoutSpec::default()
    };
    let generating = !dir.exists() || dir.read_dir().is_ok_and(|mut d| d.next().is_none());
    if generating {
        eprintln!(
            "testnet: creating {} ({nodes} validators, {clients} funded clients)",
            dir.display()
        );
    }
    let layout = match Layout::open_or_generate(dir, &spec) {
        Ok((layout, created)) => {
            if !created {
                eprintln!(
                    "testnet: reusing {} as it is ({} validators; its configs set the ports)",
                    dir.display(),
                    layout.nodes.len()
                );
            }
            layout
        }
        Err(e) => return fail(e),
    };
    let bin = match find_rbft_bin() {
        Ok(bin) => bin,
        Err(e) => return fail(e),
    };
    let mut network = Network::new(layout, &bin);
    network.set_interrupt(interrupt.clone());
    // Every node still a validator: the genesis ones and those `add-node` added,
    // but none that `remove-node` took out.
    let members: Vec<usize> = (0..network.len())
        .filter(|i| !network.layout.nodes[*i].removed)
        .collect();
    for &i in &members {
        if let Err(e) = network.start_node(i) {
            return fail(e);
        }
    }
    eprintln!(
        "testnet: started {} nodes; waiting for the first block",
        members.len()
    );
    match network.wait_for_first_block(FIRST_BLOCK_TIMEOUT) {
        Ok(()) => {}
        Err(ProcError::Interrupted) => {
            eprintln!("testnet: interrupted; stopping the nodes");
            return ExitCode::FAILURE;
        }
        Err(e) => return fail(e),
    }
    print_network(&network.layout);
    println!("Ctrl-C stops every node.");
    while !interrupt.load(Ordering::SeqCst) {
        for (i, status) in network.exited() {
            eprintln!(
                "testnet: node {i} exited ({status}); see {}",
                network.layout.nodes[i].log_path().display()
            );
        }
        network.forget_exited();
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("testnet: stopping the nodes");
    for (i, status) in network.stop() {
        eprintln!("testnet: node {i} stopped ({status})");
    }
    stop_added_nodes(&network.layout.dir, network.len());
    ExitCode::SUCCESS
}

/// Stops the nodes `testnet add-node` started while `up` ran (they are not its
/// children; their pid files name them).
fn stop_added_nodes(dir: &Path, supervised: usize) {
    let Ok(layout) = Layout::open(dir) else {
        return;
    };
    for node in layout.nodes.iter().skip(supervised) {
        if testnet::membership::stop_node_process(node) {
            eprintln!("testnet: node {} stopped", node.index);
        }
    }
}

pub fn add_node(dir: &Path) -> ExitCode {
    let bin = match find_rbft_bin() {
        Ok(bin) => bin,
        Err(e) => return fail(e),
    };
    match testnet::membership::add_node(dir, &bin) {
        Ok(added) => {
            println!(
                "node {} added at height {}: API {}  peers {}  pid {}  log {}",
                added.node.index,
                added.height,
                added.node.api_url(),
                added.node.p2p_addr,
                added.pid,
                added.node.log_path().display()
            );
            println!("  public key {}", added.public_key);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

pub fn remove_node(dir: &Path, id: usize) -> ExitCode {
    match testnet::membership::remove_node(dir, id) {
        Ok(removed) => {
            println!(
                "node {} removed at height {} ({}){}",
                removed.id,
                removed.height,
                removed.public_key,
                if removed.stopped {
                    "; its process is stopped"
                } else {
                    "; no running process of it was found"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn print_network(layout: &Layout) {
    println!("testnet {} in {}", layout.chain_id, layout.dir.display());
    for node in &layout.nodes {
        println!(
            "  node {}: API {}  peers {}  log {}",
            node.index,
            node.api_url(),
            node.p2p_addr,
            node.log_path().display()
        );
    }
    println!(
        "client keys ({} in {}):",
        layout.clients.len(),
        layout.dir.join(testnet::layout::CLIENTS_DIR).display()
    );
    for client in layout.clients.iter().take(SHOWN_CLIENTS) {
        println!("  {}  {}", client.path.display(), client.address);
    }
    if layout.clients.len() > SHOWN_CLIENTS {
        println!("  ... and {} more", layout.clients.len() - SHOWN_CLIENTS);
    }
    if let Some(first) = layout.clients.first() {
        println!(
            "try: rbft tx send --key {} --to {} --amount 5 --node {} --wait",
            first.path.display(),
            layout.clients.get(1).unwrap_or(first).address,
            layout.nodes[0].api_url()
        );
    }
}

pub fn bench(
    dir: Option<&Path>,
    nodes: usize,
    senders: usize,
    options: &BenchOptions,
    json: bool,
) -> ExitCode {
    let interrupt = match interrupt_flag() {
        Ok(flag) => flag,
        Err(e) => return fail(e),
    };
    let result = match dir {
        Some(dir) => bench_attached(dir, senders, options, &interrupt),
        None => bench_fresh(nodes, senders, options, &interrupt),
    };
    match result {
        Ok((report, rss)) => {
            print_report(&report, &rss, json);
            if report.committed > 0 {
                ExitCode::SUCCESS
            } else {
                fail("nothing was committed")
            }
        }
        Err(e) => fail(e),
    }
}

type Outcome = Result<(BenchReport, Vec<Option<u64>>), String>;

fn load_senders(layout: &Layout, senders: usize) -> Result<Vec<crypto::SigningKey>, String> {
    if layout.clients.is_empty() {
        return Err(format!(
            "{} has no client keys in clients/",
            layout.dir.display()
        ));
    }
    layout
        .clients
        .iter()
        .take(senders)
        .map(|c| c.load().map_err(|e| e.to_string()))
        .collect()
}

fn bench_attached(
    dir: &Path,
    senders: usize,
    options: &BenchOptions,
    interrupt: &AtomicBool,
) -> Outcome {
    let layout = Layout::open(dir).map_err(|e| e.to_string())?;
    let keys = load_senders(&layout, senders)?;
    let urls: Vec<String> = layout.nodes.iter().map(|n| n.api_url()).collect();
    let target = BenchTarget {
        watch_url: urls[0].clone(),
        also_watch: Vec::new(),
        submit_urls: urls,
    };
    let report = bench::run(&target, &keys, options, interrupt).map_err(|e| e.to_string())?;
    Ok((report, Vec::new()))
}

fn bench_fresh(
    nodes: usize,
    senders: usize,
    options: &BenchOptions,
    interrupt: &Arc<AtomicBool>,
) -> Outcome {
    let tmp = tempfile::Builder::new()
        .prefix("rbft-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let base_port = free_base_port(nodes).ok_or("no free ports for the testnet")?;
    let spec = LayoutSpec {
        nodes,
        base_port,
        clients: senders,
        ..LayoutSpec::default()
    };
    if options.progress {
        eprintln!(
            "bench: fresh testnet of {nodes} nodes on ports {base_port}.. in {}",
            tmp.path().display()
        );
    }
    let layout = Layout::generate(tmp.path(), &spec).map_err(|e| e.to_string())?;
    let keys = load_senders(&layout, senders)?;
    let bin = find_rbft_bin().map_err(|e| e.to_string())?;
    let mut network = Network::new(layout, &bin);
    network.set_interrupt(interrupt.clone());
    let outcome = (|| {
        for i in 0..network.len() {
            network.start_node(i)?;
        }
        network.wait_for_first_block(FIRST_BLOCK_TIMEOUT)
    })();
    if let Err(e) = outcome {
        // A failed node's log goes away with the temporary directory: keep it.
        let kept = tmp.keep();
        return Err(format!(
            "{e}\n(testnet kept in {} for its logs)",
            kept.display()
        ));
    }
    let report = bench::run(&BenchTarget::of(&network), &keys, options, interrupt);
    let rss = network.peak_rss_mib();
    network.stop();
    Ok((report.map_err(|e| e.to_string())?, rss))
}

fn print_report(report: &BenchReport, rss_mib: &[Option<u64>], json: bool) {
    println!(
        "committed {} of {} accepted transfers: {:.0} tx/s (offered {:.0} tx/s); {} rejected, {} throttled, {} errors",
        report.committed,
        report.submitted,
        report.committed_tps,
        report.offered_tps,
        report.rejected,
        report.throttled,
        report.errors
    );
    println!(
        "submit-to-commit latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        report.p50_ms, report.p90_ms, report.p99_ms, report.max_ms
    );
    if !rss_mib.is_empty() {
        let shown: Vec<String> = rss_mib
            .iter()
            .map(|r| r.map_or("?".to_owned(), |mib| mib.to_string()))
            .collect();
        println!("peak RSS per node (MiB): {}", shown.join(" "));
    }
    if json {
        let mut line = serde_json::json!({
            "committed_tps": round1(report.committed_tps),
            "p50_ms": report.p50_ms,
            "p90_ms": report.p90_ms,
            "p99_ms": report.p99_ms,
            "max_ms": report.max_ms,
            "committed": report.committed,
            "rejected": report.rejected,
            "submitted": report.submitted,
            "offered_tps": round1(report.offered_tps),
            "throttled": report.throttled,
            "errors": report.errors,
            "elapsed_s": round1(report.elapsed_s),
        });
        if !rss_mib.is_empty() {
            line["max_rss_mb"] = serde_json::json!(rss_mib);
        }
        println!("{line}");
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `testnet bench-catch-up`: fails (non-zero) when node 3 does not reach the tip in
/// time, or anything else goes wrong.
pub fn bench_catch_up(options: &testnet::catch_up_bench::CatchUpOptions, json: bool) -> ExitCode {
    let interrupt = match interrupt_flag() {
        Ok(flag) => flag,
        Err(e) => return fail(e),
    };
    let report = match testnet::catch_up_bench::run(options, &interrupt) {
        Ok(report) => report,
        Err(failure) => return fail(format!("bench-catch-up: {failure}")),
    };
    let rss = report
        .peak_rss_mib
        .map_or("?".to_owned(), |mib| mib.to_string());
    println!(
        "node 3 caught up {} blocks in {:.1} s from its start: {:.0} blocks/s; \
         the transfer itself {:.1} s, {:.0} blocks/s; peak RSS {} MiB (chain generated in {:.1} s)",
        report.blocks,
        report.caught_up_s,
        report.blocks_per_s,
        report.transfer_s,
        report.transfer_blocks_per_s,
        rss,
        report.generate_s
    );
    if json {
        let line = serde_json::json!({
            "blocks": report.blocks,
            "caught_up_s": round1(report.caught_up_s),
            "blocks_per_s": round1(report.blocks_per_s),
            "transfer_s": round1(report.transfer_s),
            "transfer_blocks_per_s": round1(report.transfer_blocks_per_s),
            "peak_rss_mib": report.peak_rss_mib,
            "generate_s": round1(report.generate_s),
        });
        println!("{line}");
    }
    ExitCode::SUCCESS
}
