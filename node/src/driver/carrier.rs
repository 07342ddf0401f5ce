//! How the node carries out each part of a replica's step ([`crate::host::carry`]
//! decides the order): the log entries go into the round's batch, synced before a
//! block is written and before anything is sent ([`Driver::finish_round`]); blocks
//! go to the store; messages wait in the outbox until the round's log is durable;
//! executions wait their turn in [`super::bodies::Executions`], fetching the bodies
//! the pool lacks. The pool is reported once per round, not per step.

use super::{Driver, DriverError};
use crate::host::carry::Carrier;
use consensus::{
    CommittedBlock, ExecuteRequest, Input, Outgoing, PersistEntry, ProposalRequest, Ready, Replica,
    StableCheckpoint, TransferRequest,
};

impl Carrier for Driver {
    type Error = DriverError;

    fn replica(&mut self) -> Option<&mut Replica> {
        Some(&mut self.replica)
    }

    fn notice(&mut self, ready: &Ready) -> Result<(), DriverError> {
        self.observe(ready);
        self.on_membership_events(&ready.membership, ready.epoch_started);
        self.on_recovery_events(&ready.recovery);
        Ok(())
    }

    fn transfer(&mut self, request: TransferRequest) {
        self.start_transfer(request);
    }

    fn release_proposals(&mut self) {
        let mut pool = self.shared.mempool.lock().expect("mempool lock");
        pool.release_all_proposals();
    }

    fn persist(&mut self, entry: PersistEntry) -> Result<(), DriverError> {
        self.log.push_entry(entry);
        Ok(())
    }

    fn make_durable(&mut self) -> Result<(), DriverError> {
        let store = self.shared.store.read().expect("store lock");
        self.log.flush(&store)?;
        Ok(())
    }

    fn commit(&mut self, block: &CommittedBlock) -> Result<(), DriverError> {
        let written = self.write_commit(block)?;
        self.executions
            .forget_bodies(written.txs.iter().map(|tx| tx.hash()));
        self.log.push_committed(block);
        self.observe_commit(block, written.txs.len());
        Ok(())
    }

    fn committed(&mut self) -> Result<(), DriverError> {
        self.follow_membership()
    }

    fn stable_checkpoint(&mut self, stable: StableCheckpoint) {
        *self.shared.stable_checkpoint.write().expect("lock") = Some(stable);
    }

    fn send(&mut self, outgoing: Vec<Outgoing>) {
        self.outbox.extend(outgoing);
    }

    fn propose(&mut self, request: ProposalRequest) -> Result<Vec<Input>, DriverError> {
        let proposal = Driver::propose(self, request);
        tracing::debug!(
            seq = request.seq.0,
            txs = proposal.batch.tx_hashes.len(),
            "proposed"
        );
        Ok(vec![Input::Proposal {
            seq: request.seq,
            batch: proposal.batch,
            result: proposal.result,
        }])
    }

    fn execute(&mut self, requests: Vec<ExecuteRequest>) -> Result<Vec<Input>, DriverError> {
        for request in requests {
            self.executions.push(request);
        }
        self.executions_ready()
    }

    fn follow_up(&mut self, _proposed: bool, _committed: bool) -> Option<Input> {
        // The round reports the pool once, after all its events (`Driver::run`).
        None
    }

    fn done(&mut self, _ready: Ready) {}
}
