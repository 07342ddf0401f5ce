//! The driver's side of a block transfer: re-executing a checked chunk on the
//! ledger's tip and writing it (see [`super`]).

use super::{CheckedBlock, CheckedChunk, Checker, Refusal};
use crate::driver::{Driver, DriverError};
use crate::shared::Shared;
use crate::wire::Certificate;
use consensus::SeqNo;
use ledger::{Block, StateDelta, ValidatorChange, ValidatorInfo};
use std::borrow::Cow;

impl Checker {
    /// A checker for blocks above the ledger's tip: the membership the ledger
    /// records and its validator set (blocks in a chunk update both as they go).
    pub fn of_ledger(shared: &Shared) -> Checker {
        let store = shared.store.read().expect("store lock");
        Checker {
            membership: (*shared.membership()).clone(),
            validators: store.validators().to_vec(),
            chain_id: shared.genesis.chain_id.to_string(),
            interval: shared.genesis.consensus.checkpoint_interval,
            window: shared.genesis.consensus.log_window,
            known_through: store.tip().height,
        }
    }
}

/// Re-executes a checked chunk on the ledger's tip and writes it in one synced
/// write. The outer `Err` is a failed write (fatal); the inner one a refusal.
pub fn apply_to_ledger(
    shared: &Shared,
    blocks: &[CheckedBlock],
) -> Result<Result<u64, Refusal>, crate::driver::CommitError> {
    let joined = match execute_chunk(shared, blocks) {
        Ok(joined) => joined,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (Some(joined), Some(last)) = (joined, blocks.last()) else {
        let tip = shared.store.read().expect("store lock").tip().height;
        return Ok(Ok(tip));
    };
    let last_height = last.block.header.height;
    let group: Vec<(&Block, &Certificate)> = blocks
        .iter()
        .map(|checked| (&checked.block, &checked.certificate))
        .collect();
    crate::driver::exec::write_blocks(shared, &group, joined).map_err(|source| {
        crate::driver::CommitError::Store {
            height: last_height,
            source,
        }
    })?;
    Ok(Ok(last_height))
}

impl Driver {
    pub(in crate::driver) fn checker(&self) -> Checker {
        Checker::of_ledger(&self.shared)
    }

    /// Applies a checked chunk on the ledger's tip: re-executes every block (each
    /// must give its header's state root), then writes them all in one synced
    /// write and records them in the consensus log. Returns the new tip height.
    /// Nothing is written when a block is refused; a failed write is fatal.
    pub(in crate::driver) fn apply_chunk(
        &mut self,
        chunk: CheckedChunk,
    ) -> Result<Result<u64, Refusal>, DriverError> {
        let blocks = chunk.blocks;
        let last_height = match apply_to_ledger(&self.shared, &blocks)? {
            Ok(height) => height,
            Err(refusal) => return Ok(Err(refusal)),
        };
        for checked in &blocks {
            let header = &checked.block.header;
            self.log.push_committed(&consensus::CommittedBlock {
                seq: SeqNo(header.height),
                view: consensus::View(checked.certificate.view),
                digest: header.batch_digest,
                block_hash: checked.hash,
                state_root: header.state_root,
                timestamp_ms: header.timestamp_ms,
                // The log keeps no certificates; the store has them.
                certificate: Vec::new(),
            });
        }
        Ok(Ok(last_height))
    }
}

/// Executes `blocks` in order on the committed state, each on one layer holding the
/// ones before it; returns their joined delta.
fn execute_chunk(shared: &Shared, blocks: &[CheckedBlock]) -> Result<Option<StateDelta>, Refusal> {
    {
        let store = shared.store.read().expect("store lock");
        let tip = store.tip();
        let Some(first) = blocks.first() else {
            return Ok(None);
        };
        let first_height = first.block.header.height;
        if first_height != tip.height + 1 {
            return Err(Refusal::NotOnTip {
                first: first_height,
                tip: tip.height,
            });
        }
        if first.block.header.parent != tip.hash {
            return Err(Refusal::Invalid {
                height: first_height,
                reason: "it does not extend this node's tip".into(),
            });
        }
        let mut joined: Option<StateDelta> = None;
        for checked in blocks {
            let header = &checked.block.header;
            let view = match &joined {
                Some(delta) => store.state().view().with_layer(delta),
                None => store.state().view(),
            };
            // A governance transaction earlier in the chunk changes the set the
            // blocks after it execute with, as if they had been committed.
            let validators: Cow<[ValidatorInfo]> = match &joined {
                Some(delta) if !delta.validator_changes.is_empty() => Cow::Owned(
                    ValidatorChange::apply_all(store.validators(), &delta.validator_changes),
                ),
                _ => Cow::Borrowed(store.validators()),
            };
            let env = ledger::ExecEnv {
                chain_id: &shared.genesis.chain_id,
                admin: shared.genesis.admin,
                validators: &validators,
            };
            let delta =
                ledger::execute_block(&view, env, &checked.txs).map_err(|e| Refusal::Invalid {
                    height: header.height,
                    reason: format!("it does not execute: {e}"),
                })?;
            if delta.state_root != header.state_root {
                return Err(Refusal::Invalid {
                    height: header.height,
                    reason: format!(
                        "it executes to state root {}, its header says {}",
                        delta.state_root, header.state_root
                    ),
                });
            }
            drop(view);
            match &mut joined {
                Some(joined) => joined.absorb(delta),
                None => joined = Some(delta),
            }
        }
        Ok(joined)
    }
}
