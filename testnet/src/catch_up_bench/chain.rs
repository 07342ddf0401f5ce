//! A long chain written straight into a node's store, for `testnet bench-catch-up`:
//! the setup, not what is measured, so it only has to be quick and real.
//!
//! Block `h` holds one transfer of 1 unit from the admin (nonce `h - 1`) to a client
//! and is committed in view 0 with a commit certificate of `q` COMMITs signed by
//! validators `0..q` with their keys from the layout, so a node that copies it checks
//! it like any other. The consensus log gets a snapshot whose stable checkpoint is
//! the tip, proven by the same validators' CHECKPOINTs: a node started on this store
//! restarts at the tip the way it would after committing the chain itself.

use crate::layout::Layout;
use consensus::{
    Batch, Checkpoint, Commit, CommitRecord, Message, PersistedState, ReplicaId, SeqNo,
    SignedMessage, StableCheckpoint, View,
};
use crypto::keyfile::{read_key_file, KeyFileError};
use crypto::{BoundedVec, Canonical, Hash, SigningKey};
use ledger::{
    Address, Block, ChainId, ExecEnv, Genesis, SignedTransaction, StateDelta, Store, StoreError,
    Transaction, TxKind, VerifiedTx,
};
use node::config::Home;
use node::driver::{ConsensusLog, LogError};
use node::wire::Certificate;
use std::path::{Path, PathBuf};

/// Blocks signed, executed and written together (one synced write each).
const GROUP: usize = 2_000;

