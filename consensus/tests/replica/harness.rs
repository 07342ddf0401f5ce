//! A small in-test network: N replicas wired by a queue, each with a fake host whose
//! execution is `state_root(n) = sha256(root(n-1) || d)` and
//! `block_hash(n) = sha256(n || d || root(n))`, plus helpers to forge messages.
//!
//! Why a fake host and not the node's host core (`node::host`, which the node and
//! the simulator share): these tests are about the replica alone, message by
//! message, and the consensus crate cannot use `node` (node depends on it; a
//! dev-dependency on node would build a second `consensus` whose types do not
//! match these). The host core is what `testnet sim` runs, seed after seed.

#![allow(dead_code)]

use consensus::{
    verify, verify_envelope, Batch, Checkpoint, Commit, CommittedBlock, Envelope, ExecOutcome,
    ExecuteRequest, Fault, IgnoreReason, Ignored, Input, Message, MessageKind, PersistedState,
    PrePrepare, Prepare, ProposalRequest, Ready, Replica, ReplicaConfig, ReplicaId, SeqNo,
    SignedMessage, Target, View,
};
use crypto::{BoundedVec, Hash, Sha256, SigningKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, VecDeque};

pub const CHAIN: &str = "test-chain";
/// K and L small enough that tests cross several checkpoints.
pub const K: u64 = 5;
pub const L: u64 = 20;
pub const BATCH_MAX_TXS: u32 = 4;
pub const RETRANSMIT_MS: u64 = 10;

pub fn keys(n: usize) -> Vec<SigningKey> {
    (0..n)
        .map(|i| SigningKey::from_seed([i as u8 + 1; 32]))
        .collect()
}

pub fn config(n: usize, me: u32) -> ReplicaConfig {
    let validators = keys(n).iter().map(|k| k.public_key()).collect();
    let mut config = ReplicaConfig::with_defaults(CHAIN, validators, ReplicaId(me));
    config.checkpoint_interval = K;
    config.log_window = L;
    config.batch_max_txs = BATCH_MAX_TXS;
    config.retransmit_interval_ms = RETRANSMIT_MS;
    config
}

pub fn replica(n: usize, me: u32) -> Replica {
    Replica::new(config(n, me), keys(n)[me as usize].clone(), None, 0).expect("valid config")
}

pub fn tx(i: u64) -> Hash {
    crypto::sha256(&i.to_le_bytes())
}

pub fn batch(proposer: u32, timestamp_ms: u64, txs: &[u64]) -> Batch {
    Batch {
        tx_hashes: BoundedVec::new(txs.iter().map(|i| tx(*i)).collect()).expect("bound"),
        proposer: ReplicaId(proposer),
        timestamp_ms,
    }
}

pub fn state_root(prev: Hash, digest: Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev.as_bytes()).update(digest.as_bytes());
    h.finish()
}

pub fn block_hash(seq: SeqNo, digest: Hash, root: Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(&seq.0.to_le_bytes())
        .update(digest.as_bytes())
        .update(root.as_bytes());
    h.finish()
}

/// Signs `message` as replica `from` of an N = `n` network.
pub fn sign(n: usize, from: u32, message: Message) -> SignedMessage {
    SignedMessage::sign(&keys(n)[from as usize], CHAIN, ReplicaId(from), &message)
}

pub fn pre_prepare(
    n: usize,
    from: u32,
    view: u64,
    seq: u64,
    batch: Batch,
    result: Hash,
) -> SignedMessage {
    let digest = batch.digest();
    sign(
        n,
        from,
        Message::PrePrepare(PrePrepare {
            view: View(view),
            seq: SeqNo(seq),
            digest,
            batch,
            result,
        }),
    )
}

pub fn prepare(n: usize, from: u32, view: u64, seq: u64, digest: Hash) -> SignedMessage {
    sign(
        n,
        from,
        Message::Prepare(Prepare {
            view: View(view),
            seq: SeqNo(seq),
            digest,
        }),
    )
}

