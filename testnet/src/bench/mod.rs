//! `testnet bench`: committed throughput and submit-to-commit latency of a local
//! testnet under load (DESIGN.md section 9).
//!
//! The load generator must be cheap, because it shares the machine with the nodes:
//!
//! 1. before the clock starts, read each sender's pending nonce and sign every
//!    transfer (unique: one sender, consecutive nonces), already encoded as JSON;
//! 2. one thread per node submits arrays of pre-encoded transfers (`POST /txs`) over
//!    one kept-alive connection, at the requested rate (a token bucket); refused
//!    transfers (429, `pool_full`, `pool_busy`) go again after [`REFUSED_PAUSE`],
//!    not after the node's `Retry-After`, since the generator stands for many
//!    clients and must keep offering the rate asked for; each sender goes to one
//!    node, so its nonces arrive in order;
//! 3. a sender's next nonce stays within [`BenchOptions::window`] of its committed
//!    nonce, since the pool refuses nonces too far ahead (`mempool.max_nonce_gap`,
//!    64 by default);
//! 4. one thread follows the chain on one node (`/status`, then `/blocks/{height}`)
//!    and stamps each of our transactions with the moment it saw it committed.
//!
//! Latency is from just before the `POST` that the node accepted to the moment the
//! follower saw the block, so it includes up to one follower poll
//! ([`FOLLOW_POLL`]). Committed throughput is the transactions committed divided by
//! the time from the first submission to the last commit.

use crate::procs::Network;
use crypto::{Hash, SigningKey};
use ledger::{Address, ChainId, Transaction, TxKind};
use node::client::{Client, ClientError, Timeouts};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the follower asks for new blocks when there are none.
pub const FOLLOW_POLL: Duration = Duration::from_millis(10);
/// Without `--rate`, how many transfers per second of `--duration` are signed in
/// advance: more than the network can commit, and a bound on the memory used.
pub const UNPACED_TXS_PER_S: u64 = 10_000;
/// How long a submitting thread pauses after a refusal for room (429, or items
/// refused as `pool_full`, `pool_busy` or too far ahead) before it sends again.
pub const REFUSED_PAUSE: Duration = Duration::from_millis(50);
/// A transaction's time stamp before it has one.
const UNSET: u64 = u64::MAX;

/// Transfers a sender may have in flight unless told otherwise.
pub const DEFAULT_WINDOW: u64 = 2;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Transfers per second offered; `None`: as fast as the nodes accept.
    pub rate: Option<u64>,
    pub duration: Duration,
    /// Transfers per `POST /txs`.
    pub batch_max_txs: usize,
    /// How far a sender's next nonce may run ahead of its committed nonce.
    pub window: u64,
    /// How long to wait after the last submission for the rest to commit...
    pub drain_timeout: Duration,
    /// ...giving up sooner when nothing commits for this long.
    pub drain_idle: Duration,
    /// Print a progress line on stderr every second.
    pub progress: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            rate: None,
            duration: Duration::from_secs(20),
            batch_max_txs: 400,
            window: DEFAULT_WINDOW,
            drain_timeout: Duration::from_secs(30),
            drain_idle: Duration::from_secs(5),
            progress: true,
        }
    }
}

/// Where to send and where to watch.
#[derive(Debug, Clone)]
pub struct BenchTarget {
    /// The API of every node; senders are spread over them.
    pub submit_urls: Vec<String>,
    /// The node whose chain is followed...
    pub watch_url: String,
    /// ...or, when it has not grown for [`FOLLOW_SWITCH`], the highest of these
    /// (a run that cuts nodes off follows whichever still commits).
    pub also_watch: Vec<String>,
}

/// How long the followed node may stand still before the follower looks for a
/// higher one among [`BenchTarget::also_watch`].
pub const FOLLOW_SWITCH: Duration = Duration::from_millis(500);

