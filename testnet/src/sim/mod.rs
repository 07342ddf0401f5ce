//! `testnet sim`: the deterministic simulator (issue: consensus core).
//!
//! N replicas of the real consensus code, each with the node's own host core
//! (`node::host`: proposals, speculative execution, commits and the pool after
//! them) and the node's own pool (`node::mempool`, admission included) over an
//! in-memory ledger, on a simulated network driven by one seeded generator. A
//! run has three phases:
//!
//! 1. **Faults** (0 to 3 s of simulated time): random delays (reordering), message
//!    duplication, loss up to 20%, temporary partitions of one replica, and crashes of
//!    one replica at a time, restarted later from what it persisted.
//! 2. **Healed** (3 to 4 s): a calm network, every replica up; clients keep sending.
//! 3. **Drain** (from 4 s): clients stop; every valid transaction they sent must be
//!    committed by a quorum within [`LIVENESS_BOUND_MS`].
//!
//! Clients send signed transfers throughout, a few of them refused at admission
//! and a few double spends ([`clients`]); the checks of [`checks`] run after every
//! step, and at the end no pool may keep a transaction its node's ledger made
//! stale. Progress is measured as the height a quorum
//! reached; a replica that ends more than a window behind the highest tip is counted
//! in `lagging_replicas`, not as a violation. Besides a crashed primary that never
//! restarts (`--crash-primary`) and removed validators (`--membership`), such a
//! replica is one whose request or idle timer ran out while the others' did not: it
//! changed views alone and waits there (views never go back) until the others change
//! too, following the chain only by state transfer whenever `f + 1` of them
//! checkpoint above its window. PBFT allows this (the others are a quorum), so no
//! check counts it.
//!
//! With `--byzantine`, up to f replicas per seed run the real replica with one
//! behaviour altered ([`byzantine`]); with `--crash-primary`, the only fault is the
//! primary crashing once, and the run measures how long commits take to resume.
//!
//! To look inside a seed: `RBFT_SIM_DEBUG=1` prints every view change, entered view,
//! fault and commit (and each replica's state if liveness fails); `RBFT_SIM_TRACE=1`
//! adds every delivery and every ignored input.
//!
//! Signatures: one seed in [`ED25519_EVERY`] (those whose number it divides) signs
//! with real ed25519; the others with the deterministic stand-in of
//! `crypto::stand_in`, which keeps the rules the protocol relies on (only a key's
//! holder signs; other bytes or another key fail) at the cost of a hash. The run of
//! a seed is the same under either; only the signature bytes, and so the trace
//! hash, differ. `--ed25519-every 1` signs every seed with ed25519. Under either, a
//! seed checks each distinct valid (key, bytes, signature) once (`crypto::memo`):
//! a memoised answer is the one a new check would give.
//!
//! Transaction bodies reach every live replica's pool when sent (the node forwards
//! them), and every 2 s each node sends what has waited long in its pool to the
//! nodes it reaches, as a node does (`node::edge::reforward`); a body a replica
//! still lacks at execution is fetched, which the simulator models as always
//! succeeding. A transfer every pool refused is sent again by its client.

pub mod byzantine;
mod carrier;
mod checks;
mod clients;
mod faults;
mod host;
mod membership;
pub mod network;
mod scenarios;
mod setup;
mod transfer;
mod verdicts;
mod verify_cache;

use byzantine::{Behaviour, Byzantine, SenderState};
use checks::Checker;
use consensus::{Envelope, Input, Target};
use crypto::{Hash, Sha256, SigningKey};
use host::{Chain, SimNode};
use ledger::VerifiedTx;
use network::{Conditions, Network};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
pub use scenarios::Scenario;
use scenarios::Victim;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use transfer::PendingTransfer;
use verify_cache::VerifyCache;

