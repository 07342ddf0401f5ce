//! The chaos run: load across a network of namespaced hosts ([`crate::hosts`])
//! while faults come and go, then a check that nothing diverged and nothing was
//! lost.
//!
//! Loss is on every link for the whole run. The steps ([`Step`]) run in order, and
//! over again while a `duration` lasts: the primary cut off from the others, a
//! 2|2 split, a backup killed with SIGKILL and restarted, a backup's data wiped.
//! Never more than one node is down or cut off at a time, so at most f of 4 fail
//! together. After each heal the run measures how long until a quorum commits a
//! block above the highest height at the heal (`resumed_after_ms`) and until the
//! node that was away reaches that height (`caught_up_after_ms`).
//!
//! At the end the load stops, the faults are removed, and once every node is on
//! one tip with an empty pool the ledger checker ([`crate::check`]) reads every
//! node: the same blocks and state roots, every commit certificate valid for its
//! height's validator set, the supply, and every transfer a node accepted on the
//! chain exactly once. The report's JSON is what
//! `testnet chaos --json` prints last.

use crate::bench::tracked::run_tracked;
use crate::bench::{BenchOptions, BenchReport, BenchTarget};
use crate::check::{check_network, CheckOptions, NodeApi};
use crate::hosts::{Hosts, HostsError};
use crypto::Hash;
use ledger::Genesis;
use node::client::{Client, Timeouts};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the run polls the nodes' heights.
const POLL: Duration = Duration::from_millis(100);
/// The load has started once the chain grew this much...
const LOAD_STARTED_HEIGHTS: u64 = 5;
/// ...which must happen within this long.
const LOAD_START_TIMEOUT: Duration = Duration::from_secs(180);

/// How long one pass over `steps` takes at least (faults and pauses, not the
/// waits after heals).
fn steps_time(steps: &[Step]) -> Duration {
    steps
        .iter()
        .map(|step| match step {
            Step::Settle(t) | Step::IsolatePrimary(t) | Step::Split(t) | Step::Kill(t) => *t,
            Step::Wipe => Duration::ZERO,
        })
        .sum()
}

/// One step of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing but the loss and the load.
    Settle(Duration),
    /// The primary cannot reach nor be reached by any other host, then heals.
    IsolatePrimary(Duration),
    /// The primary and the next host on one side, the other two on the other.
    Split(Duration),
    /// kill -9 of a backup (each in turn), restarted after this long.
    Kill(Duration),
    /// A backup (each in turn) killed, its data directory deleted, started again.
    Wipe,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Settle(_) => "settle",
            Step::IsolatePrimary(_) => "isolate-primary",
            Step::Split(_) => "split-2-2",
            Step::Kill(_) => "kill",
            Step::Wipe => "wipe",
        }
    }

    /// The default cycle of `testnet chaos`.
    pub fn cycle() -> Vec<Step> {
        let s = Duration::from_secs;
        vec![
            Step::Settle(s(10)),
            Step::IsolatePrimary(s(15)),
            Step::Settle(s(10)),
            Step::Split(s(15)),
            Step::Settle(s(10)),
            Step::Kill(s(15)),
            Step::Settle(s(10)),
            Step::Wipe,
        ]
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Transfers per second offered.
    pub rate: u64,
    /// Packets dropped on every link, in basis points (200 = 2%).
    pub loss_basis_points: u32,
    pub steps: Vec<Step>,
    /// Run the steps over again until this much time has passed (at least once).
    pub duration: Option<Duration>,
    /// How long a heal may take to bring commits back before the run gives up
    /// waiting (the report then says `null`).
    pub resume_timeout: Duration,
    /// How long every node may take to settle on one tip at the end.
    pub converge_timeout: Duration,
    /// Progress lines on stderr.
    pub progress: bool,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        ChaosOptions {
            rate: 200,
            loss_basis_points: 200,
            steps: Step::cycle(),
            duration: None,
            resume_timeout: Duration::from_secs(60),
            converge_timeout: Duration::from_secs(120),
            progress: false,
        }
    }
}

/// A fault removed, and what followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealRecord {
    pub fault: String,
    /// The hosts that were cut off, killed or wiped.
    pub hosts: Vec<usize>,
    /// Seconds from the start of the run.
    pub at_s: u64,
    /// The highest height any node had when the fault was removed.
    pub height: u64,
    /// Until a quorum of nodes committed above `height`.
    pub resumed_after_ms: Option<u64>,
    /// Until every host in `hosts` reached `height`.
    pub caught_up_after_ms: Option<u64>,
}

