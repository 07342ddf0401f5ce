//! The task that owns the replica (DESIGN.md section 8): it feeds in verified
//! messages, ticks, the pool's state and execution results, and carries out what
//! each step returns.
//!
//! A *round* takes one event and every event already queued behind it (up to a
//! bound), steps the replica for each, and feeds back the answers to proposal and
//! execution requests. Committed blocks are written to the store as they come.
//! At the end of the round everything the replica asked to persist is written in
//! one synced write, and only then does anything go out (group commit: the cost of
//! the sync is shared by the whole round).
//!
//! The driver runs on a thread of its own (`crate::run`), not on the async
//! runtime's: it executes blocks and waits for synced writes, and the runtime's few
//! threads must stay free for the network and the API. The tasks it spawns
//! (fetches, transfers) run on the runtime.

mod catch_up;
mod exec;
mod host_calls;
pub mod join;
mod log;
mod membership;
pub mod transfer;

pub use exec::{write_block, CommitError};
pub use log::{ConsensusLog, LogError};
pub use transfer::CatchUpEvent;

use crate::events::Event;
use crate::host::Executor;
use crate::net::NetHandle;
use crate::shared::Shared;
use crate::wire::PeerMessage;
use consensus::{ExecuteRequest, Input, Outgoing, Ready, Replica, ReplicaConfig, SeqNo, Target};
use crypto::{Canonical, Hash, SigningKey};
use ledger::VerifiedTx;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Events queued in one round at most.
const ROUND_EVENTS: usize = 512;
/// How often the replica is told the time.
const TICK: Duration = Duration::from_millis(5);
/// Bodies fetched from peers kept at most (they go when their block commits).
const MAX_FETCHED: usize = 100_000;

/// What reaches the driver.
pub enum DriverEvent {
    /// A message whose signature the network edge checked.
    Input(Input),
    /// The bodies a fetch found for the batch at `seq` with `digest`.
    Fetched {
        seq: SeqNo,
        digest: Hash,
        txs: Vec<VerifiedTx>,
    },
    CatchUp(CatchUpEvent),
}

