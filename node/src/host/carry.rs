//! Carrying out a replica's [`Ready`]: the one place that fixes the order in which a
//! host does what a step asks (DESIGN.md section 3), for the node's driver and the
//! simulator alike. Each host says *how* through [`Carrier`]; [`carry_out`] says
//! *when*:
//!
//! 1. the host notices the step (observers, and the events it follows: membership,
//!    recovery), starts a transfer it asks for, and frees the proposals a new view
//!    dropped;
//! 2. persist: every entry, in order;
//! 3. commit: when the step commits, what it persisted is made durable first (a
//!    block on disk that the consensus log cannot account for would break a view
//!    change after a crash), then each block is written in order, then the host
//!    follows what the blocks changed;
//! 4. the stable checkpoint;
//! 5. send: the messages, which the host sends only once what the step persisted
//!    is durable;
//! 6. answer: the proposal, then the executions, in the order asked.
//!
//! [`drive`] feeds the answers back in, depth first, until the replica asks for
//! nothing more.

use consensus::{
    CommittedBlock, ExecuteRequest, Input, Outgoing, PersistEntry, ProposalRequest, Ready, Replica,
    StableCheckpoint, TransferRequest,
};

/// How a host carries out each part of a [`Ready`]; [`carry_out`] decides when.
pub trait Carrier {
    type Error;

    /// The replica to step; `None` when it is down (the simulator's crashed node).
    fn replica(&mut self) -> Option<&mut Replica>;

    /// Before anything is carried out: observe the step, and follow the events it
    /// reports (membership, recovery).
    fn notice(&mut self, ready: &Ready) -> Result<(), Self::Error>;

    /// A state transfer the replica asks for.
    fn transfer(&mut self, request: TransferRequest);

    /// The replica entered a new view, which may have dropped this node's
    /// proposals: their transactions may be proposed again.
    fn release_proposals(&mut self);

    /// Persist one entry (durable by the time [`Carrier::send`]'s messages leave).
    fn persist(&mut self, entry: PersistEntry) -> Result<(), Self::Error>;

    /// Make everything persisted so far durable; called before a block is written.
    fn make_durable(&mut self) -> Result<(), Self::Error>;

    /// Write a block the replica committed.
    fn commit(&mut self, block: &CommittedBlock) -> Result<(), Self::Error>;

    /// After the step's blocks: follow what they changed.
    fn committed(&mut self) -> Result<(), Self::Error>;

    /// The replica's new stable checkpoint.
    fn stable_checkpoint(&mut self, stable: StableCheckpoint);

    /// The step's messages; the host sends them once the step's log is durable.
    fn send(&mut self, outgoing: Vec<Outgoing>);

    /// The answer to a proposal request (and any input that should follow it).
    fn propose(&mut self, request: ProposalRequest) -> Result<Vec<Input>, Self::Error>;

    /// Take the execution requests; the answers to those that can run now, in order.
    fn execute(&mut self, requests: Vec<ExecuteRequest>) -> Result<Vec<Input>, Self::Error>;

    /// After the step is carried out: what the host feeds back in besides the
    /// answers, given whether the step proposed or committed.
    fn follow_up(&mut self, proposed: bool, committed: bool) -> Option<Input>;

    /// The step, carried out: what is left of it (its events) for the host to keep.
    fn done(&mut self, ready: Ready);
}

/// Carries out one step's [`Ready`] in the order the module doc gives; returns the
/// inputs to feed back in, in order.
pub fn carry_out<C: Carrier>(carrier: &mut C, ready: &mut Ready) -> Result<Vec<Input>, C::Error> {
    carrier.notice(ready)?;
    if let Some(request) = ready.transfer.take() {
        carrier.transfer(request);
    }
    if ready.entered_view.is_some() {
        carrier.release_proposals();
    }
    for entry in std::mem::take(&mut ready.persist) {
        carrier.persist(entry)?;
    }
    let commit = std::mem::take(&mut ready.commit);
    let committed = !commit.is_empty();
    if committed {
        carrier.make_durable()?;
        for block in &commit {
            carrier.commit(block)?;
        }
        carrier.committed()?;
    }
    if let Some(stable) = ready.stable_checkpoint.take() {
        carrier.stable_checkpoint(stable);
    }
    carrier.send(std::mem::take(&mut ready.then_send));
    let mut answers = Vec::new();
    let proposed = ready.propose.is_some();
    if let Some(request) = ready.propose.take() {
        answers.extend(carrier.propose(request)?);
    }
    answers.extend(carrier.execute(std::mem::take(&mut ready.execute))?);
    answers.extend(carrier.follow_up(proposed, committed));
    Ok(answers)
}

/// Steps the replica with `input` and carries out each step, feeding the answers
/// back in (an answer's own answers first) until none is left.
pub fn drive<C: Carrier>(carrier: &mut C, input: Input) -> Result<(), C::Error> {
    let mut pending = vec![input];
    while let Some(input) = pending.pop() {
        let Some(replica) = carrier.replica() else {
            break;
        };
        let mut ready = replica.step(input);
        let answers = carry_out(carrier, &mut ready)?;
        carrier.done(ready);
        pending.extend(answers.into_iter().rev());
    }
    Ok(())
}

/// A started replica's first inputs, on every start (DESIGN.md section 5.2):
/// a tick at the host's time, then recovery. Nothing else reaches it before these.
pub fn begin<C: Carrier>(carrier: &mut C, now_ms: u64) -> Result<(), C::Error> {
    drive(carrier, Input::Tick { now_ms })?;
    drive(carrier, Input::Recover)
}