/// What the run did and found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosReport {
    pub elapsed_s: u64,
    /// Faults applied, by kind.
    pub faults: BTreeMap<String, u64>,
    pub heals: Vec<HealRecord>,
    /// The longest of the heals' `resumed_after_ms`.
    pub longest_resume_ms: Option<u64>,
    /// Transfers a node accepted.
    pub accepted: u64,
    /// Of those, on the chain at the end.
    pub committed: u64,
    /// Accepted transfers that are in no node's chain.
    pub lost: u64,
    /// Up to ten of the lost transfers, to look up in the nodes' logs.
    pub lost_sample: Vec<Hash>,
    /// Transfers on the chain more than once.
    pub duplicated: u64,
    /// Whether every node settled on one tip with an empty pool.
    pub converged: bool,
    /// Each node's height, tip and pool at the end (`null`: no answer).
    pub nodes: Vec<Option<NodeEnd>>,
    pub tip: u64,
    /// From the ledger checker ([`crate::check`]), run on every node at the end:
    /// heights at which two nodes hold different blocks or state roots...
    pub divergent_heights: u64,
    /// ...commit certificates judged against the validator set of their height,
    /// and the bad ones...
    pub certificates_checked: u64,
    pub bad_certificates: u64,
    /// ...whether it found nothing wrong, and what it found.
    pub check_ok: bool,
    pub problems: Vec<String>,
    pub load: BenchReport,
}

/// Where a node stood at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeEnd {
    pub height: u64,
    pub tip: Hash,
    pub pool: usize,
    pub view: u64,
}

