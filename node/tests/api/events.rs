//! `GET /events` (issue 19, live events): blocks and their transactions arrive in
//! commit order and as the document describes them; `?tx=` keeps one
//! transaction's; a client that does not read falls behind, is sent `lagged` and
//! dropped while commits go on; past the client limit the answer is 503.

use super::*;
use futures::StreamExt;
use node::client::SseMessage;
use std::time::Duration;

/// The events of one `/events` answer, read from its body as a client would.
struct Events {
    body: axum::body::BodyDataStream,
    pending: Vec<u8>,
    message: SseMessage,
}

impl Events {
    async fn open(node: &Node, path: &str) -> Events {
        let response = node.open(path).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Events {
            body: response.into_body().into_data_stream(),
            pending: Vec::new(),
            message: SseMessage::default(),
        }
    }

    /// The next event's JSON, or `None` when the stream ended. Fails after 5 s.
    async fn next(&mut self) -> Option<Value> {
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = std::str::from_utf8(&line).unwrap().trim_end_matches('\n');
                if let Some(data) = self.message.line(line).expect("an event within the bound") {
                    return Some(serde_json::from_str(&data).unwrap());
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.body.next())
                .await
                .expect("an event within 5 s");
            match chunk {
                Some(bytes) => self.pending.extend_from_slice(&bytes.unwrap()),
                None => return None,
            }
        }
    }
}

fn node_with_events(buffer: usize, clients: usize) -> Node {
    let mut config = test_config();
    config.api.event_buffer = buffer;
    config.api.max_event_clients = clients;
    node_with(config)
}

#[tokio::test]
async fn committed_blocks_and_their_transactions_arrive_in_order() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let schema = json!({ "$ref": "#/components/schemas/Event" });
    let mut events = Events::open(&node, "/events").await;
    let b1 = node.commit(vec![node.pay(10, 0), node.pay(20, 1)]);
    let b2 = node.commit(vec![]);
    let b3 = node.commit(vec![node.pay(30, 2)]);

    let mut expected = Vec::new();
    for block in [&b1, &b2, &b3] {
        expected.push(json!({
            "type": "block",
            "height": block.header.height,
            "hash": block.hash(),
            "tx_count": block.txs.len(),
            "view": 0,
        }));
        for hash in block.tx_hashes() {
            expected.push(json!({
                "type": "tx_committed",
                "hash": hash,
                "height": block.header.height,
            }));
        }
    }
    for (i, want) in expected.iter().enumerate() {
        let got = events.next().await.expect("the stream goes on");
        assert_eq!(&got, want, "event {i}");
        conforms(&doc, &schema, &got, "event").unwrap();
        // Published once durable: the API already reports what the event says.
        if got["type"] == "tx_committed" {
            let info: TxInfo = node
                .get(&format!("/txs/{}", got["hash"].as_str().unwrap()))
                .await
                .ok(200);
            assert_eq!(info.status, TxStatus::Committed);
        }
    }
}

#[tokio::test]
async fn the_tx_filter_keeps_one_transactions_events() {
    let node = node();
    let wanted = node.pay(20, 1);
    let mut events = Events::open(&node, &format!("/events?tx={}", wanted.hash())).await;
    node.commit(vec![node.pay(10, 0)]);
    node.commit(vec![wanted.clone(), node.pay(30, 2)]);
    let got = events.next().await.expect("the stream goes on");
    assert_eq!(
        got,
        json!({ "type": "tx_committed", "hash": wanted.hash(), "height": 2 })
    );
    node.get("/events?tx=xyz").await.error(400, "bad_request");
    node.get("/events?nope=1").await.error(400, "bad_request");
}

/// A client that stops reading never holds up a commit: the channel keeps only
/// the last `event_buffer` events. When it reads again it gets `lagged` and the
/// end of its stream, and its slot is free for another client.
#[tokio::test]
async fn a_client_that_does_not_read_is_sent_lagged_and_dropped() {
    let node = node_with_events(4, 1);
    let mut slow = Events::open(&node, "/events").await;
    for nonce in 0..10 {
        node.commit(vec![node.pay(1, nonce)]);
    }
    let status: StatusInfo = node.get("/status").await.ok(200);
    assert_eq!(status.height, 10, "every commit went through");
    // 10 blocks of one transaction: 20 events, of which the channel keeps 4.
    assert_eq!(
        slow.next().await,
        Some(json!({ "type": "lagged", "missed": 16 }))
    );
    assert_eq!(slow.next().await, None, "then the stream ends");
    drop(slow);
    let mut next = Events::open(&node, "/events").await;
    node.commit(vec![]);
    assert_eq!(next.next().await.unwrap()["height"], 11);
}

#[tokio::test]
async fn clients_past_the_limit_are_refused_with_503() {
    let node = node_with_events(16, 2);
    let a = Events::open(&node, "/events").await;
    let _b = Events::open(
        &node,
        "/events?tx=00000000000000000000000000000000000000000000000000000000000000aa",
    )
    .await;
    let refused = node.get("/events").await;
    let message = refused.error(503, "too_many_clients");
    assert!(message.contains("api.max_event_clients"), "{message}");
    assert_eq!(refused.headers[header::RETRY_AFTER], "5");
    drop(a);
    Events::open(&node, "/events").await;
}

