//! Block transfer (DESIGN.md section 5.2 step 3): copying the committed blocks up to
//! a proven stable checkpoint from peers.
//!
//! [`transfer`] is the task; whoever decides that this node is behind (today
//! [`Driver::maybe_catch_up`](super::Driver), later the recovery protocol) picks the
//! target checkpoint and the peers and spawns it. Blocks flow through three stages,
//! each bounded, so memory does not grow with the distance to the target:
//!
//! 1. **fetch**: at most [`FETCHES_IN_FLIGHT`] requests of up to
//!    [`MAX_FETCH_BLOCKS`] blocks outstanding to the current peer;
//! 2. **check**, on the blocking pool ([`Checker::check_chunk`]): consecutive
//!    heights, the hash chain, each block's commit certificate (`q` COMMITs of one
//!    view from distinct validators for that height, block hash and batch digest),
//!    the transactions' signatures and the header's transaction root, and that the
//!    target height holds the target's block. Signatures of a whole chunk are
//!    checked in one ed25519 batch (`crypto::verify_batch`; a batch accepts no
//!    signature a validator's key did not make, see its documentation);
//! 3. **apply**, on the driver ([`Driver::apply_chunk`]): the chunk must extend the
//!    ledger's tip; each block is re-executed and must give its header's state root;
//!    the chunk is written in one synced write (all or nothing) and recorded in the
//!    consensus log. At most [`APPLIES_IN_FLIGHT`] chunks wait for the driver.
//!
//! A peer that serves something that fails a check is punished (disconnected for a
//! while) and the transfer goes on from the next peer; one that does not answer, or
//! has no blocks there, is skipped without punishment.
mod apply;
mod check;

pub use apply::apply_to_ledger;
pub use check::{BadBlocks, CheckedBlock, CheckedChunk, Checker};

use super::DriverEvent;
use crate::net::NetHandle;
use crate::wire::{CertifiedBlock, FetchRequest, FetchResponse, MAX_FETCH_BLOCKS};
use consensus::{ReplicaId, StableCheckpoint};
use crypto::{Canonical, Hash};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Block fetches outstanding to one peer at once.
pub const FETCHES_IN_FLIGHT: usize = 2;
/// Checked chunks waiting for the driver to apply them.
pub const APPLIES_IN_FLIGHT: usize = 2;
/// How often a running transfer logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What a transfer task reports to the driver.
pub enum CatchUpEvent {
    /// Checked consecutive blocks to apply on the ledger's tip; the driver answers
    /// through `applied` (the new tip height, or why it refused the chunk).
    Blocks {
        generation: u64,
        chunk: CheckedChunk,
        applied: oneshot::Sender<Result<u64, Refusal>>,
    },
    /// Every block up to the checkpoint was applied.
    Reached {
        generation: u64,
        stable: StableCheckpoint,
    },
    Failed {
        generation: u64,
        reason: String,
    },
}

/// Why the driver did not apply a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The chunk does not start at the ledger's next height: the transfer's idea of
    /// the ledger is wrong (or the chunk followed a refused one). Not the peer's fault.
    #[error("the chunk starts at {first}, the ledger's tip is {tip}")]
    NotOnTip { first: u64, tip: u64 },
    /// A certified block that does not extend the tip or does not execute to its
    /// state root: the peer served it.
    #[error("block {height}: {reason}")]
    Invalid { height: u64, reason: String },
    /// The driver runs another transfer (or none) now.
    #[error("the transfer is not the driver's current one")]
    Stale,
}