/// Why the driver stopped on its own. Each is fatal: the node must not go on.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(transparent)]
    OutOfOrder(#[from] crate::host::OutOfOrder),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("the replica does not start: {0}")]
    Replica(String),
    #[error("this node's key is not on the roster of its ledger: it is not a validator (yet)")]
    NotOnRoster,
    #[error("the ledger's governance history is not a valid membership: {0}")]
    Membership(#[from] consensus::MembershipError),
}

pub struct Driver {
    shared: Arc<Shared>,
    replica: Replica,
    log: ConsensusLog,
    executor: Executor,
    net: NetHandle,
    events_tx: mpsc::Sender<DriverEvent>,
    /// Execution requests not answered yet, in order; the first may wait for a
    /// fetch of bodies this node lacks.
    executions: VecDeque<ExecuteRequest>,
    fetching: Option<(SeqNo, Hash)>,
    /// The batch whose fetch finished last: it executes with what was found.
    fetch_done: Option<(SeqNo, Hash)>,
    fetched: HashMap<Hash, VerifiedTx>,
    /// The state transfer in progress (its generation), if any.
    transferring: Option<u64>,
    transfer_generation: u64,
    /// When each height's pre-prepare was accepted (commit latency metric).
    accepted_at: HashMap<u64, std::time::Instant>,
    /// Messages to send at the end of the round.
    outbox: Vec<Outgoing>,
    /// The ledger's tip when the running transfer started (its changes above it
    /// go to the replica with `Transferred`).
    transfer_from: u64,
    /// The ids the network dials now (see [`crate::membership::to_dial`]).
    dialled: Vec<consensus::ReplicaId>,
    /// Counts faults and keeps their evidence ([`crate::evidence`]).
    evidence: crate::evidence::Keeper,
}

/// The replica's configuration: the genesis parameters and validators, the
/// governance changes the ledger holds, and this node's roster id.
pub fn replica_config(shared: &Shared) -> Result<ReplicaConfig, DriverError> {
    let genesis = &shared.genesis;
    let params = &genesis.consensus;
    let me = shared.me().ok_or(DriverError::NotOnRoster)?;
    let (validators, changes) = {
        let store = shared.store.read().expect("store lock");
        let validators = store
            .genesis_validators()
            .iter()
            .map(|v| v.public_key)
            .collect();
        (
            validators,
            crate::membership::changes(store.validator_history()),
        )
    };
    let mut config = ReplicaConfig::with_defaults(&genesis.chain_id, validators, me);
    config.changes = changes;
    config.checkpoint_interval = params.checkpoint_interval;
    config.log_window = params.log_window;
    config.batch_max_txs = params.batch_max_txs;
    config.batch_timeout_ms = params.batch_timeout_ms;
    config.request_timeout_ms = params.request_timeout_ms;
    config.idle_timeout_ms = params.idle_timeout_ms;
    config.view_change_timeout_ms = params.view_change_timeout_ms;
    config.max_clock_drift_ms = params.max_clock_drift_ms;
    Ok(config)
}

impl Driver {
    /// Opens the consensus log, brings it up to the ledger and starts the replica
    /// from it. `events_tx` is the sending end of the driver's event channel (the
    /// network edge and fetch tasks use clones of it).
    pub fn new(
        shared: Arc<Shared>,
        key: SigningKey,
        net: NetHandle,
        events_tx: mpsc::Sender<DriverEvent>,
    ) -> Result<Driver, DriverError> {
        let config = replica_config(&shared)?;
        let log = {
            let store = shared.store.read().expect("store lock");
            let mut log = ConsensusLog::open(&store)?;
            log.reconcile(&store)?;
            log
        };
        let restored =
            (*log.state() != consensus::PersistedState::default()).then(|| log.state().clone());
        let empty = restored.is_none();
        // A ledger past the persisted window (a transfer stopped between
        // checkpoints) restores a paused replica; recovery brings it on.
        let mut replica =
            Replica::new(config, key, restored).map_err(|e| DriverError::Replica(e.to_string()))?;
        if empty {
            // Wiped, or a new chain: it cannot tell, so it signs nothing it may
            // have signed before until recovery has asked the others.
            replica.start_amnesiac();
        }
        *shared.stable_checkpoint.write().expect("lock") = replica.stable_checkpoint().cloned();
        let evidence = crate::evidence::Keeper::load(&shared);
        let driver = Driver {
            executor: Executor::new(&shared.genesis),
            shared,
            replica,
            log,
            net,
            events_tx,
            executions: VecDeque::new(),
            fetching: None,
            fetch_done: None,
            fetched: HashMap::new(),
            transferring: None,
            transfer_generation: 0,
            accepted_at: HashMap::new(),
            outbox: Vec::new(),
            transfer_from: 0,
            dialled: Vec::new(),
            evidence,
        };
        let mut driver = driver;
        driver.follow_membership()?;
        driver.publish();
        Ok(driver)
    }

    /// Runs until `shutdown` turns true or a fatal error.
    pub async fn run(
        mut self,
        mut events: mpsc::Receiver<DriverEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), DriverError> {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shared = self.shared.clone();
        // Recovery runs on every start (DESIGN.md section 5.2), after a first tick.
        self.step(Input::Tick {
            now_ms: Shared::now_ms(),
        })?;
        self.step(Input::Recover)?;
        self.finish_round()?;
        loop {
            let mut round: Vec<DriverEvent> = Vec::new();
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => round.push(event),
                    None => return Ok(()),
                },
                _ = tick.tick() => {}
                _ = shared.pool_changed.notified() => {}
                _ = shutdown.changed() => return Ok(()),
            }
            while round.len() < ROUND_EVENTS {
                match events.try_recv() {
                    Ok(event) => round.push(event),
                    Err(_) => break,
                }
            }
            self.step(Input::Tick {
                now_ms: Shared::now_ms(),
            })?;
            for event in round {
                self.handle(event)?;
            }
            // While the replica transfers state it orders nothing (it is paused);
            // the pool waits.
            if !self.replica.is_paused() {
                let (count, oldest_ms) = self.available();
                self.step(Input::TxsAvailable { count, oldest_ms })?;
            }
            self.finish_round()?;
        }
    }

    fn handle(&mut self, event: DriverEvent) -> Result<(), DriverError> {
        match event {
            DriverEvent::Input(input) => self.step(input),
            DriverEvent::Fetched { seq, digest, txs } => {
                if self.fetching == Some((seq, digest)) {
                    self.fetching = None;
                    self.fetch_done = Some((seq, digest));
                    if self.fetched.len() + txs.len() > MAX_FETCHED {
                        self.fetched.clear();
                    }
                    for tx in txs {
                        self.fetched.insert(tx.hash(), tx);
                    }
                    self.run_executions()?;
                }
                Ok(())
            }
            DriverEvent::CatchUp(event) => self.on_catch_up(event),
        }
    }

    /// Steps the replica and carries out what it returns, feeding answers back in.
    fn step(&mut self, input: Input) -> Result<(), DriverError> {
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            let ready = self.replica.step(input);
            let answers = self.carry_out(ready)?;
            pending.extend(answers.into_iter().rev());
        }
        Ok(())
    }

    fn carry_out(&mut self, ready: Ready) -> Result<Vec<Input>, DriverError> {
        let Ready {
            persist,
            commit,
            stable_checkpoint,
            then_send,
            propose,
            execute,
            view_changes,
            entered_view,
            faults,
            ignored,
            transfer,
            recovery,
            membership,
            epoch_started,
        } = ready;
        self.on_membership_events(&membership, epoch_started);
        self.on_recovery_events(&recovery);
        if let Some(request) = transfer {
            self.start_transfer(request);
        }
        for ignored in &ignored {
            tracing::trace!(?ignored, "ignored");
            let reason = ignored.reason().name();
            let label = crate::metrics::ReasonLabel { reason };
            self.shared.metrics.ignored.get_or_create(&label).inc();
        }
        if entered_view.is_some() {
            let mut pool = self.shared.mempool.lock().expect("mempool lock");
            pool.release_all_proposals();
        }
        for entry in persist {
            if let consensus::PersistEntry::Message(signed) = &entry {
                if signed.kind == consensus::MessageKind::PrePrepare {
                    if let Ok(m) = consensus::Message::from_canonical_bytes(&signed.payload) {
                        self.accepted_at
                            .entry(m.seq().0)
                            .or_insert_with(std::time::Instant::now);
                    }
                }
            }
            self.log.push_entry(entry);
        }
        let mut answers = Vec::new();
        if !commit.is_empty() {
            // What this step persists (this replica's COMMIT and prepared
            // certificate among it) is durable before the block is: a crash in
            // between must never leave a block on disk that the consensus log
            // cannot account for in a view change.
            let store = self.shared.store.read().expect("store lock");
            self.log.flush(&store)?;
        }
        for block in &commit {
            let written = self.write_commit(block)?;
            for tx in written.txs.iter() {
                self.fetched.remove(&tx.hash());
            }
            self.log.push_committed(block);
            if let Some(at) = self.accepted_at.remove(&block.seq.0) {
                let latency = at.elapsed().as_secs_f64();
                self.shared.metrics.commit_latency.observe(latency);
            }
            self.accepted_at.retain(|seq, _| *seq > block.seq.0);
            tracing::debug!(
                height = block.seq.0,
                txs = written.txs.len(),
                view = block.view.0,
                "committed"
            );
        }
        if !commit.is_empty() {
            self.follow_membership()?;
        }
        if let Some(stable) = stable_checkpoint {
            *self.shared.stable_checkpoint.write().expect("lock") = Some(stable);
        }
        self.outbox.extend(then_send);
        if let Some(request) = propose {
            let proposal = self.propose(request);
            tracing::debug!(
                seq = request.seq.0,
                txs = proposal.batch.tx_hashes.len(),
                "proposed"
            );
            answers.push(Input::Proposal {
                seq: request.seq,
                batch: proposal.batch,
                result: proposal.result,
            });
        }
        for change in &view_changes {
            tracing::warn!(
                from = change.from.0,
                to = change.to.0,
                reason = change.reason.name(),
                "view change"
            );
            self.shared
                .metrics
                .view_changes
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: change.reason.name(),
                })
                .inc();
            self.shared.events.publish(Event::ViewChange {
                from: change.from.0,
                to: change.to.0,
                reason: change.reason.name().to_owned(),
            });
        }
        if let Some(view) = entered_view {
            tracing::info!(view = view.0, "entered view");
            let epoch = self
                .replica
                .membership()
                .at(self.replica.last_committed().next());
            self.shared.events.publish(Event::NewView {
                view: view.0,
                primary: epoch.primary(view).0,
            });
        }
        for fault in &faults {
            let membership = self.replica.membership();
            self.evidence.on_fault(&self.shared, membership, fault);
        }
        for request in execute {
            // A request at a height replaces any waiting at or above it.
            self.executions.retain(|r| r.seq < request.seq);
            if self.fetching.is_some_and(|(seq, _)| seq >= request.seq) {
                self.fetching = None;
            }
            self.executions.push_back(request);
        }
        answers.extend(self.executions_ready()?);
        Ok(answers)
    }

    /// Answers waiting execution requests in order until one needs bodies from a
    /// peer; starts that fetch.
    fn executions_ready(&mut self) -> Result<Vec<Input>, DriverError> {
        let mut answers = Vec::new();
        if self.fetching.is_some() {
            return Ok(answers);
        }
        while let Some(request) = self.executions.front() {
            let missing: Vec<Hash> = {
                let pool = self.shared.mempool.lock().expect("mempool lock");
                self.executor.missing(&pool, &self.fetched, request)
            };
            let fetched_already = self.fetch_done == Some((request.seq, request.digest));
            if !missing.is_empty() && !fetched_already {
                let request = request.clone();
                self.fetching = Some((request.seq, request.digest));
                catch_up::fetch_bodies(
                    self.net.clone(),
                    self.shared.clone(),
                    self.events_tx.clone(),
                    request,
                    missing,
                );
                break;
            }
            let request = self.executions.pop_front().expect("front exists");
            if self.fetch_done == Some((request.seq, request.digest)) {
                self.fetch_done = None;
            }
            let tip = self.shared.store.read().expect("store lock").tip().height;
            if request.seq.0 <= tip {
                // The ledger holds this height already (a transfer wrote it): the
                // request is stale, and the replica does not wait for it.
                tracing::debug!(seq = request.seq.0, tip, "stale execution dropped");
                continue;
            }
            let outcome = self.execute(&request)?;
            answers.push(Input::Executed {
                seq: request.seq,
                digest: request.digest,
                outcome,
            });
        }
        Ok(answers)
    }

    fn run_executions(&mut self) -> Result<(), DriverError> {
        let answers = self.executions_ready()?;
        for answer in answers {
            self.step(answer)?;
        }
        Ok(())
    }

    /// Persists the round's entries (synced), then sends its messages.
    fn finish_round(&mut self) -> Result<(), DriverError> {
        {
            let store = self.shared.store.read().expect("store lock");
            self.log.flush(&store)?;
        }
        // `Target::All` means the replica's peers: the members of the epoch in
        // force and of the later ones it knows (a joiner included), not whoever
        // the network happens to dial.
        let peers = if self.outbox.iter().any(|o| matches!(o.to, Target::All)) {
            self.replica.peers()
        } else {
            Vec::new()
        };
        for outgoing in self.outbox.drain(..) {
            let frame: bytes::Bytes = PeerMessage::Consensus(outgoing.message)
                .to_canonical_bytes()
                .into();
            match outgoing.to {
                Target::All => {
                    for to in &peers {
                        self.net.send(*to, frame.clone());
                    }
                }
                Target::One(to) => self.net.send(to, frame),
            }
        }
        self.publish();
        Ok(())
    }

    /// Writes the replica's state where the API reads it.
    fn publish(&self) {
        let replica = &self.replica;
        let view = replica.view();
        let epoch = replica.membership().at(replica.last_committed().next());
        let mut info = self.shared.consensus.write().expect("lock");
        info.view = view.0;
        info.primary = epoch.primary(view).0;
        info.changing_view = replica.is_changing_view();
        info.last_committed = replica.last_committed().0;
        info.low_watermark = replica.low_watermark().0;
        info.high_watermark = replica.high_watermark().0;
        info.in_flight = replica.held_heights().iter().map(|s| s.0).collect();
        info.stable_checkpoint = replica.stable_checkpoint().map(|c| c.seq.0);
        for reason in consensus::ViewChangeReason::ALL {
            let count = self
                .shared
                .metrics
                .view_changes
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: reason.name(),
                })
                .get();
            info.view_changes.insert(reason.name().to_owned(), count);
        }
        info.recovery = replica
            .recovery_status()
            .map(|r| crate::status::RecoveryInfo {
                reason: r.reason.name().to_owned(),
                phase: r.phase.name().to_owned(),
                round: r.round,
                target_height: r.target.map(|seq| seq.0),
            });
        for reason in consensus::RecoveryReason::ALL {
            let count = self
                .shared
                .metrics
                .recoveries
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: reason.name(),
                })
                .get();
            info.recoveries.insert(reason.name().to_owned(), count);
        }
        let phase = replica.recovery_status().map_or(0, |r| r.phase.number());
        self.shared.metrics.recovery_phase.set(phase);
        self.shared.metrics.view.set(view.0 as i64);
    }
}