pub const FAULT_END_MS: u64 = 3_000;
pub const SUBMIT_END_MS: u64 = 4_000;
/// Every valid transaction sent must be committed by a quorum this long after the
/// clients stop.
pub const LIVENESS_BOUND_MS: u64 = 4_000;
const TICK_MS: u64 = 5;
const CLIENTS: usize = 12;
/// The DESIGN.md section 10 timers (2 s each) scaled down by five, in the same ratio.
pub const SIM_REQUEST_TIMEOUT_MS: u64 = 400;
pub const SIM_IDLE_TIMEOUT_MS: u64 = 400;
pub const SIM_VIEW_CHANGE_TIMEOUT_MS: u64 = 400;
const CHAIN_ID: &str = "sim";

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub nodes: usize,
    /// Test-only: replica 0 commits on q - 1 commits (the checks must notice).
    pub broken_replica: bool,
    /// Up to f replicas per seed are Byzantine, each with a behaviour the seed picks.
    pub byzantine: bool,
    /// With `byzantine`: every Byzantine replica has this behaviour.
    pub behaviour: Option<Behaviour>,
    /// Test-only: honest replicas take NEW-VIEW's Q without recomputing it from V.
    pub skip_new_view_check: bool,
    /// Test-only: bugs planted in every node's host core (the node's code).
    pub host_faults: node::host::faults::HostFaults,
    /// Instead of random crashes and partitions: the primary crashes once, at a
    /// random moment, and the run measures how long commits take to resume.
    pub crash_primary: bool,
    /// A recovery story instead of random crashes and partitions ([`Scenario`]).
    pub scenario: Option<Scenario>,
    /// Grow from 4 validators to 7 and back under load, with a Byzantine validator
    /// and a crash during the changes ([`membership`]).
    pub membership: bool,
    /// One seed in this many (those whose number it divides) signs with real
    /// ed25519; the others with the deterministic stand-in (`crypto::stand_in`),
    /// which keeps the rules that matter and costs a hash. 1: every seed real.
    pub ed25519_every: u64,
}

/// The share of seeds that sign with real ed25519 unless told otherwise.
pub const ED25519_EVERY: u64 = 10;

impl SimOptions {
    /// Whether `seed` signs with real ed25519.
    pub fn real_signatures(&self, seed: u64) -> bool {
        seed % self.ed25519_every.max(1) == 0
    }

    /// The command that replays `seed` with these options alone.
    pub fn replay_command(&self, seed: u64) -> String {
        let mut flags = String::new();
        if self.byzantine {
            flags.push_str(" --byzantine");
        }
        if self.crash_primary {
            flags.push_str(" --crash-primary");
        }
        if let Some(scenario) = self.scenario {
            flags.push_str(&format!(" --scenario {}", scenario.name()));
        }
        if self.membership {
            flags.push_str(" --membership");
        } else {
            flags.push_str(&format!(" --nodes {}", self.nodes));
        }
        if self.ed25519_every != ED25519_EVERY {
            flags.push_str(&format!(" --ed25519-every {}", self.ed25519_every));
        }
        format!("cargo run --release -p testnet -- sim --seeds 1 --seed {seed}{flags}")
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 4,
            broken_replica: false,
            byzantine: false,
            behaviour: None,
            skip_new_view_check: false,
            host_faults: Default::default(),
            crash_primary: false,
            scenario: None,
            membership: false,
            ed25519_every: ED25519_EVERY,
        }
    }
}

/// The outcome of one seed.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub seed: u64,
    pub violations: Vec<String>,
    /// The height a quorum of replicas reached.
    pub quorum_height: u64,
    /// The lowest and highest tip of any replica.
    pub min_tip: u64,
    pub max_tip: u64,
    /// Replicas that ended more than a checkpoint window behind the highest tip.
    pub lagging_replicas: usize,
    pub trace_hash: Hash,
    pub committed_txs: usize,
    pub crashes: usize,
    pub partitions: usize,
    /// State transfers: a replica behind the others' window fetched their blocks.
    pub transfers: usize,
    pub messages_sent: u64,
    pub messages_dropped: u64,
    /// View changes started by honest replicas, by reason.
    pub view_changes: BTreeMap<&'static str, usize>,
    /// A quorum committed a height after the network healed.
    pub progress_after_heal: bool,
    /// The Byzantine replicas and their behaviours.
    pub byzantine: Vec<(usize, Behaviour)>,
    /// Equivocations the Byzantine primaries injected (each kept as evidence), and
    /// how many distinct ones honest replicas detected and reported.
    pub equivocations_injected: usize,
    pub equivocations_detected: usize,
    /// With `crash_primary`: from the crash to the first height above the crash-time
    /// tip committed by a quorum of the live replicas.
    pub resume_ms: Option<u64>,
    /// Blocks a state transfer refused (a peer served one that failed a check).
    pub refused_blocks: usize,
    /// With a scenario: how many heights the victim was behind when its fault ended.
    pub behind_by: u64,
    /// The most validators an epoch with committed heights had.
    pub largest_set: usize,
    /// Commit-certificate signatures (counted per committing replica) by validators
    /// that joined after genesis.
    pub newcomer_signatures: usize,
    /// The seed signed with real ed25519, not the stand-in.
    pub ed25519: bool,
}