pub fn commit(
    n: usize,
    from: u32,
    view: u64,
    seq: u64,
    digest: Hash,
    block_hash: Hash,
) -> SignedMessage {
    sign(
        n,
        from,
        Message::Commit(Commit {
            view: View(view),
            seq: SeqNo(seq),
            digest,
            block_hash,
        }),
    )
}

pub fn checkpoint(n: usize, from: u32, seq: u64, block_hash: Hash) -> SignedMessage {
    sign(
        n,
        from,
        Message::Checkpoint(Checkpoint {
            seq: SeqNo(seq),
            block_hash,
        }),
    )
}

/// Verifies `signed` as the edge would and steps `replica` with it.
pub fn feed(replica: &mut Replica, signed: &SignedMessage) -> Ready {
    let validators = replica.config().validators.clone();
    let verified = verify(signed, &validators, CHAIN).expect("test messages are validly signed");
    replica.step(Input::Message(verified))
}

pub fn reasons(ready: &Ready) -> Vec<IgnoreReason> {
    ready.ignored.iter().map(|i| i.reason().clone()).collect()
}

/// The honest execution of `req` on top of `prev`.
pub fn honest_outcome(req: &ExecuteRequest, prev: Hash) -> ExecOutcome {
    let root = state_root(prev, req.digest);
    ExecOutcome::Valid {
        state_root: root,
        block_hash: block_hash(req.seq, req.digest, root),
        validators: None,
    }
}

/// A host: speculative state roots by height (0 is genesis), a pool of pending
/// transactions (primary only) and a transaction counter.
#[derive(Debug, Clone)]
pub struct FakeHost {
    pub roots: BTreeMap<u64, Hash>,
    pub proposal_roots: BTreeMap<u64, Hash>,
    pub pool: usize,
    pub next_tx: u64,
    /// Byzantine primary: claim a wrong state root at this height.
    pub lie_at: Option<u64>,
    /// The block at this height holds a governance change: the validator set after
    /// it (DESIGN.md section 6).
    pub change_at: Option<(u64, Vec<crypto::PublicKey>)>,
}

impl FakeHost {
    pub fn new() -> Self {
        let genesis = BTreeMap::from([(0, Hash::ZERO)]);
        FakeHost {
            roots: genesis.clone(),
            proposal_roots: genesis,
            pool: 0,
            next_tx: 0,
            lie_at: None,
            change_at: None,
        }
    }

    pub fn execute(&mut self, req: &ExecuteRequest) -> Input {
        let prev = *self.roots.get(&(req.seq.0 - 1)).expect("executed in order");
        let mut outcome = honest_outcome(req, prev);
        if let ExecOutcome::Valid {
            validators: changed,
            ..
        } = &mut outcome
        {
            *changed = self
                .change_at
                .as_ref()
                .filter(|(at, _)| *at == req.seq.0)
                .map(|(_, set)| set.clone());
        }
        if let ExecOutcome::Valid { state_root, .. } = outcome {
            self.roots.insert(req.seq.0, state_root);
            self.proposal_roots.insert(req.seq.0, state_root);
        }
        Input::Executed {
            seq: req.seq,
            digest: req.digest,
            outcome,
        }
    }

    pub fn propose(&mut self, req: ProposalRequest, me: ReplicaId, now_ms: u64) -> Input {
        let take = self.pool.min(req.max_txs as usize);
        let txs: Vec<u64> = (self.next_tx..self.next_tx + take as u64).collect();
        self.next_tx += take as u64;
        self.pool -= take;
        let batch = batch(me.0, now_ms, &txs);
        let prev = *self
            .proposal_roots
            .get(&(req.seq.0 - 1))
            .expect("proposals in order");
        let mut result = state_root(prev, batch.digest());
        self.proposal_roots.insert(req.seq.0, result);
        if self.lie_at == Some(req.seq.0) {
            result = crypto::sha256(b"a lie");
        }
        Input::Proposal {
            seq: req.seq,
            batch,
            result,
        }
    }

