//! How a simulated node carries out each part of a replica's step; the order is
//! the node's own (`node::host::carry`), the one its driver runs. What differs is
//! where things go: entries into the node's [`consensus::PersistedState`] at once
//! (so making them durable costs nothing), blocks into its in-memory ledger, and
//! the messages and transfer request back onto the step's [`Ready`] for the world
//! to deliver after the step. Every body is at hand (the world keeps them all), so
//! an execution is answered at once. The pool is reported after a step that
//! proposed (so the primary can go on proposing while earlier heights are in
//! flight) or committed: the simulator has no rounds.

use super::host::{Chain, Committed, SimNode};
use consensus::{
    CommittedBlock, ExecuteRequest, Input, Outgoing, PersistEntry, ProposalRequest, Ready, Replica,
    StableCheckpoint, TransferRequest,
};
use crypto::Hash;
use ledger::VerifiedTx;
use node::host::carry::Carrier;
use std::collections::HashMap;
use std::convert::Infallible;

/// One simulated node, carrying out the steps of one world event.
pub struct SimCarrier<'a> {
    node: &'a mut SimNode,
    chain: &'a Chain,
    bodies: &'a HashMap<Hash, VerifiedTx>,
    now_ms: u64,
    readies: &'a mut Vec<Ready>,
    committed: Vec<Committed>,
    sent: Vec<Outgoing>,
    transfer: Option<TransferRequest>,
}

impl<'a> SimCarrier<'a> {
    pub(super) fn new(
        node: &'a mut SimNode,
        chain: &'a Chain,
        bodies: &'a HashMap<Hash, VerifiedTx>,
        now_ms: u64,
        readies: &'a mut Vec<Ready>,
    ) -> Self {
        SimCarrier {
            node,
            chain,
            bodies,
            now_ms,
            readies,
            committed: Vec::new(),
            sent: Vec::new(),
            transfer: None,
        }
    }

    /// The blocks the event's steps committed, in order.
    pub(super) fn into_committed(self) -> Vec<Committed> {
        self.committed
    }
}

impl Carrier for SimCarrier<'_> {
    type Error = Infallible;

    fn replica(&mut self) -> Option<&mut Replica> {
        self.node.replica.as_mut()
    }

    /// The world observes the step once it is carried out (`done`).
    fn notice(&mut self, _ready: &Ready) -> Result<(), Infallible> {
        Ok(())
    }

    fn transfer(&mut self, request: TransferRequest) {
        self.transfer = Some(request);
    }

    fn release_proposals(&mut self) {
        self.node.release_proposals();
    }

    fn persist(&mut self, entry: PersistEntry) -> Result<(), Infallible> {
        self.node
            .persisted
            .apply(&entry)
            .expect("the replica bounds what it asks to persist");
        Ok(())
    }

    fn make_durable(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn commit(&mut self, block: &CommittedBlock) -> Result<(), Infallible> {
        let committed = self.node.commit(block);
        self.committed.push(committed);
        Ok(())
    }

    fn committed(&mut self) -> Result<(), Infallible> {
        Ok(())
    }

    fn stable_checkpoint(&mut self, _stable: StableCheckpoint) {}

    fn send(&mut self, outgoing: Vec<Outgoing>) {
        self.sent = outgoing;
    }

    fn propose(&mut self, request: ProposalRequest) -> Result<Vec<Input>, Infallible> {
        Ok(vec![self.node.propose(self.now_ms, request)])
    }

    fn execute(&mut self, requests: Vec<ExecuteRequest>) -> Result<Vec<Input>, Infallible> {
        Ok(requests
            .iter()
            .map(|request| self.node.execute(self.chain, self.bodies, request))
            .collect())
    }

    fn follow_up(&mut self, proposed: bool, committed: bool) -> Option<Input> {
        (proposed || committed).then(|| self.node.pool_report(self.chain))
    }

    fn done(&mut self, mut ready: Ready) {
        ready.then_send = std::mem::take(&mut self.sent);
        ready.transfer = self.transfer.take();
        self.readies.push(ready);
    }
}
