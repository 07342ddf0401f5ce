//! `node::net` end to end: real libp2p over 127.0.0.1 with real ports
//! (DESIGN.md section 8: dialled validators, bounded frames and queues, request-response,
//! garbage senders disconnected). Every wait is bounded.

use bytes::Bytes;
use consensus::ReplicaId;
use node::net::{self, NetConfig, NetError, NetEvent, NetHandle};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const WAIT: Duration = Duration::from_secs(5);

/// The genesis hash every node of these tests shows in its hello.
fn genesis() -> crypto::Hash {
    crypto::sha256(b"the net tests' chain")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Keys and addresses of `n` validators, plus a config builder for each.
struct Testnet {
    keys: Vec<crypto::SigningKey>,
    validators: Vec<(crypto::PublicKey, String)>,
}

impl Testnet {
    fn new(n: u8) -> Self {
        let keys: Vec<_> = (0..n)
            .map(|i| crypto::SigningKey::from_seed([i + 1; 32]))
            .collect();
        let validators = keys
            .iter()
            .map(|key| {
                (
                    key.public_key(),
                    format!("/ip4/127.0.0.1/tcp/{}", free_port()),
                )
            })
            .collect();
        Testnet { keys, validators }
    }

    fn config(&self, me: usize) -> NetConfig {
        let mut config = NetConfig::new(
            self.keys[me].clone(),
            self.validators.clone(),
            self.validators[me].1.clone(),
            genesis(),
        );
        config.redial_min = Duration::from_millis(50);
        config.redial_max = Duration::from_millis(400);
        config.request_timeout = Duration::from_millis(1500);
        config
    }
}

struct Node {
    handle: NetHandle,
    events: mpsc::Receiver<NetEvent>,
}

async fn start(config: NetConfig) -> Node {
    // A port just freed by a stopped node may take a moment to be bindable again.
    let deadline = Instant::now() + WAIT;
    loop {
        match net::start(config.clone()).await {
            Ok((handle, events)) => return Node { handle, events },
            Err(NetError::BadListenAddr { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("start failed: {e}"),
        }
    }
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Waits until `handle` is connected to exactly `peers`.
async fn until_connected(handle: &NetHandle, peers: &[u32]) {
    let want: Vec<ReplicaId> = peers.iter().map(|&p| ReplicaId(p)).collect();
    within(
        &format!("{:?} connected to {peers:?}", handle.me()),
        async {
            while handle.connected() != want {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await
}

fn others(n: u32, me: u32) -> Vec<u32> {
    (0..n).filter(|&p| p != me).collect()
}

/// Collects `count` frames, checking nothing else arrives in between but connection
/// changes; returns them per sender in arrival order.
async fn frames(events: &mut mpsc::Receiver<NetEvent>, count: usize) -> HashMap<u32, Vec<Vec<u8>>> {
    let mut got: HashMap<u32, Vec<Vec<u8>>> = HashMap::new();
    let mut seen = 0;
    within(&format!("{count} frames"), async {
        while seen < count {
            match events.recv().await.expect("network running") {
                NetEvent::Message { from, bytes } => {
                    got.entry(from.0).or_default().push(bytes);
                    seen += 1;
                }
                NetEvent::Request { .. } => panic!("unexpected request"),
                NetEvent::Connected(_) | NetEvent::Disconnected(_) => {}
            }
        }
    })
    .await;
    got
}

fn numbered(sender: u8, i: u32, len: usize) -> Bytes {
    let mut frame = vec![sender; len.max(5)];
    frame[1..5].copy_from_slice(&i.to_be_bytes());
    Bytes::from(frame)
}

fn assert_in_order(frames: &[Vec<u8>], sender: u8, count: u32) {
    assert_eq!(frames.len(), count as usize, "frames from {sender}");
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame[0], sender);
        assert_eq!(
            u32::from_be_bytes(frame[1..5].try_into().unwrap()),
            i as u32,
            "order of frames from {sender}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_connect_and_frames_arrive_in_order() {
    let testnet = Testnet::new(4);
    let mut nodes = Vec::new();
    for me in 0..4 {
        nodes.push(start(testnet.config(me)).await);
    }
    for (me, node) in nodes.iter().enumerate() {
        until_connected(&node.handle, &others(4, me as u32)).await;
    }
    // Every node saw a Connected event for each of the three others.
    for node in &mut nodes {
        let mut connected = Vec::new();
        while let Ok(event) = node.events.try_recv() {
            if let NetEvent::Connected(peer) = event {
                connected.push(peer.0);
            }
        }
        connected.sort();
        assert_eq!(connected, others(4, node.handle.me().unwrap().0));
    }

    // Node 0 sends 200 frames of up to 50 KB (a forwarded batch) to node 1 only;
    // node 2 broadcasts 100 small frames.
    for i in 0..200 {
        nodes[0].handle.send(
            ReplicaId(1),
            numbered(0, i, if i % 2 == 0 { 50_000 } else { 300 }),
        );
    }
    for i in 0..100 {
        nodes[2].handle.broadcast(numbered(2, i, 200));
    }
    let at1 = frames(&mut nodes[1].events, 300).await;
    assert_in_order(&at1[&0], 0, 200);
    assert_in_order(&at1[&2], 2, 100);
    for me in [0, 3] {
        let got = frames(&mut nodes[me].events, 100).await;
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_in_order(&got[&2], 2, 100);
    }
    // Node 2 does not hear its own broadcast.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!matches!(
        nodes[2].events.try_recv(),
        Ok(NetEvent::Message { .. })
    ));
    assert_eq!(nodes[0].handle.dropped_frames(), 0);

    for node in &nodes {
        node.handle.shutdown();
    }
}

/// Answers requests: reversed bytes; "drop" → drops the reply; "hold" → keeps it
/// unanswered; "big" → 2048 bytes.
fn serve(mut node: Node) -> NetHandle {
    let handle = node.handle.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(event) = node.events.recv().await {
            if let NetEvent::Request { bytes, reply, .. } = event {
                match bytes.as_slice() {
                    b"drop" => drop(reply),
                    b"hold" => held.push(reply),
                    b"big" => {
                        let _ = reply.send(vec![7; 2048]);
                    }
                    _ => {
                        let _ = reply.send(bytes.into_iter().rev().collect());
                    }
                }
            }
        }
    });
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_response_answers_and_typed_errors() {
    let testnet = Testnet::new(3); // node 2 is never started: it is down
    let mut config0 = testnet.config(0);
    config0.max_response_bytes = 1024;
    let node0 = start(config0).await;
    let node1 = serve(start(testnet.config(1)).await);
    until_connected(&node0.handle, &[1]).await;
    let client = node0.handle.clone();
    let _node0 = serve(node0);

    let answer = within("a request", client.request(ReplicaId(1), b"abc".to_vec())).await;
    assert_eq!(answer.unwrap(), b"cba");

    let started = Instant::now();
    let dropped = within(
        "a dropped reply",
        client.request(ReplicaId(1), b"drop".to_vec()),
    )
    .await;
    assert!(
        matches!(dropped, Err(NetError::NoResponse { peer: ReplicaId(1) })),
        "{dropped:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "a dropped reply is reported at once"
    );

    let held = within(
        "a held reply",
        client.request(ReplicaId(1), b"hold".to_vec()),
    )
    .await;
    assert!(
        matches!(held, Err(NetError::Timeout { peer: ReplicaId(1) })),
        "{held:?}"
    );

    let big = within(
        "a big response",
        client.request(ReplicaId(1), b"big".to_vec()),
    )
    .await;
    assert!(
        matches!(
            big,
            Err(NetError::ResponseTooLarge {
                peer: ReplicaId(1),
                max: 1024
            })
        ),
        "{big:?}"
    );

    let down = within(
        "a request to a down node",
        client.request(ReplicaId(2), b"abc".to_vec()),
    )
    .await;
    assert!(
        matches!(down, Err(NetError::NotConnected { peer: ReplicaId(2) })),
        "{down:?}"
    );

    let too_big = client.request(ReplicaId(1), vec![0; (1 << 20) + 1]).await;
    assert!(
        matches!(too_big, Err(NetError::RequestTooLarge { .. })),
        "{too_big:?}"
    );

    // The connection survived all of that.
    let again = within(
        "a request after errors",
        client.request(ReplicaId(1), b"xy".to_vec()),
    )
    .await;
    assert_eq!(again.unwrap(), b"yx");
    client.shutdown();
    node1.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_is_dialled_and_a_restarted_node_reconnected() {
    let testnet = Testnet::new(4);
    let mut nodes = Vec::new();
    for me in 0..3 {
        nodes.push(start(testnet.config(me)).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // the others back off dialling 3
    nodes.push(start(testnet.config(3)).await);
    for (me, node) in nodes.iter().enumerate() {
        until_connected(&node.handle, &others(4, me as u32)).await;
    }

    // Node 3 stops: the others notice; it comes back on the same address.
    nodes[3].handle.shutdown();
    for (me, node) in nodes.iter().enumerate().take(3) {
        until_connected(&node.handle, &others(3, me as u32)).await;
    }
    let mut restarted = start(testnet.config(3)).await;
    for (me, node) in nodes.iter().enumerate().take(3) {
        until_connected(&node.handle, &others(4, me as u32)).await;
    }
    until_connected(&restarted.handle, &[0, 1, 2]).await;
    nodes[0].handle.send(ReplicaId(3), numbered(0, 0, 10));
    let got = frames(&mut restarted.events, 1).await;
    assert_in_order(&got[&0], 0, 1);

    for node in &nodes {
        node.handle.shutdown();
    }
    restarted.handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_gets_its_sender_disconnected() {
    let testnet = Testnet::new(3);
    let node0 = start(testnet.config(0)).await;
    let mut config1 = testnet.config(1);
    config1.max_frame_bytes = 1024;
    let mut node1 = start(config1).await;
    let node2 = start(testnet.config(2)).await;
    until_connected(&node1.handle, &[0, 2]).await;

    node0.handle.send(ReplicaId(1), numbered(0, 0, 2048));
    within("node 1 drops node 0", async {
        loop {
            match node1.events.recv().await.expect("running") {
                NetEvent::Disconnected(ReplicaId(0)) => break,
                NetEvent::Message { from, .. } => panic!("a frame from {from:?} got through"),
                _ => {}
            }
        }
    })
    .await;
    // Node 0 is refused for the cooldown although it keeps re-dialling.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(node1.handle.connected(), vec![ReplicaId(2)]);

    // Node 1 keeps working with node 2.
    node2.handle.send(ReplicaId(1), numbered(2, 0, 100));
    let got = frames(&mut node1.events, 1).await;
    assert_in_order(&got[&2], 2, 1);

    for handle in [&node0.handle, &node1.handle, &node2.handle] {
        handle.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_validator_cannot_connect_nor_deliver_frames() {
    let testnet = Testnet::new(2);
    let mut node0 = start(testnet.config(0)).await;
    let node1 = start(testnet.config(1)).await;
    until_connected(&node0.handle, &[1]).await;

    // The outsider believes it is validator 2 of a three-validator set.
    let outsider_key = crypto::SigningKey::from_seed([99; 32]);
    let mut validators = testnet.validators.clone();
    validators.push((
        outsider_key.public_key(),
        format!("/ip4/127.0.0.1/tcp/{}", free_port()),
    ));
    let mut config = NetConfig::new(
        outsider_key,
        validators.clone(),
        validators[2].1.clone(),
        genesis(),
    );
    config.redial_min = Duration::from_millis(20);
    config.redial_max = Duration::from_millis(50);
    let outsider = start(config).await;
    let deadline = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < deadline {
        outsider.handle.broadcast(Bytes::from_static(b"let me in"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(node0.handle.connected(), vec![ReplicaId(1)]);
    while let Ok(event) = node0.events.try_recv() {
        assert!(
            !matches!(event, NetEvent::Message { .. }),
            "the outsider got a frame through: {event:?}"
        );
    }
    // Node 0 is still alive for validators.
    node1.handle.send(ReplicaId(0), numbered(1, 0, 10));
    let got = frames(&mut node0.events, 1).await;
    assert_in_order(&got[&1], 1, 1);

    for handle in [&node0.handle, &node1.handle, &outsider.handle] {
        handle.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_another_genesis_delivers_no_frame() {
    let testnet = Testnet::new(3);
    let mut node0 = start(testnet.config(0)).await;
    let node1 = start(testnet.config(1)).await;
    // Node 2 holds a validator key but was started with another genesis.
    let mut config2 = testnet.config(2);
    config2.genesis = crypto::sha256(b"another chain");
    let node2 = start(config2).await;
    until_connected(&node0.handle, &[1]).await;

    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        node2.handle.send(ReplicaId(0), numbered(2, 0, 10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Refused: not connected (it is disconnected and banned at each hello)...
    assert_eq!(node0.handle.connected(), vec![ReplicaId(1)]);
    assert!(!node2.handle.connected().contains(&ReplicaId(0)));
    // ...and none of its frames reached node 0.
    while let Ok(event) = node0.events.try_recv() {
        if let NetEvent::Message { from, .. } = event {
            assert_ne!(from, ReplicaId(2), "a frame of another genesis got through");
        }
    }
    // Nodes of the same genesis still talk.
    node1.handle.send(ReplicaId(0), numbered(1, 0, 10));
    let got = frames(&mut node0.events, 1).await;
    assert_in_order(&got[&1], 1, 1);

    for handle in [&node0.handle, &node1.handle, &node2.handle] {
        handle.shutdown();
    }
}

/// Answers every request with its bytes reversed and reports who asked.
fn serve_recording(mut node: Node) -> (NetHandle, mpsc::Receiver<ReplicaId>) {
    let handle = node.handle.clone();
    let (asked_tx, asked) = mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some(event) = node.events.recv().await {
            if let NetEvent::Request { from, bytes, reply } = event {
                let _ = asked_tx.try_send(from);
                let _ = reply.send(bytes.into_iter().rev().collect());
            }
        }
    });
    (handle, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_another_genesis_gets_and_gives_no_fetch() {
    let testnet = Testnet::new(3);
    // A short ban, so that node 2 comes back (and is refused again) many times.
    let config = |me: usize| {
        let mut config = testnet.config(me);
        config.punish_cooldown = Duration::from_millis(100);
        config
    };
    let (node0, mut asked0) = serve_recording(start(config(0)).await);
    let (node1, _) = serve_recording(start(config(1)).await);
    let mut config2 = config(2);
    config2.genesis = crypto::sha256(b"another chain");
    let (node2, mut asked2) = serve_recording(start(config2).await);
    until_connected(&node0, &[1]).await;

    // Both ways, all the time, through every reconnection of node 2.
    let mut fetches = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        for (from, to) in [(&node2, 0), (&node0, 2)] {
            let from = from.clone();
            fetches.push(tokio::spawn(async move {
                from.request(ReplicaId(to), b"abc".to_vec()).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for fetch in fetches {
        let answer = within("a fetch across genesis", fetch).await.unwrap();
        assert!(answer.is_err(), "a fetch across genesis was answered");
    }
    // Neither side's node ever saw the other's request.
    while let Ok(from) = asked0.try_recv() {
        assert_ne!(from, ReplicaId(2), "node 0 served node 2");
    }
    while let Ok(from) = asked2.try_recv() {
        assert_ne!(from, ReplicaId(0), "node 2 served node 0");
    }

    // Nodes of the same genesis still fetch from each other.
    let answer = within("a fetch", node1.request(ReplicaId(0), b"abc".to_vec())).await;
    assert_eq!(answer.unwrap(), b"cba");
    assert_eq!(within("who asked", asked0.recv()).await, Some(ReplicaId(1)));
    let answer = within("a fetch", node0.request(ReplicaId(1), b"xyz".to_vec())).await;
    assert_eq!(answer.unwrap(), b"zyx");

    for handle in [&node0, &node1, &node2] {
        handle.shutdown();
    }
}

/// A Byzantine validator's client: request-response only, length-prefixed bytes as
/// the node's codec has them, and no frame stream, so it never shows a genesis.
mod silent {
    use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use libp2p::{request_response, StreamProtocol};
    use std::io;

    #[derive(Clone, Default)]
    pub struct Codec;

    async fn read<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > 1 << 20 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let mut bytes = vec![0; len];
        io.read_exact(&mut bytes).await?;
        Ok(bytes)
    }

    async fn write<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
        io.write_all(&(bytes.len() as u32).to_be_bytes()).await?;
        io.write_all(bytes).await?;
        io.flush().await
    }

    #[async_trait::async_trait]
    impl request_response::Codec for Codec {
        type Protocol = StreamProtocol;
        type Request = Vec<u8>;
        type Response = Vec<u8>;

        async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: AsyncRead + Unpin + Send,
        {
            read(io).await
        }

        async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: AsyncRead + Unpin + Send,
        {
            read(io).await
        }

        async fn write_request<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            req: Vec<u8>,
        ) -> io::Result<()>
        where
            T: AsyncWrite + Unpin + Send,
        {
            write(io, &req).await
        }

        async fn write_response<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            res: Vec<u8>,
        ) -> io::Result<()>
        where
            T: AsyncWrite + Unpin + Send,
        {
            write(io, &res).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_that_never_shows_its_genesis_gets_no_fetch_served() {
    use futures::StreamExt;
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::{dial_opts::DialOpts, SwarmEvent};

    let testnet = Testnet::new(3);
    let (node0, mut asked0) = serve_recording(start(testnet.config(0)).await);
    // Node 2's key, but a client that skips the hello and asks for a fetch at once.
    let mut silent = libp2p::SwarmBuilder::with_existing_identity(net::keypair(&testnet.keys[2]))
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                silent::Codec,
                [(
                    libp2p::StreamProtocol::new("/rbft/request/1"),
                    ProtocolSupport::Full,
                )],
                request_response::Config::default().with_request_timeout(Duration::from_secs(10)),
            )
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let node0_id = net::peer_id(&testnet.validators[0].0).unwrap();
    let node0_addr: libp2p::Multiaddr = testnet.validators[0].1.parse().unwrap();
    silent
        .dial(
            DialOpts::peer_id(node0_id)
                .addresses(vec![node0_addr])
                .build(),
        )
        .unwrap();

    // Connected, so node 0 would have served it before; now the request waits for a
    // hello that never comes and is refused.
    let outcome = timeout(Duration::from_secs(10), async {
        loop {
            match silent.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => {
                    silent
                        .behaviour_mut()
                        .send_request(&node0_id, b"abc".to_vec());
                }
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { response, .. },
                    ..
                }) => return Ok(response),
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Request { .. },
                    ..
                }) => panic!("node 0 sent a fetch to a peer that showed no genesis"),
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => return Err(error),
                _ => {}
            }
        }
    })
    .await
    .expect("the request ends");
    assert!(outcome.is_err(), "node 0 answered: {outcome:?}");
    // Refused (and counted) once its wait for the hello ends.
    within("the refusal counted", async {
        while node0.refused_requests() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // Node 0 does not fetch from it either, though it is connected.
    assert!(node0.connected().contains(&ReplicaId(2)));
    let fetch = within("a fetch", node0.request(ReplicaId(2), b"abc".to_vec())).await;
    assert!(
        matches!(fetch, Err(NetError::NotAgreed { peer: ReplicaId(2) })),
        "{fetch:?}"
    );
    while let Ok(from) = asked0.try_recv() {
        assert_ne!(
            from,
            ReplicaId(2),
            "node 0 served a peer that showed no genesis"
        );
    }
    node0.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_for_an_absent_peer_stays_bounded() {
    let testnet = Testnet::new(2); // node 1 never starts
    let mut config = testnet.config(0);
    config.peer_queue = 16;
    let node0 = start(config).await;
    for i in 0..10_000 {
        node0.handle.send(ReplicaId(1), numbered(0, i, 1000));
    }
    assert_eq!(node0.handle.queued_frames(ReplicaId(1)), 16);
    assert_eq!(node0.handle.dropped_frames(), 10_000 - 16);
    node0.handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_for_a_stalled_peer_stays_bounded_and_delivers_the_newest() {
    let testnet = Testnet::new(2);
    let mut config0 = testnet.config(0);
    config0.peer_queue = 16;
    let node0 = start(config0).await;
    let mut config1 = testnet.config(1);
    config1.event_queue = 4;
    let mut node1 = start(config1).await; // does not read its events for now
    until_connected(&node0.handle, &[1]).await;
    // 10 KB every millisecond is far below what the writer can carry, so frames are only
    // dropped because node 1 stopped reading: its Yamux window closed and the writer waits.
    let mut sent = 0u32;
    within("the queue to a stalled peer fills", async {
        while node0.handle.dropped_frames() == 0 {
            node0.handle.send(ReplicaId(1), numbered(0, sent, 10_000));
            sent += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(
        sent > 16,
        "the queue filled only once the window was full: {sent}"
    );
    for _ in 0..1000 {
        node0.handle.send(ReplicaId(1), numbered(0, sent, 10_000));
        sent += 1;
    }
    assert_eq!(node0.handle.queued_frames(ReplicaId(1)), 16);

    // Node 1 reads again: frames flow, increasing, and the last one sent arrives.
    let last = sent - 1;
    within("the newest frame arrives", async {
        let mut previous = None;
        loop {
            if let NetEvent::Message { bytes, .. } = node1.events.recv().await.expect("running") {
                let i = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
                assert!(previous.is_none_or(|p| p < i), "frames out of order");
                previous = Some(i);
                if i == last {
                    break;
                }
            }
        }
    })
    .await;
    node0.handle.shutdown();
    node1.handle.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_punished_peer_is_refused_for_the_cooldown_then_reconnected() {
    let testnet = Testnet::new(2);
    let node0 = start(testnet.config(0)).await;
    let mut config1 = testnet.config(1);
    config1.punish_cooldown = Duration::from_millis(700);
    let node1 = start(config1).await;
    until_connected(&node1.handle, &[0]).await;

    let punished_at = Instant::now();
    node1.handle.punish(ReplicaId(0), "test: sent garbage");
    until_connected(&node1.handle, &[]).await;
    // Still refused half-way through the cooldown, although node 0 keeps dialling.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(node1.handle.connected(), vec![]);
    until_connected(&node1.handle, &[0]).await;
    assert!(punished_at.elapsed() >= Duration::from_millis(700));
    node0.handle.shutdown();
    node1.handle.shutdown();
}

/// Four nodes each broadcast 100 batches of 50 KB (the size of 256 forwarded
/// transactions): 60 MB through one 2-core machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_carry_forwarded_batches() {
    let testnet = Testnet::new(4);
    let mut nodes = Vec::new();
    for me in 0..4 {
        nodes.push(start(testnet.config(me)).await);
    }
    for (me, node) in nodes.iter().enumerate() {
        until_connected(&node.handle, &others(4, me as u32)).await;
    }
    let started = Instant::now();
    for i in 0..100 {
        for (me, node) in nodes.iter().enumerate() {
            node.handle.broadcast(numbered(me as u8, i, 50_000));
        }
    }
    for node in &mut nodes {
        let got = frames(&mut node.events, 300).await;
        for (sender, frames) in &got {
            assert_in_order(frames, *sender as u8, 100);
        }
    }
    let elapsed = started.elapsed();
    println!("1,200 frames of 50 KB delivered in {elapsed:?}");
    for node in &nodes {
        assert_eq!(node.handle.dropped_frames(), 0);
        node.handle.shutdown();
    }
}

/// Issue 7: a validator added while the network runs. The newcomer starts with the
/// others' roster, which does not hold its own key (it has no id yet); the others
/// refuse it until their roster grows, then connect to it, and frames flow both ways.
/// Then the others stop dialling one of the first validators (removed): nothing
/// breaks, and a broadcast no longer goes to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_added_at_runtime_is_admitted_and_dialled() {
    let testnet = Testnet::new(3);
    let two = testnet.validators[..2].to_vec();
    let config = |me: usize| {
        let mut config = testnet.config(me);
        config.roster = two.clone();
        config.dial = vec![ReplicaId(0), ReplicaId(1)];
        config
    };
    let mut nodes = Vec::new();
    for me in 0..2 {
        nodes.push(start(config(me)).await);
    }
    until_connected(&nodes[0].handle, &[1]).await;

    // Node 2 is not on the first two's roster, nor (yet) on its own.
    let mut newcomer = start(config(2)).await;
    assert_eq!(newcomer.handle.me(), None);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        newcomer.handle.connected().is_empty(),
        "refused while unknown"
    );

    // The roster grows on every node, the newcomer's own included.
    let all = testnet.validators.clone();
    let every = [ReplicaId(0), ReplicaId(1), ReplicaId(2)];
    for node in nodes.iter().chain([&newcomer]) {
        node.handle.set_roster(&all, &every).unwrap();
    }
    assert_eq!(newcomer.handle.me(), Some(ReplicaId(2)));
    until_connected(&nodes[0].handle, &[1, 2]).await;
    until_connected(&newcomer.handle, &[0, 1]).await;
    newcomer.handle.send(ReplicaId(0), numbered(2, 0, 100));
    let got = frames(&mut nodes[0].events, 1).await;
    assert_in_order(&got[&2], 2, 1);
    nodes[1].handle.send(ReplicaId(2), numbered(1, 0, 100));
    let got = frames(&mut newcomer.events, 1).await;
    assert_in_order(&got[&1], 1, 1);

    // A shrinking or reordered roster is refused; the roster is unchanged.
    let refused = nodes[0].handle.set_roster(&two, &[ReplicaId(0)]);
    assert!(matches!(refused, Err(NetError::RosterShrunk { .. })));
    assert_eq!(nodes[0].handle.roster_len(), 3);

    // Node 0 is removed: the others stop dialling it and no longer broadcast to it.
    for node in [&nodes[1], &newcomer] {
        node.handle
            .set_roster(&all, &[ReplicaId(1), ReplicaId(2)])
            .unwrap();
    }
    while nodes[0].events.try_recv().is_ok() {}
    nodes[1].handle.broadcast(numbered(1, 1, 100));
    let got = frames(&mut newcomer.events, 1).await;
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![1]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(event) = nodes[0].events.try_recv() {
        assert!(
            !matches!(event, NetEvent::Message { .. }),
            "a broadcast reached the removed validator: {event:?}"
        );
    }

    for handle in [&nodes[0].handle, &nodes[1].handle, &newcomer.handle] {
        handle.shutdown();
    }
}
