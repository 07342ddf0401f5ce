//! One simulated validator: the real replica, with the node's host core
//! (`node::host::Executor`) and pool (`node::mempool::Mempool`) over a ledger in
//! memory ([`SimLedger`], behind the host core's `Ledger` traits). What stays
//! here is what the simulator does instead of the node's I/O: persisting into a
//! [`PersistedState`] at once, and handing the outputs to the world to deliver.
//!
//! What survives a crash is what a node keeps on disk: the committed ledger (blocks
//! and state) and the replica's [`PersistedState`]. The pool, the speculative
//! executions and the replica's memory are lost.

use super::carrier::SimCarrier;
use consensus::{
    CommittedBlock, ExecOutcome, ExecuteRequest, Input, MembershipChange, PersistedState,
    ProposalRequest, Ready, Replica, ReplicaConfig, SeqNo,
};
use crypto::{Hash, PublicKey, SigningKey};
use ledger::{
    Block, ExecEnv, Genesis, State, StateDelta, Tip, ValidatorChange, ValidatorInfo, VerifiedTx,
};
use node::host::{Executor, Ledger, LedgerWrite};
use node::mempool::{AdmitError, Mempool, MempoolConfig};
use std::collections::HashMap;
use std::convert::Infallible;

/// Everything simulated transactions need that is the same on every node.
pub struct Chain {
    pub genesis: Genesis,
    /// The genesis validators.
    pub validators: Vec<ValidatorInfo>,
    /// Every simulated node's key, by node index. Nodes join in index order, so a
    /// node's roster id is its index.
    pub keys: Vec<PublicKey>,
    pub config: ReplicaConfig,
}

/// The committed ledger: durable.
pub struct SimLedger {
    pub state: State,
    pub blocks: Vec<Block>,
    /// The commit certificate of each block (empty for genesis).
    pub certificates: Vec<Vec<consensus::SignedMessage>>,
    /// The validator set after the last committed block.
    pub validators: Vec<ValidatorInfo>,
    /// Every committed governance change, in chain order.
    pub changes: Vec<MembershipChange>,
}

impl SimLedger {
    fn genesis(chain: &Chain, state: State, genesis_block: Block) -> SimLedger {
        SimLedger {
            state,
            blocks: vec![genesis_block],
            certificates: vec![Vec::new()],
            validators: chain.validators.clone(),
            changes: Vec::new(),
        }
    }

    pub fn tip(&self) -> &Block {
        self.blocks.last().expect("genesis is always there")
    }

    pub fn height(&self) -> u64 {
        self.tip().header.height
    }
}

impl Ledger for SimLedger {
    fn tip(&self) -> Tip {
        let tip = SimLedger::tip(self);
        Tip {
            height: tip.header.height,
            hash: tip.hash(),
        }
    }

    fn state(&self) -> &State {
        &self.state
    }

    fn validators(&self) -> &[ValidatorInfo] {
        &self.validators
    }
}

impl LedgerWrite for SimLedger {
    type Error = std::convert::Infallible;

    /// Writes a committed block (state, block, certificate, validator set).
    fn append(
        &mut self,
        block: &Block,
        info: &CommittedBlock,
        delta: StateDelta,
    ) -> Result<(), Self::Error> {
        assert_eq!(
            block.header.height,
            self.height() + 1,
            "commits come in height order"
        );
        if !delta.validator_changes.is_empty() {
            self.validators =
                ValidatorChange::apply_all(&self.validators, &delta.validator_changes);
            self.changes.push(MembershipChange {
                height: SeqNo(block.header.height),
                validators: self.validators.iter().map(|v| v.public_key).collect(),
            });
        }
        self.state.apply(delta);
        self.blocks.push(block.clone());
        self.certificates.push(info.certificate.clone());
        Ok(())
    }
}

/// The simulated nodes' pool limits: a node's defaults, but with no limit on how
/// far ahead of the node's committed nonce a transaction may be. A node far
/// behind (cut off for a thousand heights) refuses a client's transfers as too far
/// ahead and gets them again only from another pool seconds later; the simulated
/// clients send faster than a real client of a lagging node would, and the
/// recovery scenarios measure catching up, not that wait.
fn pool_config() -> MempoolConfig {
    MempoolConfig {
        max_nonce_gap: u64::MAX,
        ..MempoolConfig::default()
    }
}

pub struct SimNode {
    pub index: usize,
    key: SigningKey,
    pub replica: Option<Replica>,
    pub persisted: PersistedState,
    pub ledger: SimLedger,
    /// The node's pool, the one the node runs.
    pool: Mempool,
    /// The node's host core: proposals, the speculative stack, commits.
    executor: Executor,
    /// Test-only switches set on this node's replica at every start.
    switches: Switches,
    /// Starts so far: a transfer answer meant for an earlier run is dropped.
    pub incarnation: u64,
    /// Requests the host could not carry out (the world reports them).
    pub host_errors: Vec<String>,
    /// Its disk was wiped since it last started.
    wiped: bool,
}