struct Client {
    key: SigningKey,
    nonce: u64,
}

/// A scheduled change to the world.
enum Fault {
    /// Whoever is primary then crashes for good (`crash_primary`).
    CrashPrimary,
    Crash(usize),
    Restart(usize),
    /// Restart with nothing on disk.
    WipeAndRestart(usize),
    /// Restart every node that is down.
    RestartAll,
    /// The admin submits a governance transaction.
    Governance(membership::Change),
    Partition(usize),
    Heal,
}

struct World {
    rng: ChaCha8Rng,
    now_ms: u64,
    chain: Chain,
    nodes: Vec<SimNode>,
    /// Messages travel shared: a broadcast is one allocation, not one per copy.
    net: Network<Arc<Envelope>>,
    checker: Checker,
    bodies: HashMap<Hash, VerifiedTx>,
    clients: Vec<Client>,
    /// Valid transactions sent and not yet seen committed by a quorum.
    outstanding: Vec<Hash>,
    /// The rival of each double spend's first transfer (the one in
    /// `outstanding`): either may commit.
    rivals: HashMap<Hash, Hash>,
    /// Valid transactions every pool refused, which their clients send again.
    retry: Vec<Hash>,
    trace: Sha256,
    cache: VerifyCache,
    crashes: usize,
    partitions: usize,
    transfers: usize,
    byzantine: Vec<Byzantine>,
    view_changes: BTreeMap<&'static str, usize>,
    heights_after_heal: BTreeSet<u64>,
    detected: BTreeSet<(u64, u64)>,
    crash_primary: bool,
    /// With `crash_primary`: when the primary crashed and the tip then.
    crashed_primary_at: Option<(u64, u64)>,
    resume_ms: Option<u64>,
    /// `RBFT_SIM_DEBUG` and `RBFT_SIM_TRACE`, read once per seed.
    debug: bool,
    trace_deliveries: bool,
    scenario: Option<Scenario>,
    victim: Option<Victim>,
    /// Faults scheduled while running (a scenario's restarts).
    extra_faults: Vec<(u64, Fault)>,
    pending_transfers: Vec<PendingTransfer>,
    refused_blocks: usize,
    behind_by: u64,
    /// The membership scenario runs.
    membership: bool,
    /// The replica outputs of the step being carried out, kept between steps.
    readies: Vec<consensus::Ready>,
    /// The admin's next nonce (= governance transactions submitted).
    admin_nonce: u64,
    /// The next governance transaction goes out no earlier than this.
    next_change_ms: u64,
}

impl World {
    fn is_byzantine(&self, i: usize) -> bool {
        self.byzantine.iter().any(|b| b.node == i)
    }

