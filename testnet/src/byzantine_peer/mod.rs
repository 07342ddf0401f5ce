//! `testnet byzantine-peer`: a test-only process that takes a validator's place
//! with its real key and attacks the other validators over real libp2p (issue 20).
//!
//! It speaks the node's own network layer (`node::net`: Noise, Yamux, the genesis
//! hello, length-prefixed frames), so it passes the connection gate as that
//! validator would, and then breaks the rules:
//!
//! - **equivocation**: whenever it is the primary of the view it sees, two signed
//!   PRE-PREPAREs with different batches for each height, to every peer;
//! - **votes nobody proposed**: signed PREPAREs and COMMITs for random digests at
//!   the heights in progress, CHECKPOINTs for blocks that do not exist;
//! - **old and far-future views**: signed PREPAREs for a view already left and for
//!   a view a million ahead;
//! - **replays**: honest peers' frames sent back to them;
//! - **a flood**: bursts of valid-looking signed PREPAREs far above the window;
//! - **broken frames**: random bytes, a valid frame with a flipped signature bit,
//!   and a frame one byte longer than the honest nodes' limit.
//!
//! It never answers a fetch. The honest validators must keep committing, refuse
//! or disconnect it as their rules say, agree on every block, lose nothing, and
//! keep the evidence of its equivocation. What it did is printed as JSON
//! ([`Report`]) when it stops.

mod forge;

use consensus::{Envelope, Message, ReplicaId, SeqNo, View};
use crypto::Canonical;
use forge::Signer;
use node::config::Home;
use node::net::{self, NetConfig, NetEvent};
use node::wire::PeerMessage;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::Duration;

/// One round of attacks this often.
const TICK: Duration = Duration::from_millis(50);
/// Honest frames kept to replay.
const REPLAYS_KEPT: usize = 64;
/// PREPAREs in one burst of the flood, and how many ticks apart bursts are.
const FLOOD_BURST: usize = 200;
const FLOOD_EVERY_TICKS: u64 = 10;
/// Broken frames (which get it disconnected and refused for a while) are sent this
/// many ticks apart, to one peer at a time.
const BROKEN_EVERY_TICKS: u64 = 60;
/// The most equivocating pairs it signs, and how many ticks apart it repeats one
/// while the others stay at its height.
const MAX_EQUIVOCATIONS: u64 = 32;
const EQUIVOCATE_AGAIN_TICKS: u64 = 20;

/// What the peer did and saw.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Frames sent, by attack.
    pub sent: BTreeMap<&'static str, u64>,
    /// Connections to honest validators made and lost (each punishment of a broken
    /// frame ends one).
    pub connects: u64,
    pub disconnects: u64,
    /// Frames received from the honest validators.
    pub received: u64,
    /// The highest view seen in their messages.
    pub highest_view: u64,
    /// The highest height seen in their messages.
    pub highest_seq: u64,
}