/// Why the chain could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{blocks} blocks: the tip must be a checkpoint height, a positive multiple of the checkpoint interval {interval}")]
    NotAtCheckpoint { blocks: u64, interval: u64 },
    #[error("reading the genesis: {0}")]
    Genesis(#[from] Box<ledger::GenesisError>),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("block {height} of the generated chain does not execute: {reason}")]
    Execute { height: u64, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The tip of a generated chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratedChain {
    pub height: u64,
    pub hash: Hash,
}

/// What signing needs, shared by the worker threads.
struct Signers<'a> {
    chain_id: &'a str,
    admin: &'a SigningKey,
    validators: &'a [SigningKey],
    quorum: usize,
    recipients: Vec<Address>,
}

/// Writes a chain of `blocks` blocks into a new store at `data_dir` for the
/// layout's genesis, and its stable checkpoint into the consensus log there.
pub fn generate(
    layout: &Layout,
    data_dir: &Path,
    blocks: u64,
) -> Result<GeneratedChain, ChainError> {
    let genesis = Genesis::load(&layout.dir.join(Home::GENESIS)).map_err(Box::new)?;
    let interval = genesis.consensus.checkpoint_interval;
    if blocks == 0 || blocks % interval != 0 {
        return Err(ChainError::NotAtCheckpoint { blocks, interval });
    }
    let validators = layout
        .nodes
        .iter()
        .map(|node| read_key_file(&node.home.join(Home::KEY)))
        .collect::<Result<Vec<_>, _>>()?;
    let admin = read_key_file(&layout.admin_key)?;
    let chain_id = genesis.chain_id.to_string();
    let mut recipients: Vec<Address> = layout.clients.iter().map(|c| c.address).collect();
    if recipients.is_empty() {
        recipients.push(Address::of(&validators[0].public_key()));
    }
    let signers = Signers {
        chain_id: &chain_id,
        admin: &admin,
        validators: &validators,
        quorum: consensus::quorum(validators.len()),
        recipients,
    };
    let mut store = Store::open(data_dir, &genesis)?;
    let stamp_ms = node::shared::Shared::now_ms();
    let mut recent: Vec<CommitRecord> = Vec::new();
    let mut next = store.tip().height + 1;
    while next <= blocks {
        let last = (next + GROUP as u64 - 1).min(blocks);
        write_group(
            &mut store,
            &genesis,
            &signers,
            next..=last,
            stamp_ms,
            &mut recent,
        )?;
        next = last + 1;
    }
    let tip = store.tip();
    let window = genesis.consensus.log_window as usize;
    recent.drain(..recent.len().saturating_sub(window));
    let state = PersistedState {
        stable_checkpoint: Some(checkpoint(&signers, tip.height, tip.hash)),
        last_committed: SeqNo(tip.height),
        last_committed_timestamp_ms: stamp_ms,
        commits: BoundedVec::new(recent).expect("at most the log window"),
        ..PersistedState::default()
    };
    let mut log = ConsensusLog::open(&store)?;
    log.replace(&store, state)?;
    Ok(GeneratedChain {
        height: tip.height,
        hash: tip.hash,
    })
}

/// Signs, executes and commits the blocks at `heights` (one synced write).
fn write_group(
    store: &mut Store,
    genesis: &Genesis,
    signers: &Signers,
    heights: std::ops::RangeInclusive<u64>,
    stamp_ms: u64,
    recent: &mut Vec<CommitRecord>,
) -> Result<(), ChainError> {
    let heights: Vec<u64> = heights.collect();
    let txs = parallel_map(&heights, |height| transfer(signers, *height));
    let proposer = genesis.validators[0].public_key;
    let mut blocks: Vec<Block> = Vec::with_capacity(heights.len());
    let mut joined: Option<StateDelta> = None;
    for (height, tx) in heights.iter().zip(txs) {
        // Signed just above by the admin key; checking it again would only double
        // the setup time.
        let verified = VerifiedTx::from_own_store(tx);
        let batch = Batch {
            tx_hashes: BoundedVec::new(vec![verified.hash()]).expect("one"),
            proposer: ReplicaId(0),
            timestamp_ms: stamp_ms,
        };
        let delta = {
            let view = match &joined {
                Some(delta) => store.state().view().with_layer(delta),
                None => store.state().view(),
            };
            let env = ExecEnv {
                chain_id: &genesis.chain_id,
                admin: genesis.admin,
                validators: store.validators(),
            };
            ledger::execute_block(&view, env, std::slice::from_ref(&verified)).map_err(|e| {
                ChainError::Execute {
                    height: *height,
                    reason: e.to_string(),
                }
            })?
        };
        let parent = blocks.last().map_or(store.tip().hash, Block::hash);
        let block = Block::assemble(
            *height,
            parent,
            batch.digest(),
            stamp_ms,
            proposer,
            vec![verified.into_signed()],
            delta.state_root,
        );
        recent.push(CommitRecord {
            seq: SeqNo(*height),
            digest: block.header.batch_digest,
            block_hash: block.hash(),
            state_root: block.header.state_root,
        });
        blocks.push(block);
        match &mut joined {
            Some(joined) => joined.absorb(delta),
            None => joined = Some(delta),
        }
    }
    let window = MAX_RECENT.min(recent.len());
    recent.drain(..recent.len() - window);
    let certificates = parallel_map(&blocks, |block| certificate(signers, block));
    let group: Vec<(&Block, &[u8])> = blocks
        .iter()
        .zip(&certificates)
        .map(|(block, certificate)| (block, certificate.as_slice()))
        .collect();
    store.commit_blocks(&group, joined.expect("a group has blocks"))?;
    Ok(())
}

/// The most commit records kept for the snapshot (the consensus bound).
const MAX_RECENT: usize = consensus::MAX_LOG_WINDOW as usize;

fn transfer(signers: &Signers, height: u64) -> SignedTransaction {
    let to = signers.recipients[(height as usize) % signers.recipients.len()];
    Transaction {
        chain_id: ChainId::new(signers.chain_id).expect("the genesis chain id"),
        signer: signers.admin.public_key(),
        nonce: height - 1,
        kind: TxKind::Transfer { to, amount: 1 },
    }
    .sign(signers.admin)
}

/// The canonical bytes of `block`'s commit certificate: COMMITs of view 0 from
/// validators `0..q`.
fn certificate(signers: &Signers, block: &Block) -> Vec<u8> {
    let commit = Message::Commit(Commit {
        view: View(0),
        seq: SeqNo(block.header.height),
        digest: block.header.batch_digest,
        block_hash: block.hash(),
    });
    let commits = (0..signers.quorum)
        .map(|i| {
            SignedMessage::sign(
                &signers.validators[i],
                signers.chain_id,
                ReplicaId(i as u32),
                &commit,
            )
        })
        .collect();
    Certificate {
        view: 0,
        commits: BoundedVec::new(commits).expect("q is at most the validator count"),
    }
    .to_canonical_bytes()
}

fn checkpoint(signers: &Signers, height: u64, block_hash: Hash) -> StableCheckpoint {
    let message = Message::Checkpoint(Checkpoint {
        seq: SeqNo(height),
        block_hash,
    });
    let proof = (0..signers.quorum)
        .map(|i| {
            SignedMessage::sign(
                &signers.validators[i],
                signers.chain_id,
                ReplicaId(i as u32),
                &message,
            )
        })
        .collect();
    StableCheckpoint {
        seq: SeqNo(height),
        block_hash,
        proof: BoundedVec::new(proof).expect("q is at most the validator count"),
    }
}

/// `f` over `items` on every core, results in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(per_thread)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a signing thread panicked"))
            .collect()
    })
}