impl BenchTarget {
    pub fn of(network: &Network) -> BenchTarget {
        let submit_urls: Vec<String> = network.layout.nodes.iter().map(|n| n.api_url()).collect();
        BenchTarget {
            watch_url: submit_urls[0].clone(),
            submit_urls,
            also_watch: Vec::new(),
        }
    }
}

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("no senders: the benchmark needs funded client keys")]
    NoSenders,
    #[error("no nodes to submit to")]
    NoNodes,
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("the node reports an invalid chain id {0:?}")]
    BadChainId(String),
}

/// The outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// Transfers the nodes accepted.
    pub submitted: u64,
    /// Of those, committed (seen in a block by the follower).
    pub committed: u64,
    /// Refused for good (not "pool full", which is retried).
    pub rejected: u64,
    /// Times the generator backed off on 429 or a full pool.
    pub throttled: u64,
    /// Requests that failed without an answer.
    pub errors: u64,
    pub committed_tps: f64,
    /// Accepted transfers per second over the submission period.
    pub offered_tps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub elapsed_s: f64,
}

/// The next transactions a sender may submit: up to the end of its signed ones,
/// and at most `window` beyond its committed count. Indices are per sender,
/// counted from its first signed transaction.
pub fn sendable(committed: u64, next: u64, end: u64, window: u64) -> u64 {
    end.min(committed.saturating_add(window))
        .saturating_sub(next)
}

/// A token bucket without burst: by `elapsed`, `rate * elapsed` may have been
/// sent in all.
#[derive(Debug, Clone, Copy)]
pub struct RateGate {
    per_s: Option<f64>,
}

impl RateGate {
    pub fn new(per_s: Option<f64>) -> RateGate {
        RateGate { per_s }
    }

    /// How many may be sent now, `sent` having been sent already.
    pub fn tokens(&self, elapsed: Duration, sent: u64) -> u64 {
        match self.per_s {
            None => u64::MAX,
            Some(rate) => ((rate * elapsed.as_secs_f64()) as u64).saturating_sub(sent),
        }
    }

    /// How long until `want` tokens are available.
    pub fn wait_for(&self, elapsed: Duration, sent: u64, want: u64) -> Duration {
        match self.per_s {
            None => Duration::ZERO,
            Some(rate) => {
                let at = (sent + want) as f64 / rate;
                Duration::from_secs_f64((at - elapsed.as_secs_f64()).max(0.0))
            }
        }
    }
}

/// What to do with one transaction of an array the node answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    /// In the pool (or already there, or already committed).
    Accepted,
    /// Refused for now (pool full, nonce too far ahead): send again later.
    Retry,
    /// Refused for good.
    Rejected,
}

