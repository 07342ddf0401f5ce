//! Execution for the replica (DESIGN.md section 3 steps 2 and 4): proposals built
//! from the pool, batches executed on speculative state, and committed blocks
//! written to the store.
//!
//! Speculative state is a stack of [`StateDelta`]s above the store's committed
//! state, one per executed height that has not committed yet. A request at a
//! height replaces what was executed there and above (a view change may re-order).

use crate::events::Event;
use crate::shared::Shared;
use crate::wire::Certificate;
use consensus::{CommittedBlock, ExecOutcome, ExecuteRequest, ProposalRequest};
use crypto::{BoundedVec, Canonical, Hash};
use ledger::{
    Address, Block, BlockExecutor, ExecEnv, StateDelta, StateView, Store, StoreError, TxError,
    ValidatorChange, ValidatorInfo, VerifiedTx,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A height executed but not committed.
struct Speculative {
    digest: Hash,
    block: Block,
    delta: StateDelta,
    /// The validator set after the block when it changed it (its governance
    /// transactions), for `ExecOutcome::Valid::validators`.
    validators: Option<Vec<crypto::PublicKey>>,
}

/// What the executor keeps between steps. The pool records which of its
/// transactions this node's uncommitted proposals hold
/// ([`crate::mempool::Mempool::mark_proposed`]).
#[derive(Default)]
pub struct Executor {
    speculative: BTreeMap<u64, Speculative>,
}

/// What a proposal gave.
pub struct Proposal {
    pub batch: consensus::Batch,
    pub result: Hash,
}

/// Why committing failed. The node cannot go on without its ledger.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
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
        source: StoreError,
    },
}

/// What execution needs besides the state, for blocks on top of `store`.
pub(super) fn env<'a>(shared: &'a Shared, store: &'a Store) -> ExecEnv<'a> {
    ExecEnv {
        chain_id: &shared.genesis.chain_id,
        admin: shared.genesis.admin,
        validators: store.validators(),
    }
}

/// The validator set after `delta` on top of `before`, if the block changed it.
fn changed_set(before: &[ValidatorInfo], delta: &StateDelta) -> Option<Vec<crypto::PublicKey>> {
    (!delta.validator_changes.is_empty()).then(|| {
        ValidatorChange::apply_all(before, &delta.validator_changes)
            .iter()
            .map(|v| v.public_key)
            .collect()
    })
}

impl Executor {
    /// Forgets which pool transactions earlier proposals held (a new view may have
    /// dropped them).
    pub fn forget_proposals(&mut self, shared: &Shared) {
        let mut pool = shared.mempool.lock().expect("mempool lock");
        pool.release_all_proposals();
    }

    /// How many pooled transactions could go into the next proposal, and when the
    /// oldest of them arrived: those not proposed yet whose nonce follows the
    /// committed nonce without a gap (a transaction waiting for a missing nonce is
    /// not pending work; reporting it would make the primary cut empty batches and
    /// the backups suspect it). Counts up to a batch's worth: the replica asks no
    /// more than whether a batch is full.
    pub fn available(&self, shared: &Shared) -> (usize, u64) {
        let cap = shared.genesis.consensus.batch_max_txs as usize;
        let store = shared.store.read().expect("store lock");
        let pool = shared.mempool.lock().expect("mempool lock");
        pool.includable(
            |address| store.account(address).unwrap_or_default().nonce,
            cap,
        )
    }

    /// The validator set a block at `seq` executes with: the committed one with the
    /// changes of the speculative blocks below `seq` (every replica executes a
    /// height on the same set, whether or not the heights under it committed yet).
    fn validators_before(&self, store: &Store, seq: u64) -> Vec<ValidatorInfo> {
        let changes: Vec<ValidatorChange> = (store.tip().height + 1..seq)
            .filter_map(|height| self.speculative.get(&height))
            .flat_map(|s| s.delta.validator_changes.iter().cloned())
            .collect();
        ValidatorChange::apply_all(store.validators(), &changes)
    }

    fn view_before<'s>(&'s self, store: &'s Store, seq: u64) -> Option<StateView<'s>> {
        let mut view = store.state().view();
        for height in store.tip().height + 1..seq {
            view = view.with_layer(&self.speculative.get(&height)?.delta);
        }
        Some(view)
    }

