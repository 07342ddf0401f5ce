//! The speculative execution stack (DESIGN.md section 3 steps 2 and 4): the
//! primary's proposals built from the pool, batches executed on speculative state,
//! and the check that what the replica commits is what this host executed.
//!
//! Speculative state is a stack of [`StateDelta`]s above the committed ledger, one
//! per executed height that has not committed yet. A request at a height replaces
//! what was executed there and above (a view change may re-order).

use super::ledger::{Ledger, LedgerWrite};
use crate::mempool::{AdmitError, Mempool};
use consensus::{CommittedBlock, ExecOutcome, ExecuteRequest, ProposalRequest, ReplicaId};
use crypto::{BoundedVec, Hash, PublicKey};
use ledger::{
    Block, BlockExecutor, ExecEnv, Genesis, StateDelta, StateView, TxError, ValidatorChange,
    ValidatorInfo, VerifiedTx,
};
use std::collections::{BTreeMap, HashMap};

/// A height executed but not committed.
struct Speculative {
    digest: Hash,
    block: Block,
    delta: StateDelta,
    /// The validator set after the block when it changed it (its governance
    /// transactions), for `ExecOutcome::Valid::validators`.
    validators: Option<Vec<PublicKey>>,
}

/// The executor: what it keeps between the replica's steps. The pool records which
/// of its transactions this node's uncommitted proposals hold
/// ([`Mempool::mark_proposed`]).
pub struct Executor {
    chain_id: String,
    admin: PublicKey,
    speculative: BTreeMap<u64, Speculative>,
    #[cfg(feature = "test-faults")]
    faults: super::faults::HostFaults,
}

/// The primary's proposal at a height.
pub struct Proposal {
    pub batch: consensus::Batch,
    /// The state root after the batch.
    pub result: Hash,
    /// Pooled transactions that can never execute, dropped from the pool.
    pub dropped: Vec<(Hash, AdmitError)>,
}

/// Why an execution request cannot be carried out: the replica asked for a height
/// before the heights under it executed (only a broken replica does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the replica asked to execute height {0} before the heights under it")]
pub struct OutOfOrder(pub u64);

/// Why committing failed. The node cannot go on without its ledger.
#[derive(Debug, thiserror::Error)]
pub enum CommitError<E: std::error::Error + 'static> {
    #[error("the replica committed height {0}, which this node never executed")]
    NotExecuted(u64),
    #[error("height {seq}: the replica committed {committed}, this node executed {executed}")]
    Diverged {
        seq: u64,
        committed: Hash,
        executed: Hash,
    },
    #[error("writing block {height}: {source}")]
    Store {
        height: u64,
        #[source]
        source: E,
    },
}

/// A block written: it and the pooled transactions its commit made stale.
pub struct Committed {
    pub block: Block,
    pub dropped: Vec<(Hash, AdmitError)>,
}

/// The validator set after `delta` on top of `before`, if the block changed it.
fn changed_set(before: &[ValidatorInfo], delta: &StateDelta) -> Option<Vec<PublicKey>> {
    (!delta.validator_changes.is_empty()).then(|| {
        ValidatorChange::apply_all(before, &delta.validator_changes)
            .iter()
            .map(|v| v.public_key)
            .collect()
    })
}

impl Executor {
    pub fn new(genesis: &Genesis) -> Executor {
        Executor {
            chain_id: genesis.chain_id.to_string(),
            admin: genesis.admin,
            speculative: BTreeMap::new(),
            #[cfg(feature = "test-faults")]
            faults: Default::default(),
        }
    }

    /// Plants a bug in this executor (the simulator's test that it catches one).
    #[cfg(feature = "test-faults")]
    pub fn plant(&mut self, faults: super::faults::HostFaults) {
        self.faults = faults;
    }

    fn env<'a>(&'a self, validators: &'a [ValidatorInfo]) -> ExecEnv<'a> {
        ExecEnv {
            chain_id: &self.chain_id,
            admin: self.admin,
            validators,
        }
    }

