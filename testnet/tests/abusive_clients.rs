//! End to end: abusive HTTP clients against every node of a 4-node testnet of real
//! `rbft` processes, while honest clients send a steady load.
//!
//! The abusers, each from its own loopback address (127.0.1.x; the honest load
//! and the prober come from 127.0.0.1): thousands of connections that send
//! nothing, opened again as fast as the nodes close them; connections that send a
//! header a byte at a time; 1 MiB headers; and a flood of requests against every
//! route. The test holds the nodes to: `/health` answers the prober within 1 s
//! throughout, the honest load commits at least 80% of the rate it commits without
//! the abuse, every node ends on the same chain, and the nodes counted the
//! connections they refused.
//!
//! Needs the `rbft` binary beside `testnet` (cargo builds both for the workspace's
//! tests) or at `RBFT_BIN`.

use node::client::Client;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use testnet::bench::{self, BenchOptions, BenchReport, BenchTarget};
use testnet::layout::{free_base_port, Layout, LayoutSpec};
use testnet::probe::probe_health;
use testnet::procs::{find_rbft_bin_or_beside, Network};

const RATE: u64 = 300;
const PHASE: Duration = Duration::from_secs(15);
const HEALTH_WITHIN: Duration = Duration::from_secs(1);
/// Idle connections each idle abuser keeps trying to hold per node.
const IDLE_PER_NODE: usize = 1_000;
const SLOW_PER_NODE: usize = 20;
/// Idle connections the idle abuser opens to each node per round.
const IDLE_ROUND: usize = 50;

fn rbft_bin() -> PathBuf {
    find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build -p node)")
}

fn connect_from(from: &str, addr: SocketAddr) -> Option<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    let local: SocketAddr = format!("{from}:0").parse().ok()?;
    socket.bind(&local.into()).ok()?;
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(1))
        .ok()?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    Some(stream)
}

