//! One simulated validator: the real replica, with a host that does what the node
//! will do, over the real ledger execution on an in-memory state.
//!
//! What survives a crash is what a node keeps on disk: the committed ledger (blocks
//! and state) and the replica's [`PersistedState`]. The pool, the speculative
//! executions and the replica's memory are lost.

use consensus::{
    CommittedBlock, ExecOutcome, ExecuteRequest, Input, MembershipChange, PersistedState,
    ProposalRequest, Ready, Replica, ReplicaConfig, SeqNo,
};
use crypto::{BoundedVec, Hash, PublicKey, SigningKey};
use ledger::{
    Block, BlockExecutor, ExecEnv, Genesis, State, StateDelta, TxError, ValidatorChange,
    ValidatorInfo, VerifiedTx,
};
use std::collections::{BTreeMap, HashMap};

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

/// A block this node executed but has not committed.
struct Speculative {
    digest: Hash,
    block: Block,
    delta: StateDelta,
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

#[derive(Default)]
struct Pool {
    /// Arrival order → hash.
    order: BTreeMap<u64, Hash>,
    txs: HashMap<Hash, (u64, u64, VerifiedTx)>,
    next_order: u64,
    /// In a proposal of this node that has not committed yet.
    proposed: HashMap<Hash, u64>,
}

pub struct SimNode {
    pub index: usize,
    key: SigningKey,
    pub replica: Option<Replica>,
    pub persisted: PersistedState,
    pub ledger: SimLedger,
    pool: Pool,
    speculative: BTreeMap<u64, Speculative>,
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
}

/// A commit the world must check, with the block the host wrote.
pub struct Committed {
    pub block: Block,
    pub info: CommittedBlock,
}

impl SimNode {
    pub fn new(index: usize, key: SigningKey, chain: &Chain, switches: Switches) -> SimNode {
        let mut node = SimNode::dormant(index, key, chain, switches);
        node.start(chain);
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
            pool: Pool::default(),
            speculative: BTreeMap::new(),
            switches,
            incarnation: 0,
            host_errors: Vec::new(),
            wiped: false,
        }
    }

    /// Starts (or restarts) the replica from what was persisted.
    pub fn start(&mut self, chain: &Chain) {
        let mut config = chain.config.clone();
        config.me = consensus::ReplicaId(self.index as u32);
        // A host passes the governance changes its ledger holds.
        config.changes = self.ledger.changes.clone();
        let restored =
            (self.persisted != PersistedState::default()).then(|| self.persisted.clone());
        let mut replica = Replica::new(config, self.key.clone(), restored)
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
        self.pool = Pool::default();
        self.speculative.clear();
    }

    pub fn is_up(&self) -> bool {
        self.replica.is_some()
    }

    /// Admits a transaction to the pool (the sim verified its signature once).
    pub fn admit(&mut self, tx: VerifiedTx, now_ms: u64) {
        let hash = tx.hash();
        if self.pool.txs.contains_key(&hash) || !self.is_up() {
            return;
        }
        let order = self.pool.next_order;
        self.pool.next_order += 1;
        self.pool.order.insert(order, hash);
        self.pool.txs.insert(hash, (order, now_ms, tx));
    }

    /// What the replica is told about the pool.
    ///
    /// Found without walking the pool, which grows to thousands while a replica is
    /// cut off: the proposed transactions are a few batches, and arrival order is
    /// time order, so the oldest waiting one is the first in order not proposed.
    pub fn pool_report(&self) -> Input {
        let proposed = self.pool.proposed.keys();
        let in_pool = proposed.filter(|h| self.pool.txs.contains_key(*h)).count();
        let count = self.pool.txs.len() - in_pool;
        let oldest_ms = self
            .pool
            .order
            .values()
            .find(|h| !self.pool.proposed.contains_key(*h))
            .map_or(0, |h| self.pool.txs[h].1);
        Input::TxsAvailable { count, oldest_ms }
    }