/// Asks every peer for its stable checkpoint and picks a target above `height`:
/// the highest with a valid proof, or, higher still, the highest that `f + 1` peers
/// report at or above, among checkpoints too far above this ledger for its
/// membership to judge (a change it has not seen yet may rule their height; the
/// transfer checks the proof when it gets there). Returns it with the peers to
/// fetch from: those that reported it (or a higher one) first, then the others,
/// each in the given order. A peer that serves a checkpoint whose proof is
/// judged invalid is punished.
pub async fn find_target(
    net: &NetHandle,
    checker: &Checker,
    peers: &[ReplicaId],
    height: u64,
) -> Option<(StableCheckpoint, Vec<ReplicaId>)> {
    let answers = futures::future::join_all(
        peers
            .iter()
            .map(|peer| ask(net, *peer, FetchRequest::StableCheckpoint)),
    )
    .await;
    let mut reported = Vec::new();
    let mut unjudged = Vec::new();
    for (peer, answer) in peers.iter().zip(answers) {
        let Some(FetchResponse::StableCheckpoint(Some(stable))) = answer else {
            continue;
        };
        if stable.seq.0 <= height {
            continue;
        }
        match checker.judge(&stable) {
            Some(true) => reported.push((*peer, stable)),
            Some(false) => {
                net.punish(*peer, "served a stable checkpoint without a valid proof");
            }
            None => unjudged.push((*peer, stable)),
        }
    }
    let proven = reported
        .iter()
        .map(|(_, s)| s)
        .max_by_key(|s| s.seq)
        .cloned();
    // f + 1 reports at or above a height include an honest one.
    let f = checker.membership.at(consensus::SeqNo(height + 1)).f();
    let mut seqs: Vec<u64> = reported
        .iter()
        .chain(&unjudged)
        .map(|(_, s)| s.seq.0)
        .collect();
    seqs.sort_unstable_by(|a, b| b.cmp(a));
    let supported = seqs.get(f).copied();
    let far = unjudged
        .iter()
        .filter(|(_, s)| supported.is_some_and(|min| s.seq.0 <= min))
        .map(|(_, s)| s)
        .max_by_key(|s| s.seq)
        .cloned();
    let target = match (proven, far) {
        (Some(p), Some(u)) => {
            if u.seq > p.seq {
                u
            } else {
                p
            }
        }
        (Some(p), None) => p,
        (None, Some(u)) => u,
        (None, None) => return None,
    };
    reported.extend(unjudged);
    let (mut first, mut rest): (Vec<ReplicaId>, Vec<ReplicaId>) = peers.iter().partition(|peer| {
        reported
            .iter()
            .any(|(p, stable)| p == *peer && stable.seq >= target.seq)
    });
    first.append(&mut rest);
    Some((target, first))
}

/// Copies the committed blocks `from_height + 1 ..= target.seq` from `peers` and
/// hands them to the driver, which applies them on its ledger (whose tip must be
/// `from_height`).
///
/// `target` must be a stable checkpoint with a valid proof above `from_height`
/// (the task checks, and fails otherwise): its block hash is what the copied
/// chain must end in. Peers are used in the given order, each until it fails:
/// one that serves blocks failing a check is punished; one that does not answer
/// or lacks the blocks is passed over; the next goes on from the first block not
/// yet applied. Ends with [`CatchUpEvent::Reached`] once the driver has applied
/// the target's block, or [`CatchUpEvent::Failed`] when every peer failed (blocks
/// applied before that stay applied). `generation` tags every event, so the
/// driver can tell this transfer's from an older one's.
pub async fn transfer(
    net: NetHandle,
    events: mpsc::Sender<DriverEvent>,
    checker: Checker,
    peers: Vec<ReplicaId>,
    from_height: u64,
    target: StableCheckpoint,
    generation: u64,
) {
    let event = if target.seq.0 == from_height && checker.holds(&target) {
        // The ledger is at the checkpoint already (a node that synced up to it
        // before its replica started): nothing to copy; the replica checks the hash.
        CatchUpEvent::Reached {
            generation,
            stable: target,
        }
    } else if target.seq.0 <= from_height || checker.judge(&target) == Some(false) {
        // A target too far above the ledger to judge yet is checked when the
        // transfer reaches it.
        CatchUpEvent::Failed {
            generation,
            reason: format!(
                "the target checkpoint at {} is not a proven one above {from_height}",
                target.seq.0
            ),
        }
    } else {
        let mut transfer = Transfer {
            net,
            events: events.clone(),
            applied_checker: checker.clone(),
            checker,
            target,
            generation,
            applied: (from_height, None),
            sent: (from_height, None),
            acks: VecDeque::new(),
            logged: (from_height, Instant::now()),
        };
        match transfer.run(&peers).await {
            Ok(()) => CatchUpEvent::Reached {
                generation,
                stable: transfer.target,
            },
            Err(Stop::DriverGone) => return,
            Err(Stop::PeerFailed(reason) | Stop::Abort(reason)) => {
                CatchUpEvent::Failed { generation, reason }
            }
            Err(Stop::Restart) => CatchUpEvent::Failed {
                generation,
                reason: "restarted outside a peer's turn".into(),
            },
        }
    };
    let _ = events.send(DriverEvent::CatchUp(event)).await;
}

/// Why copying from a peer stopped short of the target.
enum Stop {
    /// The driver stopped listening (it stopped, or moved to another transfer).
    DriverGone,
    /// The driver refused a chunk an earlier peer served: go on with this peer
    /// from the driver's tip.
    Restart,
    /// This peer failed; the next one may do better.
    PeerFailed(String),
    /// No peer can help: the ledger is not where the transfer thinks it is.
    Abort(String),
}

