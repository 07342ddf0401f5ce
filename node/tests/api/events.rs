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
                if let Some(data) = self.message.line(line) {
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