    /// The validator set a block at `seq` executes with: the committed one with the
    /// changes of the speculative blocks below `seq` (every replica executes a
    /// height on the same set, whether or not the heights under it committed yet).
    pub fn validators_before(&self, ledger: &impl Ledger, seq: u64) -> Vec<ValidatorInfo> {
        let changes: Vec<ValidatorChange> = (ledger.tip().height + 1..seq)
            .filter_map(|height| self.speculative.get(&height))
            .flat_map(|s| s.delta.validator_changes.iter().cloned())
            .collect();
        ValidatorChange::apply_all(ledger.validators(), &changes)
    }

    fn view_before<'s>(&'s self, ledger: &'s impl Ledger, seq: u64) -> Option<StateView<'s>> {
        let mut view = ledger.state().view();
        for height in ledger.tip().height + 1..seq {
            view = view.with_layer(&self.speculative.get(&height)?.delta);
        }
        Some(view)
    }

    fn parent_of(&self, ledger: &impl Ledger, seq: u64) -> Option<Hash> {
        let tip = ledger.tip();
        #[cfg(feature = "test-faults")]
        if self.faults.parent_is_tip {
            return Some(tip.hash);
        }
        if seq == tip.height + 1 {
            Some(tip.hash)
        } else {
            self.speculative.get(&(seq - 1)).map(|s| s.block.hash())
        }
    }