    /// After a restart: speculative state above the ledger is gone.
    pub fn forget_above(&mut self, committed: SeqNo) {
        self.roots = self
            .roots
            .split_off(&0)
            .into_iter()
            .filter(|(h, _)| *h <= committed.0)
            .collect();
        self.proposal_roots = self.roots.clone();
    }
}

/// N replicas, their hosts, and a network queue of `(to, message)`.
pub struct Cluster {
    pub n: usize,
    pub replicas: Vec<Replica>,
    pub hosts: Vec<FakeHost>,
    pub queue: VecDeque<(u32, Envelope)>,
    pub committed: Vec<Vec<CommittedBlock>>,
    pub persisted: Vec<PersistedState>,
    pub faults: Vec<(u32, Fault)>,
    pub ignored: Vec<(u32, Ignored)>,
    pub down: Vec<bool>,
    pub now_ms: u64,
    /// With a generator, messages are delivered in random order and sometimes twice.
    pub rng: Option<ChaCha8Rng>,
    /// With a generator, the probability that a message is lost.
    pub loss: f64,
    /// Every message each replica handed out, in order, for determinism checks.
    pub trace: Sha256,
    /// What each replica signed per (sender, kind, view, seq): never two values.
    pub signed: BTreeMap<(u32, MessageKind, u64, u64), (Hash, Hash)>,
}

impl Cluster {
    pub fn new(n: usize) -> Self {
        Cluster {
            n,
            replicas: (0..n as u32).map(|i| replica(n, i)).collect(),
            hosts: vec![FakeHost::new(); n],
            queue: VecDeque::new(),
            committed: vec![Vec::new(); n],
            persisted: vec![PersistedState::default(); n],
            faults: Vec::new(),
            ignored: Vec::new(),
            down: vec![false; n],
            now_ms: 0,
            rng: None,
            loss: 0.0,
            trace: Sha256::new(),
            signed: BTreeMap::new(),
        }
    }

    pub fn shuffled(n: usize, seed: u64) -> Self {
        let mut cluster = Cluster::new(n);
        cluster.rng = Some(ChaCha8Rng::seed_from_u64(seed));
        cluster
    }

    /// Steps replica `id` with `input` and carries out everything it asks, feeding the
    /// host's answers straight back.
    pub fn input(&mut self, id: u32, input: Input) {
        let mut local = VecDeque::from([input]);
        while let Some(input) = local.pop_front() {
            if self.down[id as usize] {
                return;
            }
            let ready = self.replicas[id as usize].step(input);
            self.carry_out(id, ready, &mut local);
        }
    }

    fn carry_out(&mut self, id: u32, ready: Ready, local: &mut VecDeque<Input>) {
        let i = id as usize;
        for entry in &ready.persist {
            self.persisted[i]
                .apply(entry)
                .expect("persisted log within its bound");
        }
        for block in &ready.commit {
            self.trace
                .update(&block.seq.0.to_le_bytes())
                .update(block.block_hash.as_bytes());
            self.persisted[i].record_commit(block);
            self.committed[i].push(block.clone());
        }
        for out in &ready.then_send {
            self.trace.update(&out.message.signature().0);
            self.assert_no_equivocation(&out.message);
            match out.to {
                Target::All => {
                    for to in self.replicas[i].peers() {
                        self.queue.push_back((to.0, out.message.clone()));
                    }
                }
                Target::One(to) => self.queue.push_back((to.0, out.message.clone())),
            }
        }
        if let Some(req) = ready.propose {
            local.push_back(self.hosts[i].propose(req, ReplicaId(id), self.now_ms));
        }
        for req in &ready.execute {
            local.push_back(self.hosts[i].execute(req));
        }
        self.faults
            .extend(ready.faults.into_iter().map(|f| (id, f)));
        self.ignored
            .extend(ready.ignored.into_iter().map(|g| (id, g)));
    }