/// Why the run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error(transparent)]
    Hosts(#[from] HostsError),
    #[error(transparent)]
    Proc(#[from] crate::procs::ProcError),
    #[error("the load generator: {0}")]
    Load(String),
    #[error("no node answers")]
    NoAnswer,
    #[error("the network's genesis: {0}")]
    Genesis(String),
}

fn client(hosts: &Hosts, i: usize) -> Client {
    Client::with_timeouts(
        &hosts.network.layout.nodes[i].api_url(),
        Timeouts {
            connect: Duration::from_millis(500),
            call: Duration::from_secs(2),
        },
    )
}

fn heights(hosts: &Hosts) -> Vec<Option<u64>> {
    (0..hosts.len())
        .map(|i| client(hosts, i).status().ok().map(|s| s.height))
        .collect()
}

fn max_height(hosts: &Hosts) -> u64 {
    heights(hosts).into_iter().flatten().max().unwrap_or(0)
}

/// The primary, as the first node that answers sees it.
fn primary(hosts: &Hosts) -> Result<usize, ChaosError> {
    (0..hosts.len())
        .find_map(|i| client(hosts, i).status().ok())
        .map(|s| s.primary as usize % hosts.len())
        .ok_or(ChaosError::NoAnswer)
}

/// Largest f with 3f + 1 <= n; a quorum is n - f.
fn quorum(n: usize) -> usize {
    n - (n - 1) / 3
}

/// Waits after a heal at `height`: until a quorum is above it, and until every
/// host of `away` has reached it.
fn measure_heal(
    hosts: &Hosts,
    fault: &str,
    away: Vec<usize>,
    started: Instant,
    timeout: Duration,
) -> HealRecord {
    let height = max_height(hosts);
    let healed = Instant::now();
    let (mut resumed, mut caught_up) = (None, None);
    while healed.elapsed() < timeout && (resumed.is_none() || caught_up.is_none()) {
        let now = heights(hosts);
        let ms = healed.elapsed().as_millis() as u64;
        if resumed.is_none()
            && now.iter().flatten().filter(|&&h| h > height).count() >= quorum(now.len())
        {
            resumed = Some(ms);
        }
        if caught_up.is_none() && away.iter().all(|&i| now[i].is_some_and(|h| h >= height)) {
            caught_up = Some(ms);
        }
        std::thread::sleep(POLL);
    }
    HealRecord {
        fault: fault.to_owned(),
        hosts: away,
        at_s: healed.duration_since(started).as_secs(),
        height,
        resumed_after_ms: resumed,
        caught_up_after_ms: caught_up,
    }
}

/// Runs the faults of `options` on `hosts` under load, then checks the outcome.
pub fn run_chaos(hosts: &mut Hosts, options: &ChaosOptions) -> Result<ChaosReport, ChaosError> {
    let started = Instant::now();
    let n = hosts.len();
    hosts.network.wait_for_first_block(options.resume_timeout)?;
    let keys = hosts
        .network
        .layout
        .clients
        .iter()
        .map(|c| c.load())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ChaosError::Load(e.to_string()))?;
    let urls: Vec<String> = hosts
        .network
        .layout
        .nodes
        .iter()
        .map(|n| n.api_url())
        .collect();
    // Any node may be cut off or down: the follower moves to one that commits.
    let target = BenchTarget {
        watch_url: urls[0].clone(),
        also_watch: urls.clone(),
        submit_urls: urls,
    };
    let bench = BenchOptions {
        rate: Some(options.rate),
        // The load runs until stopped; this bounds what is signed ahead.
        duration: options
            .duration
            .unwrap_or_else(|| steps_time(&options.steps))
            + Duration::from_secs(120),
        progress: false,
        ..BenchOptions::default()
    };
    let say = |text: String| {
        if options.progress {
            eprintln!("chaos {:>4} s: {text}", started.elapsed().as_secs());
        }
    };
    let loss = options.loss_basis_points;
    hosts.change_faults(|f| f.set_loss_everywhere(n, loss))?;
    say(format!("{} basis points of loss on every link", loss));

    let stop = AtomicBool::new(false);
    let mut faults: BTreeMap<String, u64> = BTreeMap::new();
    let mut heals = Vec::new();
    let (outcome, run) = std::thread::scope(|scope| {
        let load = scope.spawn(|| run_tracked(&target, &keys, &bench, &stop));
        let outcome = (|| -> Result<(), ChaosError> {
            // The generator signs its transfers before it sends any: the faults
            // start once blocks carry its load.
            let from = max_height(hosts);
            let flowing = Instant::now();
            while max_height(hosts) < from + LOAD_STARTED_HEIGHTS {
                if flowing.elapsed() > LOAD_START_TIMEOUT {
                    return Err(ChaosError::Load(format!(
                        "no block committed the load within {} s",
                        LOAD_START_TIMEOUT.as_secs()
                    )));
                }
                std::thread::sleep(POLL);
            }
            say(format!("the load commits (height {})", max_height(hosts)));
            let mut turn = 0usize;
            loop {
                for step in &options.steps {
                    apply_step(
                        hosts,
                        step,
                        turn,
                        started,
                        options,
                        &mut faults,
                        &mut heals,
                        &say,
                    )?;
                }
                turn += 1;
                match options.duration {
                    Some(d) if started.elapsed() < d => continue,
                    _ => return Ok(()),
                }
            }
        })();
        stop.store(true, Ordering::SeqCst);
        (
            outcome,
            load.join().expect("the load generator does not panic"),
        )
    });
    // Whatever happened, every node runs and no fault remains before the check.
    hosts.set_faults(Default::default())?;
    for i in 0..n {
        hosts.restart(i)?;
    }
    outcome?;
    let run = run.map_err(|e| ChaosError::Load(e.to_string()))?;
    say(format!(
        "load stopped: {} accepted, {} seen committed; waiting for one tip",
        run.accepted.len(),
        run.committed.len()
    ));
    let (converged, tip) = converge(hosts, options.converge_timeout);
    let nodes = (0..n)
        .map(|i| {
            client(hosts, i).status().ok().map(|s| NodeEnd {
                height: s.height,
                tip: s.tip_hash,
                pool: s.pool_size,
                view: s.view,
            })
        })
        .collect();
    say("checking every node's ledger".into());
    let accepted: Vec<Hash> = run
        .accepted
        .iter()
        .chain(&run.committed)
        .copied()
        .collect::<HashSet<Hash>>()
        .into_iter()
        .collect();
    let layout = &hosts.network.layout;
    let genesis_path = layout.dir.join(node::config::Home::GENESIS);
    let genesis = Genesis::load(&genesis_path).map_err(|e| ChaosError::Genesis(e.to_string()))?;
    let check = check_network(
        &NodeApi::of_layout(layout),
        &genesis,
        &CheckOptions {
            equal_heights: true,
            txs: accepted.clone(),
            ..CheckOptions::default()
        },
    );
    let longest_resume_ms = heals
        .iter()
        .filter_map(|h: &HealRecord| h.resumed_after_ms)
        .max();
    Ok(ChaosReport {
        elapsed_s: started.elapsed().as_secs(),
        faults,
        heals,
        longest_resume_ms,
        accepted: accepted.len() as u64,
        committed: (accepted.len() - check.missing_txs.len()) as u64,
        lost: check.missing_txs.len() as u64,
        lost_sample: check.missing_txs.iter().take(10).copied().collect(),
        duplicated: check.duplicated_txs.len() as u64,
        converged,
        nodes,
        tip,
        divergent_heights: check.divergent_heights,
        certificates_checked: check.certificates_checked,
        bad_certificates: check.bad_certificates,
        check_ok: check.ok(),
        problems: check
            .problems
            .iter()
            .take(20)
            .map(|p| p.to_string())
            .collect(),
        load: run.report,
    })
}

