//! `testnet bench-catch-up`: how fast a node that is far behind copies the chain
//! from its peers (issue 6: 100,000 small blocks at 2,000 blocks/s or more, under
//! 500 MB), on real processes.
//!
//! 1. A fresh 4-node testnet in a temporary directory; a chain of `blocks` blocks
//!    (one transfer each, with real commit certificates and a stable checkpoint at
//!    the tip, [`chain`]) is written into the stores of nodes 0, 1 and 2. This is
//!    setup and is not timed.
//! 2. Nodes 0-2 start and report the tip; then node 3 starts with an empty store:
//!    the clock starts.
//! 3. A transfer every [`NUDGE_EVERY`] through nodes 0-2 keeps them committing, so
//!    they send CHECKPOINTs above node 3's height (what makes a node notice it is
//!    behind today) until node 3 reaches the tip.
//! 4. Node 3's `/status` is polled every [`POLL`]; the clock stops when its height
//!    reaches the tip. Its peak RSS (VmHWM) is read then.
//!
//! The rate is `blocks` over the time from node 3's start, so it includes the start
//! of the process and the wait before the node decides it is behind (a 1 s stall);
//! the transfer phase alone (from the first poll that saw node 3 above 0) is
//! reported beside it.

pub mod chain;

use crate::layout::{free_base_port, Layout, LayoutSpec};
use crate::procs::{find_rbft_bin, log_tail, Network, ProcError};
use crypto::SigningKey;
use ledger::{ChainId, Transaction, TxKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The validator that starts empty.
pub const BEHIND: usize = 3;
/// How often node 3's height is read.
pub const POLL: Duration = Duration::from_millis(50);
/// How often a transfer goes to nodes 0-2 while node 3 catches up.
pub const NUDGE_EVERY: Duration = Duration::from_millis(100);
/// How long nodes 0-2 have to start on the generated chain.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Funded clients in the testnet (the nudges come from them).
const CLIENTS: usize = 8;

/// What to run.
#[derive(Debug, Clone)]
pub struct CatchUpOptions {
    /// Blocks in the generated chain (a multiple of the checkpoint interval).
    pub blocks: u64,
    /// Node 3 must reach the tip within this time from its start.
    pub timeout: Duration,
    /// Progress lines on stderr.
    pub progress: bool,
    /// Keep the testnet directory (nodes' logs and stores) after a success too.
    pub keep: bool,
}

impl Default for CatchUpOptions {
    fn default() -> Self {
        CatchUpOptions {
            blocks: 100_000,
            timeout: Duration::from_secs(600),
            progress: true,
            keep: false,
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct CatchUpReport {
    pub blocks: u64,
    /// Writing the chain into the first store (setup).
    pub generate_s: f64,
    /// From node 3's start until its height reached the tip.
    pub caught_up_s: f64,
    pub blocks_per_s: f64,
    /// From the first poll that saw node 3 above height 0 until the tip.
    pub transfer_s: f64,
    /// The blocks moved in that time over it.
    pub transfer_blocks_per_s: f64,
    /// Node 3's peak resident set when it reached the tip.
    pub peak_rss_mib: Option<u64>,
}

/// Why the benchmark did not produce a figure.
#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("no free ports for the testnet")]
    NoPorts,
    #[error(transparent)]
    Layout(#[from] crate::layout::LayoutError),
    #[error("generating the chain: {0}")]
    Chain(#[from] chain::ChainError),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error(
        "node {BEHIND} reached height {height} of {blocks} in {timeout_s} s; see its log {log}"
    )]
    TooSlow {
        height: u64,
        blocks: u64,
        timeout_s: u64,
        log: String,
    },
    #[error("node {BEHIND} exited while catching up; its log {log} ends:\n{tail}")]
    Exited { log: String, tail: String },
    #[error("a nudge transfer: {0}")]
    Nudge(String),
    #[error("interrupted")]
    Interrupted,
}

/// A failed run, and the testnet directory kept for the nodes' logs.
#[derive(Debug, thiserror::Error)]
#[error("{error}{}", kept.as_ref().map_or(String::new(), |dir| format!("\n(testnet kept in {} for its logs)", dir.display())))]
pub struct CatchUpFailure {
    pub error: CatchUpError,
    pub kept: Option<std::path::PathBuf>,
}

/// Runs the benchmark in a fresh temporary testnet. On an error the directory is
/// kept for the nodes' logs, and the failure names it.
pub fn run(
    options: &CatchUpOptions,
    interrupt: &std::sync::Arc<AtomicBool>,
) -> Result<CatchUpReport, Box<CatchUpFailure>> {
    let tmp = tempfile::Builder::new()
        .prefix("rbft-catch-up-")
        .tempdir()
        .map_err(|e| CatchUpFailure {
            error: CatchUpError::TempDir(e),
            kept: None,
        })?;
    let result = run_in(tmp.path(), options, interrupt);
    match result {
        Ok(report) => {
            if options.keep {
                eprintln!("bench-catch-up: testnet kept in {}", tmp.keep().display());
            }
            Ok(report)
        }
        Err(error) => Err(Box::new(CatchUpFailure {
            error,
            kept: Some(tmp.keep()),
        })),
    }
}

fn run_in(
    dir: &std::path::Path,
    options: &CatchUpOptions,
    interrupt: &std::sync::Arc<AtomicBool>,
) -> Result<CatchUpReport, CatchUpError> {
    let progress = |message: String| {
        if options.progress {
            eprintln!("bench-catch-up: {message}");
        }
    };
    let base_port = free_base_port(4).ok_or(CatchUpError::NoPorts)?;
    let spec = LayoutSpec {
        base_port,
        clients: CLIENTS,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(dir, &spec)?;
    progress(format!(
        "generating {} blocks in {}",
        options.blocks,
        dir.display()
    ));
    let started = Instant::now();
    let data = |i: usize| layout.nodes[i].home.join("data");
    let tip = chain::generate(&layout, &data(0), options.blocks)?;
    for i in 1..BEHIND {
        chain::copy_store(&data(0), &data(i))?;
    }
    let generate_s = started.elapsed().as_secs_f64();
    progress(format!(
        "generated in {generate_s:.1} s; starting nodes 0-2"
    ));

    let bin = find_rbft_bin()?;
    let mut network = Network::new(layout, &bin);
    network.set_interrupt(interrupt.clone());
    for i in 0..BEHIND {
        network.start_node(i)?;
    }
    let deadline = Instant::now() + START_TIMEOUT;
    for i in 0..BEHIND {
        network.wait_node_height(i, tip.height, deadline, START_TIMEOUT)?;
    }
    let mut nudger = Nudger::new(&network)?;
    progress(format!(
        "nodes 0-2 at {}; starting node {BEHIND}",
        tip.height
    ));
    network.start_node(BEHIND)?;
    let clock = Instant::now();
    let client = network.client(BEHIND);
    let log = network.layout.nodes[BEHIND].log_path();
    let mut first_seen: Option<(Instant, u64)> = None;
    let mut last_nudge = Instant::now() - NUDGE_EVERY;
    let mut last_report = Instant::now();
    let mut height = 0;
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return Err(CatchUpError::Interrupted);
        }
        if !network.is_running(BEHIND) {
            return Err(CatchUpError::Exited {
                log: log.display().to_string(),
                tail: log_tail(&log, 12),
            });
        }
        if let Ok(status) = client.status() {
            height = status.height;
        }
        let now = Instant::now();
        if height > 0 && first_seen.is_none() {
            first_seen = Some((now, height));
        }
        if height >= tip.height {
            break;
        }
        if now.duration_since(clock) > options.timeout {
            return Err(CatchUpError::TooSlow {
                height,
                blocks: tip.height,
                timeout_s: options.timeout.as_secs(),
                log: log.display().to_string(),
            });
        }
        if now.duration_since(last_nudge) >= NUDGE_EVERY {
            nudger.nudge(&network);
            last_nudge = now;
        }
        if now.duration_since(last_report) >= Duration::from_secs(5) {
            progress(format!(
                "node {BEHIND} at {height} after {:.1} s",
                now.duration_since(clock).as_secs_f64()
            ));
            last_report = now;
        }
        std::thread::sleep(POLL);
    }
    let done = Instant::now();
    let peak_rss_mib = network.peak_rss_mib()[BEHIND];
    network.stop();
    let caught_up_s = done.duration_since(clock).as_secs_f64();
    let (first_at, first_height) = first_seen.expect("the tip is above 0");
    let transfer_s = done.duration_since(first_at).as_secs_f64();
    Ok(CatchUpReport {
        blocks: tip.height,
        generate_s,
        caught_up_s,
        blocks_per_s: tip.height as f64 / caught_up_s,
        transfer_s,
        transfer_blocks_per_s: (tip.height - first_height) as f64 / transfer_s.max(1e-9),
        peak_rss_mib,
    })
}

/// Sends one transfer at a time through nodes 0-2 in turn, from the funded
/// clients in turn (each with its own consecutive nonces).
struct Nudger {
    keys: Vec<SigningKey>,
    nonces: Vec<u64>,
    chain_id: ChainId,
    sent: usize,
}

impl Nudger {
    fn new(network: &Network) -> Result<Nudger, CatchUpError> {
        let layout = &network.layout;
        let keys = layout
            .clients
            .iter()
            .map(|c| c.load())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CatchUpError::Nudge(e.to_string()))?;
        let chain_id =
            ChainId::new(&layout.chain_id).map_err(|e| CatchUpError::Nudge(e.to_string()))?;
        Ok(Nudger {
            nonces: vec![0; keys.len()],
            keys,
            chain_id,
            sent: 0,
        })
    }

    fn nudge(&mut self, network: &Network) {
        let k = self.sent % self.keys.len();
        let key = &self.keys[k];
        let to = network.layout.clients[(k + 1) % self.keys.len()].address;
        let tx = Transaction {
            chain_id: self.chain_id.clone(),
            signer: key.public_key(),
            nonce: self.nonces[k],
            kind: TxKind::Transfer { to, amount: 1 },
        }
        .sign(key);
        // A refused nudge (a full pool, a node busy serving) only delays the next
        // checkpoint; the nonce is used again.
        if network.client(self.sent % BEHIND).submit(&tx).is_ok() {
            self.nonces[k] += 1;
        }
        self.sent += 1;
    }
}