/// Serves `node`'s API on a real socket; returns its URL, the stop switch and
/// the server task.
async fn serve(
    node: &Node,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node::api::serve(
        Arc::clone(&node.shared),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    (url, stop, server)
}

fn rbft(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rbft"));
    command.args(args);
    command
}

/// Waits until `node` has `n` event clients (a command subscribed).
async fn until_clients(node: &Node, n: usize) {
    for _ in 0..500 {
        if node.shared.events.clients() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} event clients expected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_wait_returns_when_the_transaction_commits() {
    let node = node();
    let (url, stop, server) = serve(&node).await;
    let tx = node.pay(10, 0);
    let hash = tx.hash().to_string();
    let wait = rbft(&[
        "tx",
        "wait",
        &hash,
        "--timeout",
        "30",
        "--node",
        &url,
        "--json",
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // The command is subscribed: the commit reaches it as an event.
    until_clients(&node, 1).await;
    let block = node.commit(vec![tx]);
    let out = tokio::task::spawn_blocking(move || wait.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        line,
        json!({ "hash": hash, "status": "committed", "height": block.header.height })
    );

    // Already committed: answered at once, from /txs.
    let started = std::time::Instant::now();
    let out = rbft(&["tx", "wait", &hash, "--node", &url])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("committed"));
    assert!(started.elapsed() < Duration::from_secs(5));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_wait_for_an_unknown_transaction_times_out_saying_so() {
    let node = node();
    let (url, stop, server) = serve(&node).await;
    let unknown = Hash([0xab; 32]).to_string();
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        rbft(&["tx", "wait", &unknown, "--timeout", "1", "--node", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is unknown to the node after 1 s"),
        "{stderr}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// `rbft block watch --json` prints one line per block as it commits; stopping
/// the API ends the streams, so a graceful shutdown is not held up by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_watch_prints_each_block_and_shutdown_ends_the_stream() {
    use std::io::BufRead;
    let node = node();
    let (url, stop, server) = serve(&node).await;
    let mut watch = rbft(&["block", "watch", "--json", "--node", &url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until_clients(&node, 1).await;
    let b1 = node.commit(vec![node.pay(1, 0)]);
    let b2 = node.commit(vec![]);
    let stdout = watch.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .take(2)
            .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let heights: Vec<&Value> = lines.iter().map(|l| &l["height"]).collect();
    assert_eq!(heights, [&json!(1), &json!(2)]);
    assert_eq!(lines[1]["hash"], json!(b2.hash()));
    assert_eq!(lines[0]["tx_count"], json!(b1.txs.len()));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops with a client watching")
        .unwrap()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || watch.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ended the event stream"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A client that sends its request and never reads a byte: once the socket's
/// buffers are full the stream cannot be written, and after
/// `api.write_stall_timeout_ms` the connection is closed and its slot freed,
/// while events go on being published without waiting for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off() {
    use std::io::Write;
    let mut config = test_config();
    config.api.event_buffer = 100_000;
    config.api.max_event_clients = 1;
    config.api.write_stall_timeout_ms = 300;
    let node = node_with(config);
    let (url, stop, server) = serve(&node).await;
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut silent: std::net::TcpStream = socket.into();
    silent
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    until_clients(&node, 1).await;
    // 16 MB of events: more than the kernel's and hyper's buffers hold.
    let reason = "x".repeat(16 * 1024);
    for n in 0..1000u32 {
        let mut hash = [0; 32];
        hash[..4].copy_from_slice(&n.to_le_bytes());
        node.shared.events.publish(node::events::Event::TxDropped {
            hash: Hash(hash),
            reason: reason.clone(),
        });
        if n % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    until_clients(&node, 0).await;
    // The slot is free again, and the node still answers.
    Events::open(&node, "/events").await;
    node.commit(vec![]);
    drop(silent);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A block holding a governance change is followed by a `membership` event with
/// the new set, published when the node's membership is rebuilt from the ledger.
#[tokio::test]
async fn a_validator_added_is_announced_with_the_new_set() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let schema = json!({ "$ref": "#/components/schemas/Event" });
    let mut events = Events::open(&node, "/events").await;
    let admin = SigningKey::from_seed([200; 32]);
    let newcomer = SigningKey::from_seed([9; 32]).public_key();
    let add = Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: admin.public_key(),
        nonce: 0,
        kind: TxKind::AddValidator {
            validator: ValidatorInfo {
                public_key: newcomer,
                p2p_addr: BoundedString::new("/ip4/127.0.0.1/tcp/8104").unwrap(),
            },
        },
    }
    .sign(&admin);
    let block = node.commit(vec![add]);
    let mut seen = Vec::new();
    let membership = loop {
        let got = events.next().await.expect("the stream goes on");
        conforms(&doc, &schema, &got, "event").unwrap();
        if got["type"] == "membership" {
            break got;
        }
        seen.push(got);
        assert!(seen.len() < 10, "no membership event: {seen:?}");
    };
    assert_eq!(membership["height"], block.header.height);
    let mut expected: Vec<Value> = node
        .validators
        .iter()
        .map(|k| json!(k.public_key()))
        .collect();
    expected.push(json!(newcomer));
    assert_eq!(membership["validators"], Value::Array(expected));
}