/// Test-only switches of a simulated replica.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switches {
    /// Commit on q - 1 commits.
    pub broken: bool,
    /// Byzantine new primary: forge Q.
    pub forge_q: bool,
    /// Take NEW-VIEW's Q without recomputing it from V.
    pub skip_new_view_check: bool,
    /// Bugs planted in the node's host core.
    pub host: node::host::faults::HostFaults,
}

/// A commit the world must check, with the block the host wrote.
pub struct Committed {
    pub block: Block,
    pub info: CommittedBlock,
}

impl SimNode {
    pub fn new(index: usize, key: SigningKey, chain: &Chain, switches: Switches) -> SimNode {
        let mut node = SimNode::dormant(index, key, chain, switches);
        node.start(chain, 0);
        node
    }

    /// A node that has not started: a validator that joins later (DESIGN.md
    /// section 6) begins as one.
    pub fn dormant(index: usize, key: SigningKey, chain: &Chain, switches: Switches) -> SimNode {
        let state = chain.genesis.initial_state();
        let genesis_block = chain.genesis.block(&state);
        SimNode {
            index,
            key,
            replica: None,
            persisted: PersistedState::default(),
            ledger: SimLedger::genesis(chain, state, genesis_block),
            pool: Mempool::new(pool_config()),
            executor: Self::executor(chain, switches),
            switches,
            incarnation: 0,
            host_errors: Vec::new(),
            wiped: false,
        }
    }

    fn executor(chain: &Chain, switches: Switches) -> Executor {
        let mut executor = Executor::new(&chain.genesis);
        executor.plant(switches.host);
        executor
    }

    /// Starts (or restarts) the replica from what was persisted, its clock at
    /// `now_ms`.
    pub fn start(&mut self, chain: &Chain, now_ms: u64) {
        let mut config = chain.config.clone();
        config.me = consensus::ReplicaId(self.index as u32);
        // A host passes the governance changes its ledger holds.
        config.changes = self.ledger.changes.clone();
        let restored =
            (self.persisted != PersistedState::default()).then(|| self.persisted.clone());
        let mut replica = Replica::new(config, self.key.clone(), restored, now_ms)
            .expect("a replica restarts from what its host persisted");
        // The simulator knows what a node lost: only a wiped one may have signed
        // what it no longer holds (one that persisted nothing signed nothing).
        if std::mem::take(&mut self.wiped) {
            replica.start_amnesiac();
        }
        replica.set_unsafe_commit_quorum_minus_one(self.switches.broken);
        replica.set_byzantine_forge_q(self.switches.forge_q);
        replica.set_unsafe_skip_new_view_check(self.switches.skip_new_view_check);
        self.replica = Some(replica);
        self.incarnation += 1;
    }

    /// Loses everything that lives only in memory.
    pub fn crash(&mut self) {
        self.replica = None;
        self.executor.reset(&mut self.pool);
        self.pool = Mempool::new(pool_config());
    }

    pub fn is_up(&self) -> bool {
        self.replica.is_some()
    }

    /// Admits a transaction to the pool (the sim verified its signature once) as
    /// the node's pool does: against the sender's committed account. Returns why
    /// it was refused, if it was.
    pub fn admit(&mut self, tx: VerifiedTx, now_ms: u64) -> Result<(), AdmitError> {
        if !self.is_up() {
            return Ok(());
        }
        let account = self.ledger.account(&tx.tx().sender());
        self.pool.insert(tx, account, now_ms).map(|_| ())
    }

    /// The pooled transactions the node sends the others again now, as a node's
    /// network edge does every `REFORWARD_EVERY` (`node::edge::reforward`).
    pub fn take_to_reforward(&mut self, now_ms: u64) -> Vec<Hash> {
        self.pool
            .take_to_reforward(
                now_ms,
                node::edge::REFORWARD_AGE_MS,
                node::edge::REFORWARD_MAX,
            )
            .iter()
            .map(ledger::SignedTransaction::hash)
            .collect()
    }

    /// Whether the pool holds a transaction whose nonce the committed ledger has
    /// used: it can never commit, and a pool that keeps such ones fills up.
    pub fn stale_in_pool(&self) -> usize {
        self.pool
            .pending()
            .filter(|tx| tx.tx().nonce < self.ledger.account(&tx.tx().sender()).nonce)
            .count()
    }

    /// What the replica is told about the pool (the node's report).
    /// A new view may have dropped this node's proposals: their transactions may be
    /// proposed again.
    pub(super) fn release_proposals(&mut self) {
        self.pool.release_all_proposals();
    }

    pub fn pool_report(&self, chain: &Chain) -> Input {
        let cap = chain.config.batch_max_txs as usize;
        let (count, oldest_ms) = node::host::pool::available(&self.ledger, &self.pool, cap);
        Input::TxsAvailable { count, oldest_ms }
    }

