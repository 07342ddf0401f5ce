//! The API's connection limits on a real socket (`node::api::serve`): clients that
//! open connections and send nothing, send a header a byte at a time, send a huge
//! header, or open more connections than allowed cannot take the API away from
//! the others.

use super::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _node: Node,
}

async fn server(configure: impl FnOnce(&mut NodeConfig)) -> Server {
    let mut config = test_config();
    configure(&mut config);
    let node = node_with(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(node::api::serve(
        Arc::clone(&node.shared),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        addr,
        shared: Arc::clone(&node.shared),
        stop: Some(stop),
        task,
        _node: node,
    }
}

impl Server {
    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("serve stops")
            .unwrap()
            .unwrap();
    }

    fn refused(&self, reason: &str) -> u64 {
        let text = self.shared.metrics.encode();
        let line = format!("rbft_api_refused_connections_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {line} in the metrics"))
            .trim()
            .parse()
            .unwrap()
    }
}

/// A connection to `addr` from the local address `from` (any 127.x.y.z is this
/// machine's loopback).
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// `GET /health` on `stream`; the whole answer.
fn health(mut stream: TcpStream) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Whether the server closed `stream` (end of file or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    let server = server(|c| {
        c.api.max_connections = 8;
        c.api.max_connections_per_ip = 3;
    })
    .await;
    let addr = server.addr;
    let (held, answers) = blocking(move || {
        // An abuser at 127.0.0.1 opens 3 idle connections, its share...
        let held: Vec<TcpStream> = (0..3).map(|_| connect_from("127.0.0.1", addr)).collect();
        std::thread::sleep(Duration::from_millis(200));
        // ...and a fourth is closed at once, unread.
        let mut fourth = connect_from("127.0.0.1", addr);
        let fourth_closed = closed_within(&mut fourth, Duration::from_secs(5));
        // Another client, at 127.0.0.2, is answered.
        let other = health(connect_from("127.0.0.2", addr));
        (held, (fourth_closed, other))
    })
    .await;
    let (fourth_closed, other) = answers;
    assert!(
        fourth_closed,
        "a connection over the per-address limit is closed"
    );
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    assert!(server.refused("per_ip") >= 1);
    drop(held);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_total_are_closed_and_their_slots_come_back() {
    let server = server(|c| {
        c.api.max_connections = 4;
        c.api.max_connections_per_ip = 4;
    })
    .await;
    let addr = server.addr;
    let held = blocking(move || {
        let held: Vec<TcpStream> = (0..4)
            .map(|i| connect_from(&format!("127.0.0.{}", 10 + i), addr))
            .collect();
        std::thread::sleep(Duration::from_millis(200));
        let mut fifth = connect_from("127.0.0.20", addr);
        assert!(
            closed_within(&mut fifth, Duration::from_secs(5)),
            "a connection over the total is closed"
        );
        held
    })
    .await;
    assert!(server.refused("full") >= 1);
    drop(held);
    // The closed connections give their slots back.
    let answer = blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = health(connect_from("127.0.0.21", addr));
            if answer.starts_with("HTTP/1.1 200") || Instant::now() > deadline {
                return answer;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_headers_are_closed_after_the_header_timeout() {
    let server = server(|c| c.api.header_timeout_ms = 500).await;
    let addr = server.addr;
    blocking(move || {
        let started = Instant::now();
        // Sends nothing.
        let mut idle = connect_from("127.0.0.1", addr);
        // Sends a header a few bytes at a time and never finishes it.
        let mut slow = connect_from("127.0.0.1", addr);
        for chunk in [&b"GET /hea"[..], b"lth HTTP/1.1\r\n", b"Host: t"] {
            slow.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(150));
        }
        assert!(closed_within(&mut idle, Duration::from_secs(5)), "idle");
        assert!(closed_within(&mut slow, Duration::from_secs(5)), "slow");
        let took = started.elapsed();
        assert!(took < Duration::from_secs(4), "closed after {took:?}");
        // A client that sends its header at once is answered as before.
        let answer = health(connect_from("127.0.0.1", addr));
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_header_is_refused_with_431() {
    let server = server(|c| c.api.max_header_bytes = 4096).await;
    let addr = server.addr;
    let answer = blocking(move || {
        let mut stream = connect_from("127.0.0.1", addr);
        let big = "x".repeat(64 * 1024);
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: test\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(request.as_bytes());
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // The node still answers everyone else.
    let ok = blocking(move || health(connect_from("127.0.0.1", addr))).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    server.stop().await;
}