/// Holds up to `n` connections to each node that send nothing, replacing those the
/// node closes, until `stop`. Returns the most it ever held open at once.
fn idle_abuser(addrs: &[SocketAddr], n: usize, stop: &AtomicBool, opened: &AtomicU64) -> usize {
    let mut held: Vec<TcpStream> = Vec::new();
    let mut most = 0;
    while !stop.load(Ordering::SeqCst) {
        // Drop the ones the node closed (a non-blocking peek sees end of file).
        held.retain(|s| {
            let _ = s.set_nonblocking(true);
            let mut b = [0u8; 1];
            match s.peek(&mut b) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            }
        });
        most = most.max(held.len());
        for addr in addrs {
            for _ in 0..IDLE_ROUND {
                if held.len() >= n * addrs.len() {
                    break;
                }
                if let Some(s) = connect_from("127.0.1.1", *addr) {
                    opened.fetch_add(1, Ordering::Relaxed);
                    held.push(s);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    most
}

/// Connections that send a request header one byte every 200 ms, for ever.
fn slow_abuser(addrs: &[SocketAddr], stop: &AtomicBool) {
    let header = b"GET /status HTTP/1.1\r\nHost: abuser\r\nX-Slow: ";
    let mut streams: Vec<(TcpStream, usize)> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        while streams.len() < SLOW_PER_NODE * addrs.len() {
            let addr = addrs[streams.len() % addrs.len()];
            match connect_from("127.0.1.2", addr) {
                Some(s) => streams.push((s, 0)),
                None => break,
            }
        }
        streams.retain_mut(|(s, sent)| {
            let byte = header.get(*sent).copied().unwrap_or(b'x');
            *sent += 1;
            s.write_all(&[byte]).is_ok()
        });
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 1 MiB headers, one connection after another.
fn huge_header_abuser(addrs: &[SocketAddr], stop: &AtomicBool, answered_431: &AtomicU64) {
    let request = format!(
        "GET /status HTTP/1.1\r\nHost: abuser\r\nX-Huge: {}\r\n\r\n",
        "y".repeat(1 << 20)
    );
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let Some(mut s) = connect_from("127.0.1.3", addrs[i % addrs.len()]) else {
            continue;
        };
        let _ = s.write_all(request.as_bytes());
        let mut answer = [0u8; 12];
        if s.read_exact(&mut answer).is_ok() && &answer == b"HTTP/1.1 431" {
            answered_431.fetch_add(1, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Requests against every route, as fast as they are answered, on keep-alive
/// connections.
fn flood_abuser(addrs: &[SocketAddr], stop: &AtomicBool, answered: &AtomicU64) {
    let routes = [
        "GET /status",
        "GET /consensus",
        "GET /blocks?limit=100",
        "GET /blocks/latest",
        "GET /blocks/1",
        "GET /blocks/1/commit",
        "GET /validators",
        "GET /peers",
        "GET /checkpoints/latest",
        "GET /metrics",
        "GET /openapi.json",
        "GET /genesis",
        "GET /txs/00",
        "GET /accounts/00",
        "GET /no-such-route",
    ];
    let mut streams: Vec<Option<TcpStream>> = addrs.iter().map(|_| None).collect();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let n = i % addrs.len();
        let route = routes[i % routes.len()];
        let stream = match &mut streams[n] {
            Some(s) => s,
            slot => match connect_from("127.0.1.4", addrs[n]) {
                Some(s) => slot.insert(s),
                None => continue,
            },
        };
        let request = format!("{route} HTTP/1.1\r\nHost: abuser\r\nConnection: close\r\n\r\n");
        let mut answer = Vec::new();
        if stream.write_all(request.as_bytes()).is_ok() {
            let _ = stream.read_to_end(&mut answer);
        }
        if answer.starts_with(b"HTTP/1.1 ") {
            answered.fetch_add(1, Ordering::Relaxed);
        }
        streams[n] = None;
    }
}

fn load(target: &BenchTarget, senders: &[crypto::SigningKey]) -> BenchReport {
    let options = BenchOptions {
        rate: Some(RATE),
        duration: PHASE,
        window: 16,
        drain_timeout: Duration::from_secs(20),
        progress: true,
        ..BenchOptions::default()
    };
    bench::run(target, senders, &options, &AtomicBool::new(false)).expect("the load runs")
}

fn refused_connections(client: &Client) -> u64 {
    let text = client.metrics_text().expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("rbft_api_refused_connections_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn abusive_clients_leave_the_api_answerable_and_the_commit_rate_within_20_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = LayoutSpec {
        base_port: free_base_port(4).expect("free ports"),
        clients: 400,
        ..LayoutSpec::default()
    };
    let layout = Layout::generate(tmp.path(), &spec).unwrap();
    let senders = layout.client_keys().expect("the client keys");
    let (calm_senders, abused_senders) = senders.split_at(senders.len() / 2);
    let mut network = Network::start(layout, &rbft_bin()).unwrap();
    network
        .wait_for_first_block(Duration::from_secs(60))
        .expect("the testnet commits");
    let target = BenchTarget::of(&network);
    let addrs: Vec<SocketAddr> = target
        .submit_urls
        .iter()
        .map(|u| {
            u.trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .expect("an API address")
        })
        .collect();

    let calm = load(&target, calm_senders);
    eprintln!("abuse: without abuse: {calm:?}");

    let stop = AtomicBool::new(false);
    let stop_probe = AtomicBool::new(false);
    let (opened, answered_431, flooded) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let (abused, health, idle_held) = std::thread::scope(|scope| {
        let idle = scope.spawn(|| idle_abuser(&addrs, IDLE_PER_NODE, &stop, &opened));
        scope.spawn(|| slow_abuser(&addrs, &stop));
        scope.spawn(|| huge_header_abuser(&addrs, &stop, &answered_431));
        scope.spawn(|| flood_abuser(&addrs, &stop, &flooded));
        let prober = scope.spawn(|| {
            probe_health(
                &target.submit_urls,
                HEALTH_WITHIN,
                Duration::from_millis(250),
                &stop_probe,
            )
        });
        // Let the abuse take hold before the measured load starts.
        std::thread::sleep(Duration::from_secs(3));
        let abused = load(&target, abused_senders);
        stop.store(true, Ordering::SeqCst);
        stop_probe.store(true, Ordering::SeqCst);
        (abused, prober.join().unwrap(), idle.join().unwrap())
    });
    eprintln!("abuse: under abuse: {abused:?}");
    let slowest = health.iter().map(|r| r.slowest).max().unwrap_or_default();
    let failures: Vec<String> = health
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.failures.iter().map(move |f| format!("node {i}: {f}")))
        .collect();
    let refused: Vec<u64> = (0..network.len())
        .map(|i| refused_connections(&network.client(i)))
        .collect();
    eprintln!(
        "abuse: idle connections opened {}, at most {idle_held} held at once, 431 answers {}, flood answers {}, refused per node {refused:?}, slowest /health {slowest:?}",
        opened.load(Ordering::Relaxed),
        answered_431.load(Ordering::Relaxed),
        flooded.load(Ordering::Relaxed),
    );

    assert!(
        calm.committed > 0 && calm.committed == calm.submitted,
        "{calm:?}"
    );
    assert_eq!(
        abused.committed, abused.submitted,
        "accepted transfers committed: {abused:?}"
    );
    assert!(
        abused.committed_tps >= 0.8 * calm.committed_tps,
        "the commit rate under abuse {:.0} tx/s fell more than 20% below {:.0} tx/s",
        abused.committed_tps,
        calm.committed_tps
    );
    assert!(
        failures.is_empty(),
        "/health did not answer within {HEALTH_WITHIN:?}: {failures:?}"
    );
    // One address holds at most its share of each node's connections (the
    // default `api.max_connections_per_ip`), however many it opens; the abuser
    // also counts those of its last round (up to IDLE_ROUND a node) that wait in
    // the kernel's accept queue or whose refusal it has not seen yet.
    let share = node::config::NodeConfig::default()
        .api
        .max_connections_per_ip;
    assert!(
        idle_held <= addrs.len() * (share + IDLE_ROUND),
        "one address held {idle_held} idle connections to {} nodes (share {share} each)",
        addrs.len()
    );
    assert!(
        refused.iter().all(|&r| r > 0),
        "every node refused connections: {refused:?}"
    );
    assert!(
        answered_431.load(Ordering::Relaxed) > 0,
        "huge headers got 431"
    );
    assert!(
        flooded.load(Ordering::Relaxed) > 100,
        "the flood was answered"
    );
    let exited = network.exited();
    assert!(exited.is_empty(), "nodes exited: {exited:?}");
}