/// A chunk the driver has not answered for yet.
struct Pending {
    peer: ReplicaId,
    last: (u64, Hash),
    applied: oneshot::Receiver<Result<u64, Refusal>>,
    /// The checker after this chunk (its governance changes recorded).
    checker: Checker,
}

/// A fetch in flight: its first height, how many blocks it asked for, the answer.
type Fetch = (u64, u64, JoinHandle<Option<FetchResponse>>);

struct Transfer {
    net: NetHandle,
    events: mpsc::Sender<DriverEvent>,
    /// The checker as of the last block sent to the driver.
    checker: Checker,
    /// The checker as of the last block the driver applied (a restart goes back
    /// to it: blocks sent after were refused).
    applied_checker: Checker,
    target: StableCheckpoint,
    generation: u64,
    /// The ledger's tip as the driver last reported it, with its hash where known.
    applied: (u64, Option<Hash>),
    /// The last height sent to the driver, with its hash where known.
    sent: (u64, Option<Hash>),
    acks: VecDeque<Pending>,
    logged: (u64, Instant),
}

impl Transfer {
    async fn run(&mut self, peers: &[ReplicaId]) -> Result<(), Stop> {
        let mut last_failure = String::from("no peers");
        for &peer in peers {
            match self.copy_from(peer).await {
                Ok(()) => return Ok(()),
                Err(Stop::PeerFailed(reason)) => {
                    tracing::info!(peer = peer.0, %reason, "block transfer: going on from the next peer");
                    last_failure = format!("peer {}: {reason}", peer.0);
                }
                // copy_from handles its restarts; the next peer goes on anyway.
                Err(Stop::Restart) => {}
                Err(stop @ (Stop::DriverGone | Stop::Abort(_))) => return Err(stop),
            }
        }
        Err(Stop::PeerFailed(format!(
            "no peer served the blocks up to {} (last: {last_failure})",
            self.target.seq.0
        )))
    }

    /// Copies blocks from `peer` until the driver has applied the target's block.
    async fn copy_from(&mut self, peer: ReplicaId) -> Result<(), Stop> {
        loop {
            let mut fetches: VecDeque<Fetch> = VecDeque::new();
            let result = self.pipeline(peer, &mut fetches).await;
            for (_, _, fetch) in fetches {
                fetch.abort();
            }
            match result {
                Err(Stop::Restart) => continue,
                other => return other,
            }
        }
    }

    /// Starts fetches from `next_fetch` until [`FETCHES_IN_FLIGHT`] are out.
    fn top_up(&self, peer: ReplicaId, fetches: &mut VecDeque<Fetch>, next_fetch: &mut u64) {
        let target = self.target.seq.0;
        while fetches.len() < FETCHES_IN_FLIGHT && *next_fetch <= target {
            let count = (target - *next_fetch + 1).min(MAX_FETCH_BLOCKS as u64);
            let net = self.net.clone();
            let request = FetchRequest::Blocks {
                from: *next_fetch,
                count: count as u32,
            };
            let fetch = tokio::spawn(async move { ask(&net, peer, request).await });
            fetches.push_back((*next_fetch, count, fetch));
            *next_fetch += count;
        }
    }

    async fn pipeline(
        &mut self,
        peer: ReplicaId,
        fetches: &mut VecDeque<Fetch>,
    ) -> Result<(), Stop> {
        let target = self.target.seq.0;
        let mut next_fetch = self.sent.0 + 1;
        loop {
            if self.applied.0 >= target {
                return Ok(());
            }
            self.top_up(peer, fetches, &mut next_fetch);
            let Some((from, count, fetch)) = fetches.pop_front() else {
                // Everything is sent: wait for the driver.
                self.settle_one(peer).await?;
                continue;
            };
            // The next ones travel while this one is awaited and checked.
            self.top_up(peer, fetches, &mut next_fetch);
            let served = match fetch.await.ok().flatten() {
                Some(FetchResponse::Blocks(blocks)) => blocks.into_inner(),
                Some(FetchResponse::Busy) => {
                    return Err(Stop::PeerFailed(format!(
                        "busy: asked for blocks from {from}"
                    )))
                }
                Some(_) => {
                    self.net
                        .punish(peer, "answered a block fetch with something else");
                    return Err(Stop::PeerFailed("answered with something else".into()));
                }
                None => {
                    return Err(Stop::PeerFailed(format!(
                        "no answer for blocks from {from}"
                    )))
                }
            };
            if served.is_empty() {
                return Err(Stop::PeerFailed(format!("has no blocks from {from}")));
            }
            if (served.len() as u64) < count {
                // A short answer (its byte budget): the fetches after it start
                // past a gap, so they go and the pipeline refills from here.
                for (_, _, fetch) in fetches.drain(..) {
                    fetch.abort();
                }
                next_fetch = from + served.len() as u64;
            }
            let chunk = self.check(peer, served, from, count).await?;
            while self.acks.len() >= APPLIES_IN_FLIGHT {
                self.settle_one(peer).await?;
            }
            self.send(peer, chunk).await?;
        }
    }