    /// Steps the replica and carries out its outputs, feeding the answers to
    /// proposal and execution requests back in until it asks for nothing more.
    /// Appends every output to `readies` (for the checks; the caller's buffer, as an
    /// output is large and most steps make one or two) and returns the blocks
    /// committed.
    pub fn step(
        &mut self,
        chain: &Chain,
        bodies: &HashMap<Hash, VerifiedTx>,
        now_ms: u64,
        input: Input,
        readies: &mut Vec<Ready>,
    ) -> Vec<Committed> {
        let mut committed = Vec::new();
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            let Some(replica) = self.replica.as_mut() else {
                break;
            };
            let ready = replica.step(input);
            if ready.entered_view.is_some() {
                // Proposals of earlier views may have been dropped: their
                // transactions can be proposed again.
                self.pool.proposed.clear();
            }
            for entry in &ready.persist {
                self.persisted
                    .apply(entry)
                    .expect("the replica bounds what it asks to persist");
            }
            for info in &ready.commit {
                committed.push(self.commit(info));
            }
            let mut answers = Vec::new();
            if let Some(request) = ready.propose {
                answers.push(self.propose(chain, now_ms, request));
                // A proposal consumes the pool report: report what is left, so the
                // primary can go on proposing while earlier heights are in flight.
                answers.push(self.pool_report());
            }
            for request in &ready.execute {
                answers.push(self.execute(chain, bodies, request));
            }
            if !ready.commit.is_empty() {
                answers.push(self.pool_report());
            }
            // Answers go in in the order the replica asked for them.
            pending.extend(answers.into_iter().rev());
            readies.push(ready);
        }
        committed
    }

    fn env<'a>(chain: &'a Chain, validators: &'a [ValidatorInfo]) -> ExecEnv<'a> {
        ExecEnv {
            chain_id: &chain.genesis.chain_id,
            admin: chain.genesis.admin,
            validators,
        }
    }

    /// The validator set the ledger holds before height `seq`: the committed one
    /// with the changes of the speculative blocks below `seq`.
    fn validators_before(&self, seq: u64) -> Vec<ValidatorInfo> {
        let changes: Vec<ValidatorChange> = (self.ledger.height() + 1..seq)
            .filter_map(|h| self.speculative.get(&h))
            .flat_map(|s| s.delta.validator_changes.iter().cloned())
            .collect();
        ValidatorChange::apply_all(&self.ledger.validators, &changes)
    }

    /// The validator keys after a block with `delta`, if it changed them.
    fn changed_set(before: &[ValidatorInfo], delta: &StateDelta) -> Option<Vec<PublicKey>> {
        (!delta.validator_changes.is_empty()).then(|| {
            ValidatorChange::apply_all(before, &delta.validator_changes)
                .iter()
                .map(|v| v.public_key)
                .collect()
        })
    }

    /// The key of roster id `id`, as this node's replica knows the roster.
    fn roster_key(&self, chain: &Chain, id: consensus::ReplicaId) -> Option<PublicKey> {
        match &self.replica {
            Some(replica) => replica.roster().get(id.index()).copied(),
            None => chain.keys.get(id.index()).copied(),
        }
    }

    /// The parent of `seq` and the view to execute it on: committed state plus the
    /// speculative blocks between.
    fn parent_of(&self, seq: u64) -> Option<Hash> {
        if seq == self.ledger.height() + 1 {
            Some(self.ledger.tip().hash())
        } else {
            self.speculative.get(&(seq - 1)).map(|s| s.block.hash())
        }
    }

    fn view_before(&self, seq: u64) -> Option<ledger::StateView<'_>> {
        let mut view = self.ledger.state.view();
        for height in self.ledger.height() + 1..seq {
            view = view.with_layer(&self.speculative.get(&height)?.delta);
        }
        Some(view)
    }

    fn propose(&mut self, chain: &Chain, now_ms: u64, request: ProposalRequest) -> Input {
        let seq = request.seq.0;
        let me = consensus::ReplicaId(self.index as u32);
        let mut chosen: Vec<VerifiedTx> = Vec::new();
        let mut stale: Vec<Hash> = Vec::new();
        let validators = self.validators_before(seq);
        let delta = {
            let view = self
                .view_before(seq)
                .expect("the replica proposes only on a state its host has");
            let mut executor = BlockExecutor::new(&view, Self::env(chain, &validators));
            for hash in self.pool.order.values() {
                if chosen.len() as u32 >= request.max_txs {
                    break;
                }
                if self.pool.proposed.contains_key(hash) {
                    continue;
                }
                let tx = &self.pool.txs[hash].2;
                match executor.apply(tx) {
                    Ok(()) => chosen.push(tx.clone()),
                    // A nonce from the future may become valid; keep it.
                    Err(TxError::BadNonce { expected, got }) if got > expected => {}
                    Err(_) => stale.push(*hash),
                }
            }
            executor.finish()
        };
        for hash in stale {
            self.remove_from_pool(&hash);
        }
        for tx in &chosen {
            self.pool.proposed.insert(tx.hash(), seq);
        }
        let batch = consensus::Batch {
            tx_hashes: BoundedVec::new(chosen.iter().map(VerifiedTx::hash).collect())
                .expect("max_txs is within the batch bound"),
            proposer: me,
            timestamp_ms: now_ms,
        };
        let digest = batch.digest();
        let block = Block::assemble(
            seq,
            self.parent_of(seq).expect("parent executed"),
            digest,
            now_ms,
            self.key.public_key(),
            chosen.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        let result = delta.state_root;
        self.speculative.split_off(&seq);
        self.speculative.insert(
            seq,
            Speculative {
                digest,
                block,
                delta,
            },
        );
        Input::Proposal {
            seq: SeqNo(seq),
            batch,
            result,
        }
    }

    fn execute(
        &mut self,
        chain: &Chain,
        bodies: &HashMap<Hash, VerifiedTx>,
        request: &ExecuteRequest,
    ) -> Input {
        let seq = request.seq.0;
        let answer = |outcome| Input::Executed {
            seq: request.seq,
            digest: request.digest,
            outcome,
        };
        if let Some(done) = self.speculative.get(&seq) {
            if done.digest == request.digest {
                let before = self.validators_before(seq);
                return answer(ExecOutcome::Valid {
                    state_root: done.delta.state_root,
                    block_hash: done.block.hash(),
                    validators: Self::changed_set(&before, &done.delta),
                });
            }
        }
        // Another batch at this height replaces whatever was executed there.
        self.speculative.split_off(&seq);
        let (Some(parent), Some(view)) = (self.parent_of(seq), self.view_before(seq)) else {
            // Only a replica with a test-only fault switch gets here; the world
            // reports it rather than the host panicking.
            self.host_errors.push(format!(
                "node {} was asked to execute height {seq} before the heights under it",
                self.index
            ));
            return answer(ExecOutcome::Invalid);
        };
        // Skipping what fails (`ledger::execute_batch`); a transaction nobody has the
        // body of makes the batch malformed.
        let mut bodies_in_order = Vec::with_capacity(request.batch.tx_hashes.len());
        for hash in request.batch.tx_hashes.iter() {
            let body = self
                .pool
                .txs
                .get(hash)
                .map(|(_, _, tx)| tx)
                .or_else(|| bodies.get(hash));
            let Some(tx) = body else {
                return answer(ExecOutcome::Invalid);
            };
            bodies_in_order.push(tx.clone());
        }
        let validators = self.validators_before(seq);
        let outcome = ledger::execute_batch(&view, Self::env(chain, &validators), &bodies_in_order);
        let (delta, txs) = (outcome.delta, outcome.applied);
        let Some(proposer) = self.roster_key(chain, request.batch.proposer) else {
            return answer(ExecOutcome::Invalid);
        };
        let block = Block::assemble(
            seq,
            parent,
            request.digest,
            request.batch.timestamp_ms,
            proposer,
            txs.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        let outcome = ExecOutcome::Valid {
            state_root: delta.state_root,
            block_hash: block.hash(),
            validators: Self::changed_set(&validators, &delta),
        };
        self.speculative.insert(
            seq,
            Speculative {
                digest: request.digest,
                block,
                delta,
            },
        );
        answer(outcome)
    }

    fn commit(&mut self, info: &CommittedBlock) -> Committed {
        let seq = info.seq.0;
        assert_eq!(
            seq,
            self.ledger.height() + 1,
            "commits come in height order"
        );
        let spec = self
            .speculative
            .remove(&seq)
            .expect("a replica commits only what its host executed");
        assert_eq!(
            spec.digest, info.digest,
            "committed digest differs from executed"
        );
        assert_eq!(
            spec.block.hash(),
            info.block_hash,
            "committed block differs from executed"
        );
        self.pool
            .proposed
            .retain(|_, proposed_at| *proposed_at > seq);
        self.append(spec.block, spec.delta, info.clone())
    }

    /// Writes a committed block to the durable ledger (state, block, certificate)
    /// and to the persisted consensus state, and drops its transactions from the pool.
    fn append(&mut self, block: Block, delta: StateDelta, info: CommittedBlock) -> Committed {
        if let Some(set) = Self::changed_set(&self.ledger.validators, &delta) {
            self.ledger.validators =
                ValidatorChange::apply_all(&self.ledger.validators, &delta.validator_changes);
            self.ledger.changes.push(MembershipChange {
                height: SeqNo(block.header.height),
                validators: set,
            });
        }
        self.ledger.state.apply(delta);
        for tx in block.txs.iter() {
            self.remove_from_pool(&tx.hash());
        }
        self.persisted.record_commit(&info);
        self.ledger.blocks.push(block.clone());
        self.ledger.certificates.push(info.certificate.clone());
        Committed { block, info }
    }

    fn remove_from_pool(&mut self, hash: &Hash) {
        if let Some((order, _, _)) = self.pool.txs.remove(hash) {
            self.pool.order.remove(&order);
        }
        self.pool.proposed.remove(hash);
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
        let validators = self.ledger.validators.clone();
        let delta = ledger::execute_block(
            &self.ledger.state.view(),
            Self::env(chain, &validators),
            &txs,
        )
        .map_err(|e| format!("transferred block {height} does not execute: {e}"))?;
        if delta.state_root != block.header.state_root {
            return Err(format!("transferred block {height} has a wrong state root"));
        }
        Ok(self.append(block, delta, info))
    }

    /// After a state transfer: the speculative state is gone (the replica executes
    /// the heights above the checkpoint again), and so are the proposals. Returns
    /// the answer to the transfer request: the ledger's tip.
    pub fn finish_transfer(&mut self) -> Input {
        self.speculative.clear();
        self.pool.proposed.clear();
        let tip = self.ledger.tip();
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