#[allow(clippy::too_many_arguments)]
fn apply_step(
    hosts: &mut Hosts,
    step: &Step,
    turn: usize,
    started: Instant,
    options: &ChaosOptions,
    faults: &mut BTreeMap<String, u64>,
    heals: &mut Vec<HealRecord>,
    say: &dyn Fn(String),
) -> Result<(), ChaosError> {
    let n = hosts.len();
    if !matches!(step, Step::Settle(_)) {
        *faults.entry(step.name().to_owned()).or_default() += 1;
    }
    let heal = |hosts: &Hosts, away: Vec<usize>| {
        measure_heal(hosts, step.name(), away, started, options.resume_timeout)
    };
    match step {
        Step::Settle(time) => std::thread::sleep(*time),
        Step::IsolatePrimary(time) => {
            let p = primary(hosts)?;
            say(format!(
                "cutting off the primary, host {p}, for {} s",
                time.as_secs()
            ));
            hosts.change_faults(|f| f.isolate(n, p))?;
            std::thread::sleep(*time);
            hosts.change_faults(|f| f.heal_partitions())?;
            let record = heal(hosts, vec![p]);
            say(format!("healed: {record:?}"));
            heals.push(record);
        }
        Step::Split(time) => {
            let p = primary(hosts)?;
            let one = vec![p, (p + 1) % n];
            let other: Vec<usize> = (0..n).filter(|i| !one.contains(i)).collect();
            say(format!(
                "split {one:?} | {other:?} for {} s",
                time.as_secs()
            ));
            hosts.change_faults(|f| f.partition(n, &[one.clone(), other.clone()]))?;
            std::thread::sleep(*time);
            hosts.change_faults(|f| f.heal_partitions())?;
            let record = heal(hosts, (0..n).collect());
            say(format!("healed: {record:?}"));
            heals.push(record);
        }
        Step::Kill(time) => {
            let victim = backup(hosts, turn)?;
            say(format!("kill -9 host {victim} for {} s", time.as_secs()));
            hosts.kill(victim)?;
            std::thread::sleep(*time);
            hosts.restart(victim)?;
            let record = heal(hosts, vec![victim]);
            say(format!("restarted: {record:?}"));
            heals.push(record);
        }
        Step::Wipe => {
            let victim = backup(hosts, turn + 1)?;
            say(format!("wiping host {victim}"));
            hosts.wipe(victim)?;
            let record = heal(hosts, vec![victim]);
            say(format!("wiped and restarted: {record:?}"));
            heals.push(record);
        }
    }
    Ok(())
}

/// A backup, a different one each `turn`.
fn backup(hosts: &Hosts, turn: usize) -> Result<usize, ChaosError> {
    let n = hosts.len();
    let p = primary(hosts)?;
    Ok((p + 1 + turn % (n - 1)) % n)
}

/// Waits until every node has the same tip and an empty pool, twice in a row.
fn converge(hosts: &Hosts, timeout: Duration) -> (bool, u64) {
    let started = Instant::now();
    let mut previous = None;
    let mut last_max = 0;
    while started.elapsed() < timeout {
        let statuses: Vec<_> = (0..hosts.len())
            .map(|i| client(hosts, i).status().ok())
            .collect();
        last_max = statuses
            .iter()
            .flatten()
            .map(|s| s.height)
            .max()
            .unwrap_or(0);
        let tips: Vec<_> = statuses
            .iter()
            .map(|s| s.as_ref().map(|s| (s.height, s.tip_hash)))
            .collect();
        let quiet = statuses
            .iter()
            .all(|s| s.as_ref().is_some_and(|s| s.pool_size == 0));
        if quiet && tips.iter().all(|t| t.is_some() && *t == tips[0]) {
            if previous == tips[0] {
                return (true, tips[0].map_or(0, |t| t.0));
            }
            previous = tips[0];
        } else {
            previous = None;
        }
        std::thread::sleep(POLL * 5);
    }
    (false, last_max)
}