/// Runs the peer as validator `node` of the testnet in `dir` for `seconds`.
pub fn run(dir: &Path, node: usize, seconds: u64, seed: u64) -> Result<Report, String> {
    let home_dir = dir.join(format!("node{node}"));
    let home = Home::load(&home_dir).map_err(|e| format!("{}: {e}", home_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(attack(home, Duration::from_secs(seconds), seed))
}

/// What it has seen of the others' progress.
struct Observed {
    view: View,
    seq: SeqNo,
    replays: VecDeque<(ReplicaId, Vec<u8>)>,
}

impl Observed {
    fn learn(&mut self, from: ReplicaId, bytes: &[u8], report: &mut Report) {
        report.received += 1;
        let Ok(PeerMessage::Consensus(envelope)) = PeerMessage::from_canonical_bytes(bytes) else {
            return;
        };
        match &envelope {
            Envelope::Message(signed) => {
                if let Ok(message) = Message::from_canonical_bytes(&signed.payload) {
                    if let Some(view) = message.view() {
                        self.view = self.view.max(view);
                    }
                    self.seq = self.seq.max(message.seq());
                }
            }
            Envelope::ViewChange(signed) => {
                if let Ok(vc) = consensus::ViewChange::from_canonical_bytes(&signed.payload) {
                    self.view = self.view.max(vc.new_view);
                }
            }
            _ => {}
        }
        if self.replays.len() == REPLAYS_KEPT {
            self.replays.pop_front();
        }
        self.replays.push_back((from, bytes.to_vec()));
        report.highest_view = self.view.0;
        report.highest_seq = self.seq.0;
    }
}

async fn attack(home: Home, duration: Duration, seed: u64) -> Result<Report, String> {
    let genesis = &home.genesis;
    let roster: Vec<(crypto::PublicKey, String)> = genesis
        .validators
        .iter()
        .map(|v| (v.public_key, v.p2p_addr.to_string()))
        .collect();
    let n = roster.len();
    let me = roster
        .iter()
        .position(|(key, _)| *key == home.key.public_key())
        .map(|i| ReplicaId(i as u32))
        .ok_or("the key is not a genesis validator")?;
    let params = &genesis.consensus;
    // The honest nodes' frame limit (as `rbft start` computes it); this peer
    // allows itself more, to send one byte past it.
    let honest_limit = node::run::max_frame_bytes(2 * n, params.log_window, params.batch_max_txs);
    let mut config = NetConfig::new(
        home.key.clone(),
        roster,
        home.config.p2p_listen.clone(),
        genesis.hash(),
    );
    config.max_frame_bytes = 2 * honest_limit + 1024;
    config.peer_queue_bytes = 4 * config.max_frame_bytes;
    let (net, mut events) = net::start(config)
        .await
        .map_err(|e| format!("network: {e}"))?;
    let signer = Signer {
        key: home.key.clone(),
        me,
        chain_id: genesis.chain_id.as_str().to_owned(),
    };
    let others: Vec<ReplicaId> = (0..n as u32).map(ReplicaId).filter(|r| *r != me).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut report = Report::default();
    let mut observed = Observed {
        view: View(0),
        seq: SeqNo(0),
        replays: VecDeque::new(),
    };
    let mut equivocated_at = None;
    let mut equivocations = 0;
    let window = params.log_window;
    let mut tick = tokio::time::interval(TICK);
    let deadline = tokio::time::Instant::now() + duration;
    let mut k: u64 = 0;
    // Attacks start once every honest peer listens: frames sent before are lost.
    let connect_by = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut connected = std::collections::HashSet::new();
    while connected.len() < others.len() {
        match tokio::time::timeout_at(connect_by, events.recv()).await {
            Ok(Some(NetEvent::Connected(peer))) => {
                report.connects += 1;
                connected.insert(peer);
            }
            Ok(Some(NetEvent::Disconnected(peer))) => {
                report.disconnects += 1;
                connected.remove(&peer);
            }
            Ok(Some(NetEvent::Message { from, bytes })) => {
                observed.learn(from, &bytes, &mut report)
            }
            Ok(Some(NetEvent::Request { .. })) => {}
            Ok(None) => return Err("the network stopped".into()),
            Err(_) => return Err(format!("connected to {connected:?} only in 30 s")),
        }
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            event = events.recv() => match event {
                Some(NetEvent::Message { from, bytes }) => observed.learn(from, &bytes, &mut report),
                // Fetches go unanswered: dropping the reply fails them at once.
                Some(NetEvent::Request { .. }) => {}
                Some(NetEvent::Connected(_)) => report.connects += 1,
                Some(NetEvent::Disconnected(_)) => report.disconnects += 1,
                None => return Err("the network stopped".into()),
            },
            _ = tick.tick() => {
                k += 1;
                let view = observed.view;
                let next = SeqNo(observed.seq.0 + 1);
                // Equivocate while primary of the view the others are in: at
                // each new height, and again every second while they stay (a
                // replica still recovering ignores pre-prepares).
                let primary = ReplicaId((view.0 % n as u64) as u32);
                let again = k % EQUIVOCATE_AGAIN_TICKS == 0;
                if primary == me
                    && equivocations < MAX_EQUIVOCATIONS
                    && (again || equivocated_at.is_none_or(|(v, s)| (v, s) < (view, next)))
                {
                    let now_ms = node::shared::Shared::now_ms();
                    let result = forge::random_hash(&mut rng);
                    for frame in signer.equivocating_pre_prepares(view, next, now_ms, result) {
                        net.broadcast(frame.into());
                    }
                    equivocated_at = Some((view, next));
                    equivocations += 1;
                    count(&mut report, "equivocating_pre_prepare_pairs", 1);
                }
                // Votes for digests nobody proposed, in and around the window.
                net.broadcast(signer.prepare(view, next, &mut rng).into());
                net.broadcast(signer.commit(view, next, &mut rng).into());
                count(&mut report, "prepare_unproposed_digest", 1);
                count(&mut report, "commit_unproposed_digest", 1);
                let interval = params.checkpoint_interval.max(1);
                let checkpoint_at = SeqNo((next.0 / interval + 1) * interval);
                net.broadcast(signer.checkpoint(checkpoint_at, &mut rng).into());
                count(&mut report, "checkpoint_unknown_block", 1);
                // Old and far-future views.
                let old = View(view.0.saturating_sub(1));
                net.broadcast(signer.prepare(old, next, &mut rng).into());
                net.broadcast(signer.prepare(View(view.0 + 1_000_000), next, &mut rng).into());
                count(&mut report, "prepare_old_view", 1);
                count(&mut report, "prepare_future_view", 1);
                // Replays of the others' own frames, to the one who sent each.
                if !observed.replays.is_empty() {
                    let (to, frame) = &observed.replays[rng.gen_range(0..observed.replays.len())];
                    net.send(*to, frame.clone().into());
                    count(&mut report, "replay", 1);
                }
                // The flood: PREPAREs far above the window.
                if k % FLOOD_EVERY_TICKS == 0 {
                    for i in 0..FLOOD_BURST as u64 {
                        let seq = SeqNo(next.0 + 10 * window + i);
                        net.broadcast(signer.prepare(view, seq, &mut rng).into());
                    }
                    count(&mut report, "flood_prepare", FLOOD_BURST as u64);
                }
                // Broken frames, to one peer at a time.
                if k % BROKEN_EVERY_TICKS == 0 {
                    let to = others[((k / BROKEN_EVERY_TICKS) as usize) % others.len()];
                    match (k / BROKEN_EVERY_TICKS) % 3 {
                        0 => {
                            net.send(to, forge::garbage(&mut rng).into());
                            count(&mut report, "garbage_frame", 1);
                        }
                        1 => {
                            let frame = signer.prepare(view, next, &mut rng);
                            net.send(to, forge::bad_signature(&frame).into());
                            count(&mut report, "bad_signature_frame", 1);
                        }
                        _ => {
                            net.send(to, vec![0u8; honest_limit + 1].into());
                            count(&mut report, "oversized_frame", 1);
                        }
                    }
                }
            }
        }
    }
    net.shutdown();
    Ok(report)
}

fn count(report: &mut Report, attack: &'static str, frames: u64) {
    *report.sent.entry(attack).or_default() += frames;
}