    /// No replica signs two digests (pre-prepare, prepare), two block hashes (commit)
    /// or two checkpoints for one (view, seq), across restarts too.
    fn assert_no_equivocation(&mut self, envelope: &Envelope) {
        let signed = match envelope {
            Envelope::Message(signed) => signed,
            Envelope::ViewChange(signed) => {
                let key = (signed.sender.0, signed.kind, 0, 0);
                let value = (crypto::sha256(&signed.payload), Hash::ZERO);
                self.assert_once(key, value);
                return;
            }
            Envelope::NewView(signed) => {
                let key = (signed.sender.0, signed.kind, 0, 0);
                let value = (crypto::sha256(&signed.payload), Hash::ZERO);
                self.assert_once(key, value);
                return;
            }
            // Requests and answers promise nothing.
            Envelope::Recovery(_) | Envelope::Update(_) => return,
        };
        let validators = self.replicas[0].config().validators.clone();
        let verified = verify(signed, &validators, CHAIN).expect("own messages verify");
        let (view, value) = match verified.message() {
            Message::PrePrepare(m) => (m.view.0, (m.digest, Hash::ZERO)),
            Message::Prepare(m) => (m.view.0, (m.digest, Hash::ZERO)),
            Message::Commit(m) => (m.view.0, (m.digest, m.block_hash)),
            Message::Checkpoint(m) => (0, (m.block_hash, Hash::ZERO)),
            Message::Heartbeat(m) => (m.view.0, (Hash::ZERO, Hash::ZERO)),
        };
        let key = (
            signed.sender.0,
            signed.kind,
            view,
            verified.message().seq().0,
        );
        self.assert_once(key, value);
    }

    fn assert_once(&mut self, key: (u32, MessageKind, u64, u64), value: (Hash, Hash)) {
        // A VIEW-CHANGE or NEW-VIEW is keyed by its payload's view below.
        let first = *self.signed.entry(key).or_insert(value);
        if key.1 == MessageKind::ViewChange || key.1 == MessageKind::NewView {
            return;
        }
        assert_eq!(first, value, "replica {} equivocated: {key:?}", key.0);
    }

    /// Delivers one queued message; false when the queue is empty.
    pub fn deliver_one(&mut self) -> bool {
        let picked = match &mut self.rng {
            Some(rng) if !self.queue.is_empty() => {
                let at = rng.gen_range(0..self.queue.len());
                let duplicate = rng.gen_bool(0.05);
                let lost = rng.gen_bool(self.loss);
                let item = self.queue.remove(at).expect("index in range");
                if duplicate {
                    self.queue.push_back(item.clone());
                }
                if lost {
                    return true;
                }
                Some(item)
            }
            _ => self.queue.pop_front(),
        };
        let Some((to, envelope)) = picked else {
            return false;
        };
        if self.down[to as usize] {
            return true;
        }
        let validators = self.replicas[to as usize].config().validators.clone();
        let input = verify_envelope(&envelope, &validators, CHAIN).expect("honest messages verify");
        self.input(to, input);
        true
    }

    pub fn run_until_quiet(&mut self) {
        let mut steps = 0;
        while self.deliver_one() {
            steps += 1;
            assert!(steps < 1_000_000, "the network never went quiet");
        }
    }

    /// Adds `count` transactions to the primary's pool and tells it.
    pub fn submit(&mut self, primary: u32, count: usize) {
        let host = &mut self.hosts[primary as usize];
        host.pool += count;
        let input = Input::TxsAvailable {
            count: host.pool,
            oldest_ms: self.now_ms,
        };
        self.input(primary, input);
    }