    fn parent_of(&self, store: &Store, seq: u64) -> Option<Hash> {
        let tip = store.tip();
        if seq == tip.height + 1 {
            Some(tip.hash)
        } else {
            self.speculative.get(&(seq - 1)).map(|s| s.block.hash())
        }
    }

    /// Builds the primary's batch at `request.seq` from the pool, in arrival order,
    /// keeping what executes on the speculative state; pooled transactions that can
    /// never execute are dropped from the pool with their reason.
    pub fn propose(&mut self, shared: &Shared, now_ms: u64, request: ProposalRequest) -> Proposal {
        let seq = request.seq.0;
        let store = shared.store.read().expect("store lock");
        let validators = self.validators_before(&store, seq);
        let mut chosen: Vec<VerifiedTx> = Vec::new();
        let mut stale: Vec<(Hash, TxError)> = Vec::new();
        let delta = {
            let view = self
                .view_before(&store, seq)
                .expect("the replica proposes only on a state its host executed");
            let env = ExecEnv {
                validators: &validators,
                ..env(shared, &store)
            };
            let mut executor = BlockExecutor::new(&view, env);
            let pool = shared.mempool.lock().expect("mempool lock");
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
        {
            let mut pool = shared.mempool.lock().expect("mempool lock");
            for (hash, error) in stale {
                if let Some(reason) = pool.drop_invalid(&hash, error.to_string()) {
                    shared.events.publish(Event::TxDropped {
                        hash,
                        reason: reason.to_string(),
                    });
                }
            }
            for tx in &chosen {
                pool.mark_proposed(&tx.hash(), seq);
            }
        }
        let batch = consensus::Batch {
            tx_hashes: BoundedVec::new(chosen.iter().map(VerifiedTx::hash).collect())
                .expect("max_txs is within the batch bound"),
            proposer: shared
                .me()
                .expect("only a replica on the roster is asked for proposals"),
            timestamp_ms: now_ms,
        };
        let digest = batch.digest();
        let block = Block::assemble(
            seq,
            self.parent_of(&store, seq).expect("parent executed"),
            digest,
            now_ms,
            shared.public_key,
            chosen.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        drop(store);
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
        Proposal { batch, result }
    }

    /// The transactions of `request`'s batch this node has no body for.
    pub fn missing(&self, shared: &Shared, request: &ExecuteRequest) -> Vec<Hash> {
        if self.already_executed(request) {
            return Vec::new();
        }
        let pool = shared.mempool.lock().expect("mempool lock");
        request
            .batch
            .tx_hashes
            .iter()
            .filter(|hash| pool.get(hash).is_none())
            .copied()
            .collect()
    }

    fn already_executed(&self, request: &ExecuteRequest) -> bool {
        self.speculative
            .get(&request.seq.0)
            .is_some_and(|done| done.digest == request.digest)
    }

    /// Executes a batch on the state after `seq - 1`, skipping transactions that
    /// fail (`ledger::execute_batch`). `fetched` holds bodies obtained from peers
    /// (verified); a body found nowhere makes the batch unexecutable.
    pub fn execute(
        &mut self,
        shared: &Shared,
        request: &ExecuteRequest,
        fetched: &HashMap<Hash, VerifiedTx>,
    ) -> ExecOutcome {
        let seq = request.seq.0;
        if let Some(done) = self.speculative.get(&seq) {
            if done.digest == request.digest {
                return ExecOutcome::Valid {
                    state_root: done.delta.state_root,
                    block_hash: done.block.hash(),
                    validators: done.validators.clone(),
                };
            }
        }
        self.speculative.split_off(&seq);
        let store = shared.store.read().expect("store lock");
        let (Some(parent), Some(view)) =
            (self.parent_of(&store, seq), self.view_before(&store, seq))
        else {
            panic!("the replica asks for height {seq} before the heights under it");
        };
        let mut txs = Vec::with_capacity(request.batch.tx_hashes.len());
        {
            let pool = shared.mempool.lock().expect("mempool lock");
            for hash in request.batch.tx_hashes.iter() {
                match pool.get(hash).or_else(|| fetched.get(hash)) {
                    Some(tx) => txs.push(tx.clone()),
                    None => return ExecOutcome::Invalid,
                }
            }
        }
        // The proposer is a roster id (stable across membership changes).
        let Some(proposer) = shared.membership().key_of(request.batch.proposer).copied() else {
            return ExecOutcome::Invalid;
        };
        let validators = self.validators_before(&store, seq);
        let env = ExecEnv {
            validators: &validators,
            ..env(shared, &store)
        };
        let outcome = ledger::execute_batch(&view, env, &txs);
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
        drop(store);
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
        result
    }

    /// Writes the block the replica committed ([`write_block`]). Returns it.
    pub fn commit(&mut self, shared: &Shared, info: &CommittedBlock) -> Result<Block, CommitError> {
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
        let certificate = Certificate {
            view: info.view.0,
            commits: BoundedVec::new(info.certificate.clone())
                .expect("a certificate holds at most one COMMIT per validator"),
        };
        write_block(shared, &spec.block, &certificate, spec.delta).map_err(|source| {
            CommitError::Store {
                height: seq,
                source,
            }
        })?;
        let mut pool = shared.mempool.lock().expect("mempool lock");
        pool.release_proposals_through(seq);
        Ok(spec.block)
    }

    /// Drops every speculative execution (after state transfer moved the ledger).
    pub fn reset(&mut self, shared: &Shared) {
        self.speculative.clear();
        self.forget_proposals(shared);
    }
}

/// Writes a committed block with its certificate (one synced write), then takes its
/// transactions out of the pool, drops pooled ones it made stale and counts it in
/// the metrics. Both ways a block commits go through here or [`write_blocks`]: the
/// replica's commits and blocks copied from a peer (and the API's tests, so that
/// they see what a commit does, events included).
pub fn write_block(
    shared: &Shared,
    block: &Block,
    certificate: &Certificate,
    delta: StateDelta,
) -> Result<(), StoreError> {
    write_blocks(shared, &[(block, certificate)], delta)
}

/// [`write_block`] for consecutive blocks whose joined delta is `delta`: one synced
/// write for all of them (`Store::commit_blocks`), all or none.
pub(super) fn write_blocks(
    shared: &Shared,
    blocks: &[(&Block, &Certificate)],
    delta: StateDelta,
) -> Result<(), StoreError> {
    let certificates: Vec<Vec<u8>> = blocks
        .iter()
        .map(|(_, certificate)| certificate.to_canonical_bytes())
        .collect();
    let group: Vec<(&Block, &[u8])> = blocks
        .iter()
        .zip(&certificates)
        .map(|((block, _), certificate)| (*block, certificate.as_slice()))
        .collect();
    shared
        .store
        .write()
        .expect("store lock")
        .commit_blocks(&group, delta)?;
    let mut hashes = Vec::new();
    let mut senders: BTreeSet<Address> = BTreeSet::new();
    let mut txs = 0;
    for (block, _) in blocks {
        hashes.extend(block.tx_hashes());
        senders.extend(block.txs.iter().map(|t| t.tx.sender()));
        txs += block.txs.len() as u64;
    }
    // Published once the write is durable, blocks in order, each followed by
    // its transactions: a client told "committed" finds it at `/txs/{hash}`.
    for (block, certificate) in blocks {
        publish_block(shared, block, certificate);
    }
    let store = shared.store.read().expect("store lock");
    let mut pool = shared.mempool.lock().expect("mempool lock");
    pool.remove_committed(hashes.iter());
    let dropped = pool.revalidate(senders.iter(), |a| store.account(a).unwrap_or_default());
    for (hash, reason) in dropped {
        shared.events.publish(Event::TxDropped {
            hash,
            reason: reason.to_string(),
        });
    }
    let metrics = &shared.metrics;
    metrics.pool_size.set(pool.len() as i64);
    metrics.pool_bytes.set(pool.bytes() as i64);
    metrics.committed_blocks.inc_by(blocks.len() as u64);
    metrics.committed_txs.inc_by(txs);
    metrics.height.set(store.tip().height as i64);
    Ok(())
}

/// Publishes a committed block and then each of its transactions (`GET /events`).
fn publish_block(shared: &Shared, block: &Block, certificate: &Certificate) {
    let height = block.header.height;
    shared.events.publish(Event::Block {
        height,
        hash: block.hash(),
        tx_count: block.txs.len() as u64,
        view: certificate.view,
    });
    for hash in block.tx_hashes() {
        shared.events.publish(Event::TxCommitted { hash, height });
    }
}
