//! Nodes that cannot be read are reported by name, never a panic.

use super::fixture::Fixture;
use crate::check::{check_network, CheckOptions, FetchError, NodeApi, Problem};
use node::client::{ClientError, Timeouts};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// A server that answers every request with 200 and `body` as JSON, for `calls`
/// requests.
fn serving(body: &'static str, calls: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(calls) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn an_unreachable_node_and_one_answering_garbage_are_named() {
    let fixture = Fixture::new(1);
    let garbage = serving("{\"height\": \"twelve\"}", 4);
    let nodes = [
        // Nothing listens on port 1: the connection is refused.
        NodeApi::new("gone", "http://127.0.0.1:1"),
        NodeApi::new("garbled", garbage),
    ];
    let options = CheckOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(1),
            call: Duration::from_secs(2),
        },
        ..CheckOptions::default()
    };
    let report = check_network(&nodes, &fixture.genesis, &options);
    assert!(!report.ok());
    assert_eq!((report.nodes, report.nodes_read), (2, 0));
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::Fetch(FetchError::Api { node, source: ClientError::Unreachable { .. } })
                if node == "gone"
        )),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::Fetch(FetchError::Api { node, source: ClientError::Decode { .. } })
                if node == "garbled"
        )),
        "{:?}",
        report.problems
    );
    let text = report.lines().join("\n");
    assert!(
        text.contains("unreadable node gone: cannot reach"),
        "{text}"
    );
    assert!(text.contains("unreadable node garbled:"), "{text}");
}

#[test]
fn an_invalid_genesis_is_reported_without_asking_any_node() {
    let mut fixture = Fixture::new(1);
    fixture.genesis.consensus.checkpoint_interval = 0;
    let report = check_network(
        &[NodeApi::new("gone", "http://127.0.0.1:1")],
        &fixture.genesis,
        &CheckOptions::default(),
    );
    assert!(
        matches!(&report.problems[..], [Problem::InvalidGenesis { .. }]),
        "{:?}",
        report.problems
    );
}
