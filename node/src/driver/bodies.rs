//! The execution requests waiting for their turn, and the bodies fetched from
//! peers for them: the replica asks to execute batches in order, and a batch
//! whose transactions this node's pool lacks waits (with every request behind
//! it) until a fetch from the peers brings them ([`super::catch_up::fetch_bodies`]).

use consensus::{ExecuteRequest, SeqNo};
use crypto::Hash;
use ledger::VerifiedTx;
use std::collections::{HashMap, VecDeque};

/// Bodies fetched from peers kept at most (they go when their block commits).
const MAX_FETCHED: usize = 100_000;

/// The queue of execution requests and the state of the fetch for its head.
#[derive(Default)]
pub struct Executions {
    /// Requests not answered yet, in order; the first may wait for a fetch.
    queue: VecDeque<ExecuteRequest>,
    /// The batch whose bodies are being fetched.
    fetching: Option<(SeqNo, Hash)>,
    /// The batch whose fetch finished last: it executes with what was found.
    fetch_done: Option<(SeqNo, Hash)>,
    /// Bodies obtained from peers, verified.
    pub fetched: HashMap<Hash, VerifiedTx>,
}

/// What to do with the head of the queue.
pub enum Next {
    /// Nothing to do now: the queue is empty or a fetch is running.
    Wait,
    /// Fetch these bodies for the head request (the fetch is now running).
    Fetch(ExecuteRequest, Vec<Hash>),
    /// Execute this request (taken off the queue).
    Execute(ExecuteRequest),
}

impl Executions {
    /// Queues a request. It replaces any waiting at or above its height (and the
    /// fetch for one of them).
    pub fn push(&mut self, request: ExecuteRequest) {
        self.queue.retain(|r| r.seq < request.seq);
        if self.fetching.is_some_and(|(seq, _)| seq >= request.seq) {
            self.fetching = None;
        }
        self.queue.push_back(request);
    }

    /// Forgets every waiting request (a transfer moved the ledger).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.fetching = None;
    }

    /// The next step for the head request. `missing` gives the bodies a request
    /// needs that are neither pooled nor fetched.
    pub fn next(
        &mut self,
        missing: impl Fn(&ExecuteRequest, &HashMap<Hash, VerifiedTx>) -> Vec<Hash>,
    ) -> Next {
        if self.fetching.is_some() {
            return Next::Wait;
        }
        let Some(request) = self.queue.front() else {
            return Next::Wait;
        };
        let key = (request.seq, request.digest);
        let fetched_already = self.fetch_done == Some(key);
        let missing = missing(request, &self.fetched);
        if !missing.is_empty() && !fetched_already {
            self.fetching = Some(key);
            return Next::Fetch(request.clone(), missing);
        }
        let request = self.queue.pop_front().expect("front exists");
        if fetched_already {
            self.fetch_done = None;
        }
        Next::Execute(request)
    }

    /// A fetch ended with `txs` for the batch at `seq` with `digest`. Returns
    /// whether it was the one running (then the queue may move on).
    pub fn on_fetched(&mut self, seq: SeqNo, digest: Hash, txs: Vec<VerifiedTx>) -> bool {
        if self.fetching != Some((seq, digest)) {
            return false;
        }
        self.fetching = None;
        self.fetch_done = Some((seq, digest));
        if self.fetched.len() + txs.len() > MAX_FETCHED {
            self.fetched.clear();
        }
        for tx in txs {
            self.fetched.insert(tx.hash(), tx);
        }
        true
    }

    /// A block committed: its fetched bodies are not needed any more.
    pub fn forget_bodies(&mut self, hashes: impl Iterator<Item = Hash>) {
        for hash in hashes {
            self.fetched.remove(&hash);
        }
    }
}