    fn run(mut self, seed: u64) -> SeedReport {
        self.net.conditions = Conditions {
            min_delay_ms: 1,
            max_delay_ms: self.rng.gen_range(5..40),
            loss: if self.crash_primary {
                // The crash-primary run measures the view change itself: random
                // delays, reordering and duplication, but no loss, whose
                // retransmission rounds would be measured instead.
                0.0
            } else {
                self.rng.gen_range(0.0..0.2)
            },
            duplication: self.rng.gen_range(0.0..0.1),
        };
        if let Some(scenario) = self.scenario {
            // Many heights must pass while the victim is away: little loss, and for
            // a partition short delays.
            self.net.conditions.loss = self.rng.gen_range(0.0..0.02);
            if scenario == Scenario::WipedThenCrash {
                // It measures the view change after the crash, as crash-primary does.
                self.net.conditions.loss = 0.0;
            }
            if scenario == Scenario::Partitioned {
                self.net.conditions.loss = 0.0;
                self.net.conditions.max_delay_ms = self.rng.gen_range(2..10);
            }
        }
        let (client_min, client_max) = self.scenario.map_or((5, 30), Scenario::client_interval_ms);
        let mut faults = self.schedule();
        faults.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let mut next_tick = 0;
        let mut next_client = 0;
        let mut next_reforward = 0;
        // Clients stop at SUBMIT_END_MS; in the membership scenario they go on
        // (for at most LIVENESS_BOUND_MS more) until every change is in force: a
        // change takes effect at a switch height, which only blocks reach, so a
        // seed whose changes ran late would otherwise end with the last one
        // committed but never switched to. Likewise in a recovery scenario until
        // the victim has caught up and voted: a victim that caught up after the
        // last transaction has nothing to vote on. The liveness bound counts
        // from the last submission.
        let mut submit_end = SUBMIT_END_MS;
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_up() {
                self.begin(i);
            }
        }
        loop {
            // The next event: a fault, a tick, a client, or a delivery.
            if !self.extra_faults.is_empty() {
                faults.append(&mut self.extra_faults);
                faults.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
            }
            let mut now = next_tick.min(next_client);
            if let Some((at, _)) = faults.last() {
                now = now.min(*at);
            }
            if let Some(at) = self.net.next_at() {
                now = now.min(at);
            }
            if let Some(at) = self.pending_transfers.iter().map(|p| p.due_ms).min() {
                now = now.min(at);
            }
            self.now_ms = now;
            if now >= FAULT_END_MS && self.net.conditions != Conditions::CALM {
                self.net.conditions = Conditions::CALM;
            }
            if let Some((at, _)) = faults.last() {
                if *at <= now {
                    let (_, fault) = faults.pop().expect("looked at");
                    self.apply_fault(fault);
                    continue;
                }
            }
            if let Some(k) = self.pending_transfers.iter().position(|p| p.due_ms <= now) {
                let pending = self.pending_transfers.swap_remove(k);
                self.finish_transfer(pending);
                continue;
            }
            if let Some(delivery) = self.net.pop_due(now) {
                self.deliver(delivery.from, delivery.to, delivery.message);
                self.crash_victim_if_changing();
                continue;
            }
            let submitting = now < SUBMIT_END_MS
                || (now < SUBMIT_END_MS + LIVENESS_BOUND_MS
                    && !(self.membership_settled() && self.victim_caught_up()));
            if submitting {
                submit_end = submit_end.max(now);
            }
            if next_client <= now {
                if submitting {
                    self.submit();
                }
                next_client = now + self.rng.gen_range(client_min..client_max);
                continue;
            }
            for i in 0..self.nodes.len() {
                self.step(i, Input::Tick { now_ms: now });
            }
            self.crash_victim_if_changing();
            if self.membership {
                self.drive_membership();
                self.start_joiners();
            }
            if now >= next_reforward {
                self.reforward();
                self.retry_refused();
                next_reforward = now + node::edge::REFORWARD_EVERY.as_millis() as u64;
            }
            next_tick = now + TICK_MS;
            if now >= SUBMIT_END_MS && !submitting {
                let deadline = submit_end + LIVENESS_BOUND_MS;
                let quorum = self.liveness_quorum();
                let outstanding = std::mem::take(&mut self.outstanding);
                self.outstanding = outstanding
                    .into_iter()
                    .filter(|tx| !self.settled(tx, quorum))
                    .collect();
                let done = self.outstanding.is_empty()
                    && self.victim_caught_up()
                    && self.membership_settled();
                if done || now >= deadline {
                    break;
                }
            }
        }
        if !self.outstanding.is_empty() && self.debug {
            for node in &self.nodes {
                if let Some(r) = &node.replica {
                    eprintln!(
                        "node {} view {} changing {} committed {} h {} log {} primary {}",
                        node.index,
                        r.view().0,
                        r.is_changing_view(),
                        r.last_committed().0,
                        r.low_watermark().0,
                        r.log_len(),
                        r.is_primary()
                    );
                }
            }
        }
        if !self.outstanding.is_empty() {
            let text = format!(
                "liveness: {} valid transactions not committed by a quorum {LIVENESS_BOUND_MS} ms after the clients stopped",
                self.outstanding.len()
            );
            self.checker.violations.push(text);
        }
        self.check_victim();
        self.check_membership();
        self.check_pools();
        self.report(seed)
    }

    fn deliver(&mut self, from: usize, to: usize, message: Arc<Envelope>) {
        if !self.nodes[to].is_up() {
            return;
        }
        let mut t = Sha256::new();
        t.update(&self.now_ms.to_le_bytes())
            .update(&[from as u8, to as u8])
            .update(&message.signature().0);
        self.trace.update(&t.finish().0);
        // A node verifies against the roster its replica knows: a validator added by
        // a change it has not committed yet is unknown to it, and its messages are
        // dropped (the roster is a prefix of `chain.keys`, so for known senders the
        // answer is the same).
        let known = self.nodes[to]
            .replica
            .as_ref()
            .is_some_and(|r| message.sender().index() < r.roster().len());
        if !known {
            return;
        }
        match self
            .cache
            .verify_envelope(&message, &self.chain.keys, CHAIN_ID)
        {
            Ok(input) => {
                if self.trace_deliveries {
                    if let Input::Message(v) = &input {
                        eprintln!(
                            "{} deliver {from}->{to} {:?} {:?} v{:?}",
                            self.now_ms,
                            v.message().kind(),
                            v.message().seq().0,
                            v.message().view().map(|v| v.0)
                        );
                    } else {
                        eprintln!("{} deliver {from}->{to} {:?}", self.now_ms, message.kind());
                    }
                }
                self.step(to, input)
            }
            Err(rejected) if !self.is_byzantine(from) => self.checker.violations.push(format!(
                "an honest replica's message was refused: {rejected}"
            )),
            Err(_) => {}
        }
    }

    /// (Re)starts node `i`'s replica from what it persisted, and begins it.
    pub(super) fn boot(&mut self, i: usize) {
        self.nodes[i].start(&self.chain, self.now_ms);
        self.begin(i);
    }

    /// A started replica's first inputs, the node's (`node::host::carry::begin`).
    fn begin(&mut self, i: usize) {
        self.step_with(i, |carrier, now_ms| {
            node::host::carry::begin(carrier, now_ms)
        });
    }

    /// Steps one replica and carries out its outputs; then runs the checks.
    fn step(&mut self, i: usize, input: Input) {
        self.step_with(i, |carrier, _| node::host::carry::drive(carrier, input));
    }

    /// Runs `steps` on node `i`'s carrier (see [`SimNode::run`]), and carries out
    /// and checks what its steps returned.
    fn step_with(
        &mut self,
        i: usize,
        steps: impl FnOnce(&mut carrier::SimCarrier, u64) -> Result<(), Infallible>,
    ) {
        // A step that another step causes (a transfer's answer) takes a new buffer.
        let mut readies = std::mem::take(&mut self.readies);
        let committed =
            self.nodes[i].run(&self.chain, &self.bodies, self.now_ms, &mut readies, steps);
        let mut transfers = Vec::new();
        for text in std::mem::take(&mut self.nodes[i].host_errors) {
            self.checker.violations.push(format!("host: {text}"));
        }
        for mut ready in readies.drain(..) {
            self.watch_victim(i, &ready);
            if let Some(request) = ready.transfer.take() {
                transfers.push(request);
            }
            if self.debug || self.trace_deliveries {
                for f in &ready.faults {
                    let text = format!("{f:?}");
                    eprintln!(
                        "{} node {i} fault {}",
                        self.now_ms,
                        &text[..text.len().min(300)]
                    );
                }
                for v in &ready.view_changes {
                    eprintln!("{} node {i} view change {v:?}", self.now_ms);
                }
                if let Some(v) = ready.entered_view {
                    eprintln!("{} node {i} entered {v:?}", self.now_ms);
                }
                for event in &ready.recovery {
                    eprintln!("{} node {i} recovery {event:?}", self.now_ms);
                }
                if self.trace_deliveries {
                    for g in &ready.ignored {
                        eprintln!("{} node {i} ignored {g:?}", self.now_ms);
                    }
                }
            }
            if !self.is_byzantine(i) {
                for started in &ready.view_changes {
                    *self.view_changes.entry(started.reason.name()).or_default() += 1;
                }
                for fault in &ready.faults {
                    self.check_accusation(i, fault);
                }
            }
            if let Some(b) = self.byzantine.iter().position(|b| b.node == i) {
                let state = self.nodes[i].replica.as_ref().map(|r| SenderState {
                    is_primary: r.is_primary(),
                    changing: r.is_changing_view(),
                });
                let Some(state) = state else { continue };
                for out in ready.then_send {
                    for (to, envelope) in
                        self.byzantine[b].send(&mut self.rng, &state, out.to, out.message)
                    {
                        let envelope = Arc::new(envelope);
                        self.net.send(&mut self.rng, self.now_ms, i, to, envelope);
                    }
                }
                continue;
            }
            for out in ready.then_send {
                // What a replica relays (the pre-prepares and proofs it answers
                // FetchPqc with) is another's signature, checked at its signer.
                if out.message.sender().index() == i {
                    self.checker.on_signed(&out.message);
                }
                match out.to {
                    Target::All => {
                        let peers = self.nodes[i]
                            .replica
                            .as_ref()
                            .map(|r| r.peers())
                            .unwrap_or_default();
                        let message = Arc::new(out.message);
                        for to in peers.into_iter().map(|p| p.index()) {
                            self.net
                                .send(&mut self.rng, self.now_ms, i, to, message.clone());
                        }
                    }
                    Target::One(to) => {
                        let message = Arc::new(out.message);
                        self.net
                            .send(&mut self.rng, self.now_ms, i, to.index(), message);
                    }
                }
            }
        }
        self.readies = readies;
        // Most steps commit nothing; the parent's hash is computed only for those that do.
        let mut parent = if committed.is_empty() {
            Hash::ZERO
        } else {
            let blocks = &self.nodes[i].ledger.blocks;
            blocks[blocks.len() - 1 - committed.len()].hash()
        };
        for c in &committed {
            if self.debug {
                eprintln!(
                    "{} node {i} committed {} view {}",
                    self.now_ms, c.info.seq.0, c.info.view.0
                );
            }
            if self.now_ms >= FAULT_END_MS {
                self.heights_after_heal.insert(c.block.header.height);
            }
            let change = self.change_at(i, c.block.header.height);
            self.checker
                .on_commit(i, &parent, c, change, CHAIN_ID, &mut self.cache);
            parent = c.block.hash();
            let mut t = Sha256::new();
            t.update(&[i as u8]).update(&parent.0);
            self.trace.update(&t.finish().0);
        }
        if let Some(replica) = &self.nodes[i].replica {
            self.checker.check_log_bounds(i, replica);
        }
        self.measure_resume();
        for request in transfers {
            self.transfer(i, request);
        }
    }
}

/// Runs one seed.
pub fn run_seed(seed: u64, options: &SimOptions) -> SeedReport {
    let ed25519 = options.real_signatures(seed);
    let _stand_in = (!ed25519).then(crypto::stand_in::StandIn::install);
    // Each distinct valid signature is checked once per seed.
    let _memo = crypto::memo::SignatureMemo::install();
    // Every replica computes the same tree hashes; each is computed once per seed.
    let _tree_memo = ledger::state::hash_memo::TreeHashMemo::install();
    let mut report = World::new(seed, options).run(seed);
    report.ed25519 = ed25519;
    report
}

/// Runs `seeds` seeds from `first` on `threads` threads; reports in seed order.
pub fn run_seeds(first: u64, seeds: u64, threads: usize, options: &SimOptions) -> Vec<SeedReport> {
    let next = std::sync::atomic::AtomicU64::new(first);
    let reports = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if seed >= first + seeds {
                    break;
                }
                let report = run_seed(seed, options);
                reports
                    .lock()
                    .expect("no panics hold the lock")
                    .push(report);
            });
        }
    });
    let mut reports = reports.into_inner().expect("threads joined");
    reports.sort_by_key(|r| r.seed);
    reports
}