    pub fn tick(&mut self, ms: u64) {
        self.now_ms += ms;
        for id in 0..self.n as u32 {
            self.input(
                id,
                Input::Tick {
                    now_ms: self.now_ms,
                },
            );
        }
    }

    /// Drives the primary (replica 0) until every live replica committed `height`.
    pub fn run_to_height(&mut self, height: u64) {
        let live: Vec<u32> = (0..self.n as u32)
            .filter(|i| !self.down[*i as usize])
            .collect();
        self.run_to_height_of(&live, height);
    }

    /// Drives the primary (replica 0) until each of `ids` committed `height`.
    pub fn run_to_height_of(&mut self, ids: &[u32], height: u64) {
        let ids = ids.to_vec();
        self.drive_until(height, move |cluster| {
            ids.iter()
                .all(|i| cluster.replicas[*i as usize].last_committed().0 >= height)
        });
    }

    /// Drives the primary until q replicas committed `height`: liveness for a quorum.
    /// A replica left behind a checkpoint the others made stable needs recovery
    /// (DESIGN.md section 5.2, not built yet).
    pub fn run_until_quorum_at(&mut self, height: u64) {
        self.drive_until(height, move |cluster| {
            let mut heights: Vec<u64> = cluster
                .replicas
                .iter()
                .map(|r| r.last_committed().0)
                .collect();
            heights.sort_unstable_by(|a, b| b.cmp(a));
            heights[consensus::quorum(cluster.n) - 1] >= height
        });
    }

    fn drive_until(&mut self, height: u64, done: impl Fn(&Cluster) -> bool) {
        for _ in 0..20_000 {
            if done(self) {
                return;
            }
            if self.hosts[0].pool == 0 {
                self.submit(0, BATCH_MAX_TXS as usize);
            } else {
                let pool = self.hosts[0].pool;
                self.input(
                    0,
                    Input::TxsAvailable {
                        count: pool,
                        oldest_ms: self.now_ms,
                    },
                );
            }
            self.tick(1);
            for _ in 0..50 {
                if !self.deliver_one() {
                    break;
                }
            }
        }
        for r in &self.replicas {
            eprintln!(
                "r{} committed {:?} h {:?} log {}",
                r.me().0,
                r.last_committed(),
                r.low_watermark(),
                r.log_len()
            );
        }
        panic!("did not reach height {height}");
    }

    /// Crashes replica `id`: it loses its memory and every message in flight to it.
    pub fn crash(&mut self, id: u32) {
        self.down[id as usize] = true;
        self.queue.retain(|(to, _)| *to != id);
    }

    /// Restarts replica `id` from what it persisted.
    pub fn restart(&mut self, id: u32) {
        let i = id as usize;
        let restored = self.persisted[i].clone();
        self.replicas[i] = Replica::new(
            config(self.n, id),
            keys(self.n)[i].clone(),
            Some(restored),
            self.now_ms,
        )
        .expect("restores");
        self.hosts[i].forget_above(self.replicas[i].last_committed());
        self.down[i] = false;
    }

    /// Agreement (below), and no replica reported a fault: what every run of honest
    /// replicas must end with. `what` names the run in the failure message.
    pub fn assert_sound(&self, what: &str) {
        self.assert_agreement();
        assert!(self.faults.is_empty(), "{what}: {:?}", self.faults);
    }

    /// Agreement: every pair of replicas committed the same block at each height
    /// they both committed, and each committed heights 1, 2, ... in order.
    pub fn assert_agreement(&self) {
        for blocks in &self.committed {
            for (i, block) in blocks.iter().enumerate() {
                assert_eq!(block.seq, SeqNo(i as u64 + 1), "heights commit in order");
            }
        }
        for a in &self.committed {
            for b in &self.committed {
                for (x, y) in a.iter().zip(b) {
                    assert_eq!(
                        (x.digest, x.block_hash),
                        (y.digest, y.block_hash),
                        "agreement at {:?}",
                        x.seq
                    );
                }
            }
        }
    }
}