/// Classifies a per-transaction error code of `POST /txs`.
pub fn classify(code: Option<&str>) -> ItemOutcome {
    let Some(code) = code else {
        return ItemOutcome::Accepted;
    };
    let code = code.to_ascii_lowercase();
    if code.contains("duplicate") || code.contains("stale") {
        // Ours, sent again after an answer we did not see, or already committed.
        ItemOutcome::Accepted
    } else if code.contains("full")
        || code.contains("busy")
        || code.contains("too_far")
        || code.contains("ahead")
    {
        ItemOutcome::Retry
    } else {
        ItemOutcome::Rejected
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Submit-to-commit latencies of the transactions with both stamps
/// (microseconds since the start).
pub fn latencies(submit_us: &[u64], commit_us: &[u64]) -> LatencySummary {
    let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)
        .expect("valid histogram bounds");
    for (&submit, &commit) in submit_us.iter().zip(commit_us) {
        if submit != UNSET && commit != UNSET {
            histogram.saturating_record(commit.saturating_sub(submit).max(1));
        }
    }
    let ms = |us: u64| us as f64 / 1000.0;
    if histogram.is_empty() {
        return LatencySummary {
            count: 0,
            p50_ms: 0.0,
            p90_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
        };
    }
    LatencySummary {
        count: histogram.len(),
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p90_ms: ms(histogram.value_at_quantile(0.90)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    }
}

/// The signed work: `per_sender` transfers of each sender, in nonce order, at
/// `sender * per_sender + k`.
struct Plan {
    json: Vec<Box<[u8]>>,
    index_of: HashMap<Hash, u32>,
    per_sender: u64,
}

/// Everything the threads share, stamped in microseconds since `start`.
struct Shared {
    start: Instant,
    submit_us: Vec<AtomicU64>,
    commit_us: Vec<AtomicU64>,
    /// Per sender: how many of its transactions are committed.
    committed: Vec<AtomicU64>,
    submitted: AtomicU64,
    committed_total: AtomicU64,
    rejected: AtomicU64,
    throttled: AtomicU64,
    errors: AtomicU64,
    /// Stop submitting (duration over, or interrupted).
    stop_submitting: AtomicBool,
    /// Stop following.
    stop_following: AtomicBool,
    /// Senders with nothing more to send (exhausted, or a transfer rejected).
    done_senders: AtomicU64,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
}

/// Runs the benchmark with `senders` (funded keys) against `target`.
pub fn run(
    target: &BenchTarget,
    senders: &[SigningKey],
    options: &BenchOptions,
    interrupt: &AtomicBool,
) -> Result<BenchReport, BenchError> {
    execute(target, senders, options, interrupt).map(|(_, shared)| report(&shared))
}

/// [`run`], handing back the signed plan and the stamps, of which [`tracked::run_tracked`]
/// makes its lists of hashes.
fn execute(
    target: &BenchTarget,
    senders: &[SigningKey],
    options: &BenchOptions,
    interrupt: &AtomicBool,
) -> Result<(Plan, Shared), BenchError> {
    if senders.is_empty() {
        return Err(BenchError::NoSenders);
    }
    if target.submit_urls.is_empty() {
        return Err(BenchError::NoNodes);
    }
    let clients: Vec<Client> = target.submit_urls.iter().map(|u| bench_client(u)).collect();
    let watcher = bench_client(&target.watch_url);
    let status = watcher.status()?;
    let chain_id = ChainId::new(status.chain_id.clone())
        .map_err(|_| BenchError::BadChainId(status.chain_id))?;

    let total = match options.rate {
        Some(rate) => rate.saturating_mul(options.duration.as_secs().max(1)),
        None => UNPACED_TXS_PER_S * options.duration.as_secs().max(1),
    };
    let per_sender = total.div_ceil(senders.len() as u64).max(1);
    note(
        options,
        &format!("reading the nonces of {} senders", senders.len()),
    );
    let nonces = pending_nonces(&clients, senders)?;
    note(
        options,
        &format!(
            "signing {} transfers ({} per sender) before the clock starts",
            per_sender * senders.len() as u64,
            per_sender
        ),
    );
    let plan = sign_plan(&chain_id, senders, &nonces, per_sender);

    let count = plan.json.len();
    let shared = Shared {
        start: Instant::now(),
        submit_us: (0..count).map(|_| AtomicU64::new(UNSET)).collect(),
        commit_us: (0..count).map(|_| AtomicU64::new(UNSET)).collect(),
        committed: (0..senders.len()).map(|_| AtomicU64::new(0)).collect(),
        submitted: AtomicU64::new(0),
        committed_total: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        stop_submitting: AtomicBool::new(false),
        stop_following: AtomicBool::new(false),
        done_senders: AtomicU64::new(0),
    };
    let from_height = status.height + 1;
    let workers = clients.len();
    let share = options.rate.map(|r| r as f64 / workers as f64);

    let watchers: Vec<Client> = std::iter::once(watcher)
        .chain(target.also_watch.iter().map(|u| bench_client(u)))
        .collect();
    std::thread::scope(|scope| {
        scope.spawn(|| follow(&watchers, from_height, &plan, &shared));
        for (w, client) in clients.iter().enumerate() {
            let mine: Vec<usize> = (w..senders.len()).step_by(workers).collect();
            let (plan, shared) = (&plan, &shared);
            scope.spawn(move || submit(client, &mine, plan, shared, options, RateGate::new(share)));
        }
        supervise(&shared, options, interrupt, senders.len() as u64);
        shared.stop_submitting.store(true, Ordering::SeqCst);
        shared.stop_following.store(true, Ordering::SeqCst);
    });

    Ok((plan, shared))
}

fn bench_client(url: &str) -> Client {
    Client::with_timeouts(
        url,
        Timeouts {
            connect: Duration::from_secs(2),
            call: Duration::from_secs(20),
        },
    )
}

fn note(options: &BenchOptions, text: &str) {
    if options.progress {
        eprintln!("bench: {text}");
    }
}

/// Each sender's pending nonce, asked of the node it will submit to.
fn pending_nonces(clients: &[Client], senders: &[SigningKey]) -> Result<Vec<u64>, ClientError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(w, client)| {
                scope.spawn(move || {
                    (w..senders.len())
                        .step_by(clients.len())
                        .map(|s| {
                            let address = Address::of(&senders[s].public_key());
                            client.account(&address).map(|a| (s, a.pending_nonce))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut nonces = vec![0; senders.len()];
        for handle in handles {
            for (s, nonce) in handle.join().expect("nonce reader panicked")? {
                nonces[s] = nonce;
            }
        }
        Ok(nonces)
    })
}

/// Signs every transfer on all cores: sender `s` pays 1 to sender `s + 1`.
fn sign_plan(chain_id: &ChainId, senders: &[SigningKey], nonces: &[u64], per_sender: u64) -> Plan {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = senders.len().div_ceil(threads);
    let signed: Vec<Vec<(Hash, Box<[u8]>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..senders.len())
            .step_by(chunk)
            .map(|first| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for s in first..(first + chunk).min(senders.len()) {
                        let to = Address::of(&senders[(s + 1) % senders.len()].public_key());
                        for k in 0..per_sender {
                            let tx = Transaction {
                                chain_id: chain_id.clone(),
                                signer: senders[s].public_key(),
                                nonce: nonces[s] + k,
                                kind: TxKind::Transfer { to, amount: 1 },
                            }
                            .sign(&senders[s]);
                            let json = serde_json::to_vec(&tx).expect("a transfer encodes");
                            out.push((tx.hash(), json.into_boxed_slice()));
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("signer panicked"))
            .collect()
    });
    let mut json = Vec::with_capacity(senders.len() * per_sender as usize);
    let mut index_of = HashMap::with_capacity(json.capacity());
    for (hash, body) in signed.into_iter().flatten() {
        index_of.insert(hash, json.len() as u32);
        json.push(body);
    }
    Plan {
        json,
        index_of,
        per_sender,
    }
}

/// Follows the chain from `from_height`, stamping our transactions as committed.
/// Reads `watchers[0]`, and when the one it reads stands still for [`FOLLOW_SWITCH`]
/// (or fails), moves to the highest of `watchers`: every node holds the same chain.
fn follow(watchers: &[Client], from_height: u64, plan: &Plan, shared: &Shared) {
    let mut next = from_height;
    let mut current = 0;
    let mut grew_at = std::time::Instant::now();
    while !shared.stop_following.load(Ordering::SeqCst) {
        if watchers.len() > 1 && grew_at.elapsed() >= FOLLOW_SWITCH {
            current = highest(watchers).unwrap_or(current);
            grew_at = std::time::Instant::now();
        }
        let client = &watchers[current];
        let height = match client.status() {
            Ok(status) => status.height,
            Err(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(FOLLOW_POLL * 10);
                continue;
            }
        };
        if height < next {
            std::thread::sleep(FOLLOW_POLL);
            continue;
        }
        grew_at = std::time::Instant::now();
        while next <= height && !shared.stop_following.load(Ordering::SeqCst) {
            match client.block(&next.to_string()) {
                Ok(block) => {
                    let now = shared.now_us();
                    for hash in &block.tx_hashes {
                        if let Some(&i) = plan.index_of.get(hash) {
                            stamp_commit(i as usize, now, plan, shared);
                        }
                    }
                    next += 1;
                }
                Err(_) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(FOLLOW_POLL * 10);
                    break;
                }
            }
        }
    }
}

/// The index of the watcher reporting the highest height, if any answers.
fn highest(watchers: &[Client]) -> Option<usize> {
    watchers
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.status().ok().map(|s| (s.height, i)))
        .max()
        .map(|(_, i)| i)
}

fn stamp_commit(i: usize, now_us: u64, plan: &Plan, shared: &Shared) {
    if shared.commit_us[i]
        .compare_exchange(UNSET, now_us, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
    {
        shared.committed_total.fetch_add(1, Ordering::Relaxed);
        let sender = i / plan.per_sender as usize;
        let k = (i % plan.per_sender as usize) as u64;
        shared.committed[sender].fetch_max(k + 1, Ordering::Relaxed);
    }
}

/// One node's submitter: builds arrays from its senders' next transfers within
/// their windows, at its share of the rate.
fn submit(
    client: &Client,
    senders: &[usize],
    plan: &Plan,
    shared: &Shared,
    options: &BenchOptions,
    gate: RateGate,
) {
    let end = plan.per_sender;
    let mut next: Vec<u64> = vec![0; senders.len()];
    let mut done: Vec<bool> = vec![false; senders.len()];
    let mut cursor = 0;
    let mut sent = 0u64;
    while !shared.stop_submitting.load(Ordering::SeqCst) {
        let elapsed = shared.start.elapsed();
        if elapsed >= options.duration {
            break;
        }
        let want = (options.batch_max_txs as u64).min(gate.tokens(elapsed, sent));
        if want == 0 {
            let wait = gate
                .wait_for(elapsed, sent, 1)
                .max(Duration::from_millis(1));
            std::thread::sleep(wait.min(Duration::from_millis(20)));
            continue;
        }
        // Pick up to `want` transfers, sender by sender, from where we left off.
        let mut batch: Vec<(usize, u64)> = Vec::new(); // (position in `senders`, k)
        let mut visited = 0;
        while batch.len() < want as usize && visited < senders.len() {
            let p = cursor;
            cursor = (cursor + 1) % senders.len();
            visited += 1;
            if done[p] {
                continue;
            }
            let committed = shared.committed[senders[p]].load(Ordering::Relaxed);
            let take =
                sendable(committed, next[p], end, options.window).min(want - batch.len() as u64);
            batch.extend((next[p]..next[p] + take).map(|k| (p, k)));
        }
        if batch.is_empty() {
            if done.iter().all(|d| *d) {
                break;
            }
            // Every sender waits for commits.
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let mut body = Vec::with_capacity(batch.len() * 360 + 2);
        body.push(b'[');
        let index = |(p, k): (usize, u64)| senders[p] * plan.per_sender as usize + k as usize;
        for (n, item) in batch.iter().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&plan.json[index(*item)]);
        }
        body.push(b']');
        let now = shared.now_us();
        match client.submit_json_array(body) {
            Ok(answer) if answer.results.len() == batch.len() => {
                let mut retry = false;
                for (item, result) in batch.iter().zip(&answer.results) {
                    let (p, k) = *item;
                    match classify(result.error.as_ref().map(|e| e.code.as_str())) {
                        ItemOutcome::Accepted => {
                            if next[p] == k {
                                let i = index(*item);
                                // A retried transfer keeps its first accepted stamp.
                                let _ = shared.submit_us[i].compare_exchange(
                                    UNSET,
                                    now,
                                    Ordering::Relaxed,
                                    Ordering::Relaxed,
                                );
                                next[p] = k + 1;
                                sent += 1;
                                shared.submitted.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        ItemOutcome::Retry => retry = true,
                        ItemOutcome::Rejected => {
                            if !done[p] {
                                done[p] = true;
                                shared.rejected.fetch_add(1, Ordering::Relaxed);
                                shared.done_senders.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    if next[p] == end && !done[p] {
                        done[p] = true;
                        shared.done_senders.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if retry {
                    shared.throttled.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(REFUSED_PAUSE);
                }
            }
            Ok(_) => {
                // An answer that does not match the request: count it, send again.
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if e.status() == Some(429) => {
                // The generator stands for many clients: one refused request
                // holds back only its own transfers, which go again after a
                // short pause, while the token bucket keeps the offered rate.
                // (Waiting out the node's Retry-After, a whole second, would
                // offer far less than the rate asked for.)
                shared.throttled.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(REFUSED_PAUSE);
            }
            Err(_) => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Waits out the submission period, then the drain, printing progress.
fn supervise(shared: &Shared, options: &BenchOptions, interrupt: &AtomicBool, senders: u64) {
    let mut last_print = Instant::now();
    let mut last_committed = 0;
    let mut drain_deadline: Option<Instant> = None;
    let mut progress_at = (Instant::now(), 0);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if interrupt.load(Ordering::SeqCst) {
            break;
        }
        let submitting = shared.start.elapsed() < options.duration
            && shared.done_senders.load(Ordering::Relaxed) < senders;
        if !submitting {
            shared.stop_submitting.store(true, Ordering::SeqCst);
            let deadline = *drain_deadline.get_or_insert(Instant::now() + options.drain_timeout);
            let committed = shared.committed_total.load(Ordering::Relaxed);
            if committed != progress_at.1 {
                progress_at = (Instant::now(), committed);
            }
            let all_in = committed >= shared.submitted.load(Ordering::Relaxed);
            let stalled = progress_at.0.elapsed() >= options.drain_idle;
            if all_in || stalled || Instant::now() >= deadline {
                break;
            }
        }
        if options.progress && last_print.elapsed() >= Duration::from_secs(1) {
            let committed = shared.committed_total.load(Ordering::Relaxed);
            let rate = (committed - last_committed) as f64 / last_print.elapsed().as_secs_f64();
            last_committed = committed;
            last_print = Instant::now();
            eprint!(
                "\r[{:>5.1} s{}] submitted {:>8}  committed {:>8} ({:>6.0} tx/s)  rejected {}  throttled {}  errors {}   ",
                shared.start.elapsed().as_secs_f64(),
                if submitting { "" } else { ", draining" },
                shared.submitted.load(Ordering::Relaxed),
                committed,
                rate,
                shared.rejected.load(Ordering::Relaxed),
                shared.throttled.load(Ordering::Relaxed),
                shared.errors.load(Ordering::Relaxed),
            );
            let _ = std::io::stderr().flush();
        }
    }
    if options.progress {
        eprintln!();
    }
}

fn report(shared: &Shared) -> BenchReport {
    let load = |v: &Vec<AtomicU64>| {
        v.iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect::<Vec<_>>()
    };
    let submit_us = load(&shared.submit_us);
    let commit_us = load(&shared.commit_us);
    let latency = latencies(&submit_us, &commit_us);
    let first_submit = submit_us.iter().copied().min().unwrap_or(UNSET);
    let last_submit = submit_us.iter().copied().filter(|t| *t != UNSET).max();
    let last_commit = commit_us.iter().copied().filter(|t| *t != UNSET).max();
    let committed = shared.committed_total.load(Ordering::Relaxed);
    let submitted = shared.submitted.load(Ordering::Relaxed);
    let per_s = |count: u64, until: Option<u64>| match until {
        Some(until) if until > first_submit => count as f64 / ((until - first_submit) as f64 / 1e6),
        _ => 0.0,
    };
    BenchReport {
        submitted,
        committed,
        rejected: shared.rejected.load(Ordering::Relaxed),
        throttled: shared.throttled.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        committed_tps: per_s(committed, last_commit),
        offered_tps: per_s(submitted, last_submit),
        p50_ms: latency.p50_ms,
        p90_ms: latency.p90_ms,
        p99_ms: latency.p99_ms,
        max_ms: latency.max_ms,
        elapsed_s: shared.start.elapsed().as_secs_f64(),
    }
}

pub mod tracked;

#[cfg(test)]
mod tests;
