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
//!
//! Its parts, one job each:
//!
//! - this file: the event loop and its rounds;
//! - `carrier`: how the node carries out each part of a step's
//!   [`consensus::Ready`]; the order (persist, commit, send, answer) is
//!   [`crate::host::carry`]'s, shared with the simulator;
//! - `host_calls`: the calls into the host core ([`crate::host`]), which builds
//!   proposals, executes and writes commits, under the store and pool locks;
//! - `exec`: blocks written to the store and announced (events, metrics), for
//!   the replica's commits and for transferred blocks alike;
//! - `log`: the replica's consensus log in RocksDB (what `Ready::persist` asks);
//! - `bodies`: execution requests waiting their turn, and bodies fetched for them;
//! - `catch_up`: fetching missing bodies and running the state transfer the
//!   replica asks for (`transfer`: copying and checking the blocks);
//! - `membership`: the network's roster following the ledger's governance;
//! - `observe`: metrics, logs, events and the published consensus state, which
//!   watch each step and change nothing.
//!
//! Serving peers' fetches is [`crate::serve`], at the network edge; a validator
//! that joins syncs as an observer before it has a driver ([`crate::join`]).

mod bodies;
mod carrier;
mod catch_up;
mod exec;
mod host_calls;
mod log;
mod membership;
mod observe;
pub mod transfer;

pub use exec::{write_block, CommitError};
pub use log::{ConsensusLog, LogError};
pub use transfer::CatchUpEvent;

use crate::host::Executor;
use crate::net::NetHandle;
use crate::shared::Shared;
use crate::wire::PeerMessage;
use bodies::{Executions, Next};
use consensus::{Input, Outgoing, Replica, ReplicaConfig, SeqNo, Target};
use crypto::{Canonical, Hash, SigningKey};
use ledger::VerifiedTx;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Events queued in one round at most.
const ROUND_EVENTS: usize = 512;
/// How often the replica is told the time.
const TICK: Duration = Duration::from_millis(5);

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
    /// Execution requests waiting, and the bodies fetched for them.
    executions: Executions,
    /// The state transfer in progress, if any.
    transfer: catch_up::TransferState,
    /// When each height's pre-prepare was accepted (commit latency metric).
    accepted_at: HashMap<u64, std::time::Instant>,
    /// Messages to send at the end of the round.
    outbox: Vec<Outgoing>,
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
        let mut replica = Replica::new(config, key, restored, Shared::now_ms())
            .map_err(|e| DriverError::Replica(e.to_string()))?;
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
            executions: Executions::default(),
            transfer: catch_up::TransferState::default(),
            accepted_at: HashMap::new(),
            outbox: Vec::new(),
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
        crate::host::carry::begin(&mut self, Shared::now_ms())?;
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
                if self.executions.on_fetched(seq, digest, txs) {
                    self.run_executions()?;
                }
                Ok(())
            }
            DriverEvent::CatchUp(event) => self.on_catch_up(event),
        }
    }

    /// Steps the replica and carries out what it returns, feeding answers back in
    /// ([`crate::host::carry`] fixes the order; `carrier` says how).
    fn step(&mut self, input: Input) -> Result<(), DriverError> {
        crate::host::carry::drive(self, input)
    }

    /// Answers waiting execution requests in order until one needs bodies from a
    /// peer; starts that fetch.
    fn executions_ready(&mut self) -> Result<Vec<Input>, DriverError> {
        let mut answers = Vec::new();
        loop {
            let next = {
                let pool = self.shared.mempool.lock().expect("mempool lock");
                let executor = &self.executor;
                self.executions
                    .next(|request, fetched| executor.missing(&pool, fetched, request))
            };
            let request = match next {
                Next::Wait => break,
                Next::Fetch(request, missing) => {
                    catch_up::fetch_bodies(
                        self.net.clone(),
                        self.shared.clone(),
                        self.events_tx.clone(),
                        request,
                        missing,
                    );
                    break;
                }
                Next::Execute(request) => request,
            };
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
}