    /// Runs `steps` (`node::host::carry::drive` or `begin`) on this node's
    /// carrier, at `now_ms`: the replica's outputs are carried out in the node's
    /// order, and the answers to proposal and execution requests fed back in until
    /// it asks for nothing more. Appends every output to `readies` (for the checks
    /// and the world's deliveries; the caller's buffer, as an output is large and
    /// most steps make one or two) and returns the blocks committed.
    pub(super) fn run(
        &mut self,
        chain: &Chain,
        bodies: &HashMap<Hash, VerifiedTx>,
        now_ms: u64,
        readies: &mut Vec<Ready>,
        steps: impl FnOnce(&mut SimCarrier, u64) -> Result<(), Infallible>,
    ) -> Vec<Committed> {
        let mut carrier = SimCarrier::new(self, chain, bodies, now_ms, readies);
        match steps(&mut carrier, now_ms) {
            Ok(()) => {}
            Err(never) => match never {},
        }
        carrier.into_committed()
    }

    pub(super) fn propose(&mut self, now_ms: u64, request: ProposalRequest) -> Input {
        let me = consensus::ReplicaId(self.index as u32);
        let proposal = self.executor.propose(
            &self.ledger,
            &mut self.pool,
            me,
            self.key.public_key(),
            now_ms,
            request,
        );
        Input::Proposal {
            seq: request.seq,
            batch: proposal.batch,
            result: proposal.result,
        }
    }

    /// Executes a batch; the simulator's network has every body (`bodies`), as a
    /// node fetches what its pool lacks from its peers.
    pub(super) fn execute(
        &mut self,
        chain: &Chain,
        bodies: &HashMap<Hash, VerifiedTx>,
        request: &ExecuteRequest,
    ) -> Input {
        let replica = self.replica.as_ref();
        // The key of a roster id as this node's replica knows the roster.
        let proposer_key = |id: consensus::ReplicaId| match replica {
            Some(replica) => replica.roster().get(id.index()).copied(),
            None => chain.keys.get(id.index()).copied(),
        };
        let executed =
            self.executor
                .execute(&self.ledger, &self.pool, bodies, proposer_key, request);
        let outcome = executed.unwrap_or_else(|error| {
            // Only a replica with a test-only fault switch gets here; the world
            // reports it rather than the host panicking.
            self.host_errors
                .push(format!("node {}: {error}", self.index));
            ExecOutcome::Invalid
        });
        Input::Executed {
            seq: request.seq,
            digest: request.digest,
            outcome,
        }
    }

    pub(super) fn commit(&mut self, info: &CommittedBlock) -> Committed {
        let written = match self.executor.commit(&mut self.ledger, &mut self.pool, info) {
            Ok(written) => written,
            Err(error) => panic!("node {}: {error}", self.index),
        };
        self.persisted.record_commit(info);
        Committed {
            block: written.block,
            info: info.clone(),
        }
    }
}

impl SimNode {
    /// Applies a block obtained by state transfer after checking it against the
    /// hash chain and by re-executing it; the caller checks its certificate
    /// (`info.certificate`).
    pub fn apply_transferred(
        &mut self,
        chain: &Chain,
        block: Block,
        info: CommittedBlock,
    ) -> Result<Committed, String> {
        let height = block.header.height;
        if height != self.ledger.height() + 1 || block.header.parent != self.ledger.tip().hash() {
            return Err(format!(
                "transferred block {height} does not extend the tip"
            ));
        }
        if !block.body_matches_header() {
            return Err(format!(
                "transferred block {height} body does not match its header"
            ));
        }
        let txs: Vec<VerifiedTx> = ledger::VerifiedTx::verify_many(block.txs.to_vec())
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|_| format!("transferred block {height} holds a badly signed transaction"))?;
        let env = ExecEnv {
            chain_id: &chain.genesis.chain_id,
            admin: chain.genesis.admin,
            validators: &self.ledger.validators,
        };
        let delta = ledger::execute_block(&self.ledger.state.view(), env, &txs)
            .map_err(|e| format!("transferred block {height} does not execute: {e}"))?;
        if delta.state_root != block.header.state_root {
            return Err(format!("transferred block {height} has a wrong state root"));
        }
        let Ok(()) = self.ledger.append(&block, &info, delta);
        node::host::pool::settle(&self.ledger, &mut self.pool, std::iter::once(&block));
        self.persisted.record_commit(&info);
        Ok(Committed { block, info })
    }

    /// After a state transfer: the speculative state is gone (the replica executes
    /// the heights above the checkpoint again), and so are the proposals. Returns
    /// the answer to the transfer request: the ledger's tip.
    pub fn finish_transfer(&mut self) -> Input {
        self.executor.reset(&mut self.pool);
        let tip = SimLedger::tip(&self.ledger);
        Input::Transferred {
            seq: SeqNo(tip.header.height),
            block_hash: tip.hash(),
            timestamp_ms: tip.header.timestamp_ms,
            changes: self.ledger.changes.clone(),
        }
    }

    /// Loses everything, the disk included: the node comes back with the genesis
    /// ledger and no persisted consensus state.
    pub fn wipe(&mut self, chain: &Chain) {
        self.crash();
        let state = chain.genesis.initial_state();
        let genesis_block = chain.genesis.block(&state);
        self.ledger = SimLedger::genesis(chain, state, genesis_block);
        self.persisted = PersistedState::default();
        self.wiped = true;
    }
}
