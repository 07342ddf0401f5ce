//! The block transfer task (`node::driver::transfer`) against peers on real libp2p:
//! a peer that serves a forged certificate is punished and the transfer goes on
//! from the next peer, one that has no blocks is passed over, short answers are
//! followed up, and the driver gets every block once, in order, in bounded chunks.
//! The driver is played by the test: it acknowledges each chunk.

use consensus::{
    Checkpoint, Commit, Message, ReplicaId, SeqNo, SignedMessage, StableCheckpoint, View,
};
use crypto::{BoundedVec, Canonical, Hash, SigningKey};
use ledger::Block;
use node::driver::transfer::{transfer, CatchUpEvent, Checker, Refusal, APPLIES_IN_FLIGHT};
use node::driver::DriverEvent;
use node::net::{self, NetConfig, NetError, NetEvent, NetHandle};
use node::wire::{Certificate, CertifiedBlock, FetchRequest, FetchResponse, MAX_FETCH_BLOCKS};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const CHAIN: &str = "transfer-test";
const WAIT: Duration = Duration::from_secs(20);
/// Blocks in the chain; the target checkpoint is the last.
const TIP: u64 = 1_000;
/// The Byzantine peer forges the certificate of this block.
const FORGED: u64 = 600;
/// The honest peer answers with at most this many blocks (fewer than asked).
const SHORT: usize = 100;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn keys() -> Vec<SigningKey> {
    (0..4u8)
        .map(|i| SigningKey::from_seed([i + 1; 32]))
        .collect()
}

fn sign(signer: usize, message: &Message) -> SignedMessage {
    SignedMessage::sign(&keys()[signer], CHAIN, ReplicaId(signer as u32), message)
}

/// Empty blocks 1..=TIP, each certified by validators 0, 1, 2 in view 0, and the
/// checkpoint at the tip.
fn chain() -> (Vec<CertifiedBlock>, StableCheckpoint) {
    let mut parent = Hash::ZERO;
    let mut blocks = Vec::new();
    for height in 1..=TIP {
        let block = Block::assemble(
            height,
            parent,
            crypto::sha256(&height.to_be_bytes()),
            height,
            keys()[0].public_key(),
            Vec::new(),
            Hash::ZERO,
        );
        parent = block.hash();
        let commit = Message::Commit(Commit {
            view: View(0),
            seq: SeqNo(height),
            digest: block.header.batch_digest,
            block_hash: block.hash(),
        });
        let commits = (0..3).map(|i| sign(i, &commit)).collect();
        blocks.push(CertifiedBlock {
            block,
            certificate: Certificate {
                view: 0,
                commits: BoundedVec::new(commits).unwrap(),
            },
        });
    }
    let checkpoint = Message::Checkpoint(Checkpoint {
        seq: SeqNo(TIP),
        block_hash: parent,
    });
    let target = StableCheckpoint {
        seq: SeqNo(TIP),
        block_hash: parent,
        proof: BoundedVec::new((0..3).map(|i| sign(i, &checkpoint)).collect()).unwrap(),
    };
    (blocks, target)
}

#[derive(Clone, Copy)]
enum Serves {
    /// Honest, but at most `SHORT` blocks an answer.
    Honest,
    /// Honest except for block `FORGED`, whose certificate carries a bad signature.
    Forger,
    /// Has no blocks.
    Nothing,
}

/// Answers block fetches from `blocks` as `serves` says; counts the blocks sent.
fn serve(
    mut events: mpsc::Receiver<NetEvent>,
    blocks: Arc<Vec<CertifiedBlock>>,
    serves: Serves,
    sent: Arc<AtomicU64>,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let NetEvent::Request { bytes, reply, .. } = event else {
                continue;
            };
            let Ok(FetchRequest::Blocks { from, count }) =
                FetchRequest::from_canonical_bytes(&bytes)
            else {
                continue;
            };
            let limit = match serves {
                Serves::Honest => SHORT,
                Serves::Forger => MAX_FETCH_BLOCKS,
                Serves::Nothing => 0,
            };
            let mut answer: Vec<CertifiedBlock> = blocks
                .iter()
                .skip(from.saturating_sub(1) as usize)
                .take((count as usize).min(limit))
                .cloned()
                .collect();
            if let Serves::Forger = serves {
                for certified in &mut answer {
                    if certified.block.header.height == FORGED {
                        certified.certificate.commits[1].signature.0[0] ^= 1;
                    }
                }
            }
            sent.fetch_add(answer.len() as u64, Ordering::SeqCst);
            let response = FetchResponse::Blocks(BoundedVec::new(answer).unwrap());
            let _ = reply.send(response.to_canonical_bytes());
        }
    });
}

