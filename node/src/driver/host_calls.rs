//! The driver's calls into the host core ([`crate::host`]): each takes the store
//! and the pool under their locks (store before pool) and announces what changed.

use super::{exec, Driver, DriverError};
use crate::events::Event;
use crate::host::Proposal;
use crate::shared::Shared;
use consensus::{CommittedBlock, ExecOutcome, ExecuteRequest, ProposalRequest};
use ledger::Block;

impl Driver {
    /// What the pool holds for the next proposal ([`crate::host::pool::available`]).
    pub(super) fn available(&self) -> (usize, u64) {
        let cap = self.shared.genesis.consensus.batch_max_txs as usize;
        let store = self.shared.store.read().expect("store lock");
        let pool = self.shared.mempool.lock().expect("mempool lock");
        crate::host::pool::available(&*store, &pool, cap)
    }

    /// This node's proposal at `request.seq`; the pooled transactions it found
    /// unexecutable are dropped and announced.
    pub(super) fn propose(&mut self, request: ProposalRequest) -> Proposal {
        let me = self
            .shared
            .me()
            .expect("only a replica on the roster is asked for proposals");
        let mut proposal = {
            let store = self.shared.store.read().expect("store lock");
            let mut pool = self.shared.mempool.lock().expect("mempool lock");
            self.executor.propose(
                &*store,
                &mut pool,
                me,
                self.shared.public_key,
                Shared::now_ms(),
                request,
            )
        };
        for (hash, reason) in std::mem::take(&mut proposal.dropped) {
            self.shared.events.publish(Event::TxDropped {
                hash,
                reason: reason.to_string(),
            });
        }
        proposal
    }

    /// Executes a batch whose bodies are all at hand (pool or fetched).
    pub(super) fn execute(&mut self, request: &ExecuteRequest) -> Result<ExecOutcome, DriverError> {
        let membership = self.shared.membership();
        let store = self.shared.store.read().expect("store lock");
        let pool = self.shared.mempool.lock().expect("mempool lock");
        let outcome = self.executor.execute(
            &*store,
            &pool,
            &self.executions.fetched,
            |id| membership.key_of(id).copied(),
            request,
        )?;
        Ok(outcome)
    }

    /// Writes a block the replica committed and announces it.
    pub(super) fn write_commit(&mut self, info: &CommittedBlock) -> Result<Block, DriverError> {
        let committed = {
            let mut store = self.shared.store.write().expect("store lock");
            let mut pool = self.shared.mempool.lock().expect("mempool lock");
            self.executor.commit(&mut *store, &mut pool, info)?
        };
        exec::announce(
            &self.shared,
            &[(&committed.block, info.view.0)],
            committed.dropped,
        );
        Ok(committed.block)
    }
}