    /// Builds the primary's batch at `request.seq` from the pool, in arrival order,
    /// keeping what executes on the speculative state; pooled transactions that can
    /// never execute are dropped from the pool with their reason. `me` is this
    /// node's roster id and `key` its public key (the block's proposer).
    pub fn propose(
        &mut self,
        ledger: &impl Ledger,
        pool: &mut Mempool,
        me: ReplicaId,
        key: PublicKey,
        now_ms: u64,
        request: ProposalRequest,
    ) -> Proposal {
        let seq = request.seq.0;
        let validators = self.validators_before(ledger, seq);
        let mut chosen: Vec<VerifiedTx> = Vec::new();
        let mut stale: Vec<(Hash, TxError)> = Vec::new();
        let delta = {
            let view = self
                .view_before(ledger, seq)
                .expect("the replica proposes only on a state its host executed");
            let mut executor = BlockExecutor::new(&view, self.env(&validators));
            for tx in pool.unproposed() {
                if chosen.len() as u32 >= request.max_txs {
                    break;
                }
                match executor.apply(tx) {
                    Ok(()) => chosen.push(tx.clone()),
                    // A nonce from the future may become valid; keep it.
                    Err(TxError::BadNonce { expected, got }) if got > expected => {}
                    Err(error) => stale.push((tx.hash(), error)),
                }
            }
            executor.finish()
        };
        let dropped = stale
            .into_iter()
            .filter_map(|(hash, error)| {
                let reason = pool.drop_invalid(&hash, error.to_string())?;
                Some((hash, reason))
            })
            .collect();
        for tx in &chosen {
            pool.mark_proposed(&tx.hash(), seq);
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
            self.parent_of(ledger, seq).expect("parent executed"),
            digest,
            now_ms,
            key,
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
                validators: changed_set(&validators, &delta),
                delta,
            },
        );
        Proposal {
            batch,
            result,
            dropped,
        }
    }

    /// The transactions of `request`'s batch found neither in the pool nor in
    /// `fetched`.
    pub fn missing(
        &self,
        pool: &Mempool,
        fetched: &HashMap<Hash, VerifiedTx>,
        request: &ExecuteRequest,
    ) -> Vec<Hash> {
        if self.already_executed(request) {
            return Vec::new();
        }
        request
            .batch
            .tx_hashes
            .iter()
            .filter(|hash| pool.get(hash).is_none() && !fetched.contains_key(*hash))
            .copied()
            .collect()
    }

    fn already_executed(&self, request: &ExecuteRequest) -> bool {
        self.speculative
            .get(&request.seq.0)
            .is_some_and(|done| done.digest == request.digest)
    }

    /// Executes a batch on the state after `seq - 1`, skipping transactions that
    /// fail (`ledger::execute_batch`). Bodies come from the pool or `fetched`
    /// (bodies obtained elsewhere, verified); a body found nowhere, or a proposer
    /// `proposer_key` does not know, makes the batch invalid.
    pub fn execute(
        &mut self,
        ledger: &impl Ledger,
        pool: &Mempool,
        fetched: &HashMap<Hash, VerifiedTx>,
        proposer_key: impl Fn(ReplicaId) -> Option<PublicKey>,
        request: &ExecuteRequest,
    ) -> Result<ExecOutcome, OutOfOrder> {
        let seq = request.seq.0;
        if let Some(done) = self.speculative.get(&seq) {
            if done.digest == request.digest {
                return Ok(ExecOutcome::Valid {
                    state_root: done.delta.state_root,
                    block_hash: done.block.hash(),
                    validators: done.validators.clone(),
                });
            }
        }
        // Another batch at this height replaces whatever was executed there.
        self.speculative.split_off(&seq);
        let (Some(parent), Some(view)) =
            (self.parent_of(ledger, seq), self.view_before(ledger, seq))
        else {
            return Err(OutOfOrder(seq));
        };
        let mut txs = Vec::with_capacity(request.batch.tx_hashes.len());
        for hash in request.batch.tx_hashes.iter() {
            match pool.get(hash).or_else(|| fetched.get(hash)) {
                Some(tx) => txs.push(tx.clone()),
                None => return Ok(ExecOutcome::Invalid),
            }
        }
        // The proposer is a roster id (stable across membership changes).
        let Some(proposer) = proposer_key(request.batch.proposer) else {
            return Ok(ExecOutcome::Invalid);
        };
        let validators = self.validators_before(ledger, seq);
        let outcome = ledger::execute_batch(&view, self.env(&validators), &txs);
        let block = Block::assemble(
            seq,
            parent,
            request.digest,
            request.batch.timestamp_ms,
            proposer,
            outcome
                .applied
                .into_iter()
                .map(VerifiedTx::into_signed)
                .collect(),
            outcome.delta.state_root,
        );
        let changed = changed_set(&validators, &outcome.delta);
        let result = ExecOutcome::Valid {
            state_root: outcome.delta.state_root,
            block_hash: block.hash(),
            validators: changed.clone(),
        };
        self.speculative.insert(
            seq,
            Speculative {
                digest: request.digest,
                block,
                delta: outcome.delta,
                validators: changed,
            },
        );
        Ok(result)
    }

    /// Writes the block the replica committed to `ledger`, after checking it is the
    /// one this host executed, then settles the pool ([`super::pool::settle`]).
    pub fn commit<L: LedgerWrite>(
        &mut self,
        ledger: &mut L,
        pool: &mut Mempool,
        info: &CommittedBlock,
    ) -> Result<Committed, CommitError<L::Error>> {
        let seq = info.seq.0;
        let spec = self
            .speculative
            .remove(&seq)
            .ok_or(CommitError::NotExecuted(seq))?;
        if spec.digest != info.digest || spec.block.hash() != info.block_hash {
            return Err(CommitError::Diverged {
                seq,
                committed: info.block_hash,
                executed: spec.block.hash(),
            });
        }
        ledger
            .append(&spec.block, info, spec.delta)
            .map_err(|source| CommitError::Store {
                height: seq,
                source,
            })?;
        let dropped = self.settle(ledger, pool, std::slice::from_ref(&spec.block));
        pool.release_proposals_through(seq);
        Ok(Committed {
            block: spec.block,
            dropped,
        })
    }

    /// The pool after `blocks` committed ([`super::pool::settle`]).
    pub fn settle(
        &self,
        ledger: &impl Ledger,
        pool: &mut Mempool,
        blocks: &[Block],
    ) -> Vec<(Hash, AdmitError)> {
        #[cfg(feature = "test-faults")]
        if self.faults.keep_stale {
            pool.remove_committed(
                blocks
                    .iter()
                    .flat_map(Block::tx_hashes)
                    .collect::<Vec<_>>()
                    .iter(),
            );
            return Vec::new();
        }
        super::pool::settle(ledger, pool, blocks.iter())
    }

    /// Drops every speculative execution and every proposal's hold on the pool
    /// (after state transfer moved the ledger).
    pub fn reset(&mut self, pool: &mut Mempool) {
        self.speculative.clear();
        pool.release_all_proposals();
    }
}