    /// Checks a chunk on the blocking pool; punishes `peer` if it fails. On
    /// success the checker moves past the chunk (its membership changes recorded).
    async fn check(
        &mut self,
        peer: ReplicaId,
        served: Vec<CertifiedBlock>,
        from: u64,
        asked: u64,
    ) -> Result<CheckedChunk, Stop> {
        let mut checker = self.checker.clone();
        let target = self.target.clone();
        let parent = self.sent.1;
        let (checker, checked) = tokio::task::spawn_blocking(move || {
            let checked = checker.check_chunk(served, from, asked, parent, &target);
            (checker, checked)
        })
        .await
        .map_err(|e| Stop::PeerFailed(format!("checking blocks: {e}")))?;
        let chunk = checked.map_err(|bad| match bad {
            // The target, not this peer's blocks, is wrong: no peer can help.
            BadBlocks::UnprovenTarget { .. } => Stop::Abort(bad.to_string()),
            bad => {
                let reason = bad.to_string();
                self.net
                    .punish(peer, &format!("served bad blocks: {reason}"));
                Stop::PeerFailed(reason)
            }
        })?;
        self.checker = checker;
        Ok(chunk)
    }

    async fn send(&mut self, peer: ReplicaId, chunk: CheckedChunk) -> Result<(), Stop> {
        let Some(last) = chunk.blocks.last() else {
            return Ok(());
        };
        let last = (last.block.header.height, last.hash);
        let (applied, answer) = oneshot::channel();
        let event = CatchUpEvent::Blocks {
            generation: self.generation,
            chunk,
            applied,
        };
        self.events
            .send(DriverEvent::CatchUp(event))
            .await
            .map_err(|_| Stop::DriverGone)?;
        self.acks.push_back(Pending {
            peer,
            last,
            applied: answer,
            checker: self.checker.clone(),
        });
        self.sent = (last.0, Some(last.1));
        Ok(())
    }

    /// Waits for the driver's answer to the oldest chunk sent.
    async fn settle_one(&mut self, current: ReplicaId) -> Result<(), Stop> {
        let Some(pending) = self.acks.pop_front() else {
            return Err(Stop::PeerFailed("nothing left to fetch or apply".into()));
        };
        match pending.applied.await {
            Ok(Ok(height)) => {
                self.applied = (height, Some(pending.last.1));
                self.applied_checker = pending.checker;
                self.log_progress();
                Ok(())
            }
            Ok(Err(refusal @ Refusal::NotOnTip { .. })) => Err(Stop::Abort(refusal.to_string())),
            Ok(Err(Refusal::Stale)) | Err(_) => Err(Stop::DriverGone),
            Ok(Err(refusal @ Refusal::Invalid { .. })) => {
                let reason = refusal.to_string();
                self.net.punish(
                    pending.peer,
                    &format!("served a block that does not apply: {reason}"),
                );
                // What was sent after it will be refused too: start again from
                // the tip the driver reported.
                self.acks.clear();
                self.sent = self.applied;
                self.checker = self.applied_checker.clone();
                if pending.peer == current {
                    Err(Stop::PeerFailed(reason))
                } else {
                    Err(Stop::Restart)
                }
            }
        }
    }

    fn log_progress(&mut self) {
        let (height, at) = self.logged;
        if at.elapsed() >= PROGRESS_EVERY {
            let rate = (self.applied.0 - height) as f64 / at.elapsed().as_secs_f64();
            tracing::info!(
                height = self.applied.0,
                target = self.target.seq.0,
                blocks_per_s = rate as u64,
                "transferring blocks"
            );
            self.logged = (self.applied.0, Instant::now());
        }
    }
}

/// Sends a fetch to `peer` and decodes the answer; an undecodable answer gets the
/// peer punished.
pub(super) async fn ask(
    net: &NetHandle,
    peer: ReplicaId,
    request: FetchRequest,
) -> Option<FetchResponse> {
    let bytes = net.request(peer, request.to_canonical_bytes()).await.ok()?;
    match FetchResponse::from_canonical_bytes(&bytes) {
        Ok(response) => Some(response),
        Err(e) => {
            net.punish(peer, &format!("undecodable fetch response: {e}"));
            None
        }
    }
}