/// Copies a closed store's directory (RocksDB keeps its files flat) to `to`.
pub fn copy_store(from: &Path, to: &Path) -> Result<(), ChainError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ChainError::Io { path, source }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let path = entry.map_err(io(from))?.path();
        if path.is_file() {
            let target = to.join(path.file_name().expect("a file has a name"));
            std::fs::copy(&path, &target).map_err(io(&target))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::LayoutSpec;

    /// The generated store opens with its tip, every block carries a certificate a
    /// node accepts, and the consensus log restarts a replica at the tip.
    #[test]
    fn a_generated_chain_restarts_a_replica_at_its_tip() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = LayoutSpec {
            clients: 3,
            ..LayoutSpec::default()
        };
        let layout = Layout::generate(&tmp.path().join("net"), &spec).unwrap();
        let data = tmp.path().join("data");
        let tip = generate(&layout, &data, 30).unwrap();
        assert!(matches!(
            generate(&layout, &tmp.path().join("other"), 25),
            Err(ChainError::NotAtCheckpoint { blocks: 25, .. })
        ));
        let copy = tmp.path().join("copy");
        copy_store(&data, &copy).unwrap();

        let home = Home::load(&layout.nodes[3].home).unwrap();
        let store = Store::open(&copy, &home.genesis).unwrap();
        assert_eq!(store.tip().height, 30);
        assert_eq!(store.tip().hash, tip.hash);
        let keys: Vec<_> = home
            .genesis
            .validators
            .iter()
            .map(|v| v.public_key)
            .collect();
        let chain_id = home.genesis.chain_id.to_string();
        let block = store.block(17).unwrap().unwrap();
        let certificate =
            Certificate::from_canonical_bytes(&store.certificate(17).unwrap().unwrap()).unwrap();
        assert_eq!(certificate.commits.len(), 3);
        for signed in certificate.commits.iter() {
            let verified = consensus::verify(signed, &keys, &chain_id).unwrap();
            let Message::Commit(commit) = verified.message() else {
                panic!("a certificate holds COMMITs");
            };
            assert_eq!(commit.block_hash, block.hash());
            assert_eq!(commit.digest, block.header.batch_digest);
        }
        let log = ConsensusLog::open(&store).unwrap();
        let state = log.state().clone();
        assert_eq!(state.last_committed, SeqNo(30));
        assert_eq!(state.commits.len(), 30);
        let me = consensus::ReplicaId(3);
        assert_eq!(keys[3], home.key.public_key());
        let mut config = consensus::ReplicaConfig::with_defaults(&chain_id, keys, me);
        config.checkpoint_interval = home.genesis.consensus.checkpoint_interval;
        config.log_window = home.genesis.consensus.log_window;
        let replica = consensus::Replica::new(config, home.key.clone(), Some(state), 0).unwrap();
        assert_eq!(replica.last_committed(), SeqNo(30));
        assert_eq!(replica.low_watermark(), SeqNo(30));
    }
}