async fn start(config: NetConfig) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let deadline = Instant::now() + WAIT;
    loop {
        match net::start(config.clone()).await {
            Ok(started) => return started,
            Err(NetError::BadListenAddr { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("start failed: {e}"),
        }
    }
}

type Network = (
    NetHandle,
    Vec<NetHandle>,
    Vec<Arc<AtomicU64>>,
    StableCheckpoint,
);

/// Validator 0 (the one transferring) and peers 1 (forger), 2 (has nothing) and 3
/// (honest, short answers), connected. Returns validator 0's handle, the other
/// handles (kept alive), the blocks each peer served and the target. A free port
/// found here can be taken by another test before the node listens on it; then
/// the four never connect, and the setup starts again on other ports.
async fn network() -> Network {
    for _ in 0..3 {
        if let Some(network) = try_network().await {
            return network;
        }
    }
    panic!("the peers never connected, on three sets of ports");
}

async fn try_network() -> Option<Network> {
    let keys = keys();
    let validators: Vec<(crypto::PublicKey, String)> = keys
        .iter()
        .map(|k| {
            (
                k.public_key(),
                format!("/ip4/127.0.0.1/tcp/{}", free_port()),
            )
        })
        .collect();
    let config = |me: usize| {
        let mut config = NetConfig::new(
            keys[me].clone(),
            validators.clone(),
            validators[me].1.clone(),
            crypto::sha256(b"the transfer tests' chain"),
        );
        config.redial_min = Duration::from_millis(50);
        config.redial_max = Duration::from_millis(400);
        config.punish_cooldown = Duration::from_secs(60);
        config
    };
    let (blocks, target) = chain();
    let blocks = Arc::new(blocks);
    let (me, mut my_events) = start(config(0)).await;
    tokio::spawn(async move { while my_events.recv().await.is_some() {} });
    let served: Vec<Arc<AtomicU64>> = (0..4).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut peers = Vec::new();
    for (i, serves) in [
        (1, Serves::Forger),
        (2, Serves::Nothing),
        (3, Serves::Honest),
    ] {
        let (handle, events) = start(config(i)).await;
        serve(events, blocks.clone(), serves, served[i].clone());
        peers.push(handle);
    }
    let deadline = Instant::now() + WAIT;
    while me.connected().len() < 3 {
        if Instant::now() >= deadline {
            me.shutdown();
            for peer in &peers {
                peer.shutdown();
            }
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some((me, peers, served, target))
}

/// Waits until `peer` is disconnected (a punishment takes effect in the swarm task).
async fn disconnected(me: &NetHandle, peer: u32) {
    let deadline = Instant::now() + WAIT;
    while me.connected().contains(&ReplicaId(peer)) {
        assert!(Instant::now() < deadline, "peer {peer} was not punished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn checker() -> Checker {
    let keys: Vec<_> = keys().iter().map(|k| k.public_key()).collect();
    Checker::fixed(&keys, CHAIN, 10, 40)
}

/// What the test's driver saw.
struct Driven {
    tip: u64,
    most_waiting: usize,
    end: CatchUpEvent,
}

/// Plays the driver: every chunk must start at the tip; it is applied unless
/// `refuse` says so for its first height. Returns at the transfer's last event.
async fn drive(
    events: &mut mpsc::Receiver<DriverEvent>,
    refuse: impl Fn(u64) -> Option<Refusal>,
) -> Driven {
    let mut tip = 0;
    let mut most_waiting = 0;
    loop {
        let event = timeout(WAIT, events.recv())
            .await
            .expect("the transfer reports")
            .expect("the task ends with an event");
        let DriverEvent::CatchUp(event) = event else {
            panic!("only transfer events");
        };
        let CatchUpEvent::Blocks {
            generation,
            chunk,
            applied,
        } = event
        else {
            return Driven {
                tip,
                most_waiting,
                end: event,
            };
        };
        assert_eq!(generation, 7);
        most_waiting = most_waiting.max(events.len() + 1);
        let heights: Vec<u64> = chunk.blocks.iter().map(|b| b.block.header.height).collect();
        assert!(heights.len() <= MAX_FETCH_BLOCKS);
        assert!(heights.windows(2).all(|w| w[1] == w[0] + 1));
        if heights[0] != tip + 1 {
            // Sent before an earlier chunk was refused: the real driver refuses it.
            let _ = applied.send(Err(Refusal::NotOnTip {
                first: heights[0],
                tip,
            }));
            continue;
        }
        match refuse(heights[0]) {
            Some(refusal) => {
                let _ = applied.send(Err(refusal));
            }
            None => {
                tip = *heights.last().unwrap();
                let _ = applied.send(Ok(tip));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forger_is_punished_and_the_next_peers_finish_the_transfer() {
    let (me, _peers, served, target) = network().await;
    let (events_tx, mut events) = mpsc::channel(1024);
    let order = vec![ReplicaId(1), ReplicaId(2), ReplicaId(3)];
    tokio::spawn(transfer(
        me.clone(),
        events_tx,
        checker(),
        order,
        0,
        target.clone(),
        7,
    ));
    let driven = drive(&mut events, |_| None).await;
    let CatchUpEvent::Reached { generation, stable } = driven.end else {
        panic!("the transfer did not reach its target");
    };
    assert_eq!((generation, stable), (7, target));
    assert_eq!(driven.tip, TIP);
    assert!(
        driven.most_waiting <= APPLIES_IN_FLIGHT,
        "{} chunks waited for the driver",
        driven.most_waiting
    );
    // The forger served up to its forgery, the empty peer nothing, the honest one
    // the rest (some of the forger's good blocks may be fetched again).
    assert!(served[1].load(Ordering::SeqCst) >= FORGED - 1);
    assert_eq!(served[2].load(Ordering::SeqCst), 0);
    assert!(served[3].load(Ordering::SeqCst) > TIP - FORGED);
    disconnected(&me, 1).await;
    assert!(me.connected().contains(&ReplicaId(3)));
}

/// A chunk the driver refuses (a certified block that does not execute) gets its
/// peer punished; with no peer left the transfer fails, keeping what was applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_chunk_punishes_its_peer_and_with_none_left_the_transfer_fails() {
    let (me, _peers, _served, target) = network().await;
    let (events_tx, mut events) = mpsc::channel(1024);
    let order = vec![ReplicaId(2), ReplicaId(3)];
    tokio::spawn(transfer(
        me.clone(),
        events_tx,
        checker(),
        order,
        0,
        target,
        7,
    ));
    let driven = drive(&mut events, |first| {
        (first > 400).then(|| Refusal::Invalid {
            height: first,
            reason: "does not execute".into(),
        })
    })
    .await;
    let CatchUpEvent::Failed { generation, reason } = driven.end else {
        panic!("the transfer cannot succeed");
    };
    assert_eq!(generation, 7);
    assert!(reason.contains("peer 3"), "{reason}");
    assert_eq!(driven.tip, 400, "chunks of {SHORT} up to the refused one");
    disconnected(&me, 3).await;
    assert!(me.connected().contains(&ReplicaId(2)), "not punished");
}

/// A target without a valid proof is refused before anything is fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_without_a_proof_fails_at_once() {
    let (me, _peers, served, mut target) = network().await;
    target.proof = BoundedVec::new(target.proof[..2].to_vec()).unwrap();
    let (events_tx, mut events) = mpsc::channel(1024);
    tokio::spawn(transfer(
        me,
        events_tx,
        checker(),
        vec![ReplicaId(3)],
        0,
        target,
        7,
    ));
    let driven = drive(&mut events, |_| None).await;
    assert!(matches!(driven.end, CatchUpEvent::Failed { .. }));
    assert_eq!(served[3].load(Ordering::SeqCst), 0);
}

/// A driver whose ledger is not at `from_height` ends the transfer: no peer is
/// blamed and no other peer is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_elsewhere_ends_the_transfer_without_blaming_peers() {
    let (me, _peers, served, target) = network().await;
    let (events_tx, mut events) = mpsc::channel(1024);
    let order = vec![ReplicaId(3), ReplicaId(1)];
    tokio::spawn(transfer(
        me.clone(),
        events_tx,
        checker(),
        order,
        0,
        target,
        7,
    ));
    let driven = drive(&mut events, |first| {
        Some(Refusal::NotOnTip { first, tip: 5 })
    })
    .await;
    let CatchUpEvent::Failed { reason, .. } = driven.end else {
        panic!("the transfer cannot succeed");
    };
    assert!(reason.contains("tip is 5"), "{reason}");
    assert_eq!(served[1].load(Ordering::SeqCst), 0, "no other peer asked");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(me.connected().contains(&ReplicaId(3)), "not punished");
}
