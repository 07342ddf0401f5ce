//! Arrays, a full pool, an unreadable certificate and a real socket.

use super::*;

/// An array gets one result per transaction, in order; resubmitting is accepted.
#[tokio::test]
async fn an_array_gets_a_result_per_transaction() {
    let node = node();
    let first = node.pay(1, 0);
    node.post_json(&first).await.ok::<Submitted>(202);
    let batch = vec![
        first.clone(),
        node.pay(2, 1),
        node.pay(0, 2),
        node.pay(3, 2),
        node.pay(4, 2),
    ];
    let a = node.post_json(&batch).await;
    let doc = node::api::openapi::document();
    check_documented(doc, "post", "/txs", &a);
    let many: SubmittedMany = a.ok(200);
    assert_eq!((many.accepted, many.rejected), (3, 2));
    let hashes: Vec<Hash> = many.results.iter().map(|r| r.hash).collect();
    assert_eq!(hashes, batch.iter().map(|t| t.hash()).collect::<Vec<_>>());
    let codes: Vec<Option<&str>> = many
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![None, None, Some("zero_amount"), None, Some("nonce_in_use")]
    );
    assert_eq!(node.pool_len(), 3);
    let account: AccountInfo = node
        .get(&format!(
            "/accounts/{}",
            Address::of(&node.alice.public_key())
        ))
        .await
        .ok(200);
    assert_eq!((account.nonce, account.pending_nonce), (0, 3));
}

/// A full pool is a 429 with Retry-After, for one transaction and for an array
/// every item of which was refused for it; a partly admitted array is a 200.
#[tokio::test]
async fn a_full_pool_answers_429_with_retry_after() {
    let mut config = test_config();
    config.mempool.max_txs = 2;
    let node = node_with(config);
    node.post_json(&node.pay(1, 0)).await.ok::<Submitted>(202);
    let second = node.pay(1, 1);
    node.post_json(&second).await.ok::<Submitted>(202);

    let a = node.post_json(&node.pay(1, 2)).await;
    check_documented(node::api::openapi::document(), "post", "/txs", &a);
    assert!(a.error(429, "pool_full").contains("retry"));
    assert_eq!(a.headers[header::RETRY_AFTER], "1");

    let a = node.post_json(&vec![node.pay(1, 2), node.pay(1, 3)]).await;
    a.error(429, "pool_full");
    assert_eq!(a.headers[header::RETRY_AFTER], "1");

    // A full pool refuses before it reads the body, so even a request holding a
    // pooled transaction (which would be accepted again, idempotently) gets 429.
    let a = node.post_json(&vec![second.clone(), node.pay(1, 2)]).await;
    a.error(429, "pool_full");
    assert_eq!(node.pool_len(), 2);
}

/// A pool holding more than `mempool.max_wait_ms` of commits (here the floor,
/// `min_backlog`, as nothing has committed) refuses clients with 429 `pool_busy`
/// and Retry-After, before reading the body; `GET /pool` says where the limit is.
#[tokio::test]
async fn a_busy_pool_answers_429_pool_busy_with_retry_after() {
    let mut config = test_config();
    config.mempool.max_wait_ms = 500;
    config.mempool.min_backlog = 2;
    let node = node_with(config);
    node.post_json(&node.pay(1, 0)).await.ok::<Submitted>(202);
    node.post_json(&node.pay(1, 1)).await.ok::<Submitted>(202);

    let a = node.post_json(&node.pay(1, 2)).await;
    check_documented(node::api::openapi::document(), "post", "/txs", &a);
    assert!(a.error(429, "pool_busy").contains("500 ms of commits"));
    assert_eq!(a.headers[header::RETRY_AFTER], "1");
    let a = node.post_json(&vec![node.pay(1, 2), node.pay(1, 3)]).await;
    a.error(429, "pool_busy");
    assert_eq!(node.pool_len(), 2);

    let pool: node::api::types::PoolInfo = node.get("/pool").await.ok(200);
    assert_eq!((pool.txs, pool.admit_limit, pool.drain_per_s), (2, 2, 0));
}

/// Clients fill the pool to 80% of its limits; the rest is kept for what other
/// validators forward. Within a request, items past the share are refused one by
/// one, and a pooled transaction sent again is accepted again (idempotent).
#[tokio::test]
async fn clients_fill_the_pool_to_their_share() {
    let mut config = test_config();
    config.mempool.max_txs = 5;
    let node = node_with(config);
    let first = node.pay(1, 0);
    node.post_json(&first).await.ok::<Submitted>(202);
    let many: SubmittedMany = node
        .post_json(&vec![
            first.clone(),
            node.pay(1, 1),
            node.pay(1, 2),
            node.pay(1, 3),
            node.pay(1, 4),
        ])
        .await
        .ok(200);
    assert_eq!((many.accepted, many.rejected), (4, 1));
    assert_eq!(many.results[4].error.as_ref().unwrap().code, "pool_full");
    assert_eq!(node.pool_len(), 4);
    node.post_json(&node.pay(1, 4))
        .await
        .error(429, "pool_full");
}

/// A certificate the store holds but cannot decode is the node's fault: a 500
/// with code `internal`, not a panic, and the node keeps serving.
#[tokio::test]
async fn an_unreadable_certificate_is_an_internal_error() {
    let node = node();
    {
        let mut store = node.shared.store.write().unwrap();
        let view = store.state().view();
        let env = ExecEnv {
            chain_id: CHAIN,
            admin: node.shared.genesis.admin,
            validators: store.validators(),
        };
        let delta = execute_block(&view, env, &[]).unwrap();
        drop(view);
        let tip = store.tip();
        let block = Block::assemble(
            1,
            tip.hash,
            Hash::ZERO,
            1,
            node.validators[0].public_key(),
            vec![],
            delta.state_root,
        );
        store
            .commit_block(&block, b"not a certificate", delta)
            .unwrap();
    }
    node.get("/blocks/1/commit").await.error(500, "internal");
    node.get("/blocks/1").await.ok::<BlockInfo>(200);
}

/// `serve` on a real socket answers HTTP/1.1 and stops when told to.
#[tokio::test]
async fn serve_answers_on_a_socket_and_shuts_down() {
    use std::io::{Read, Write};
    let node = node();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(node::api::serve(
        Arc::clone(&node.shared),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"ok\":true}"), "{answer}");
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("serve stops")
        .unwrap()
        .unwrap();
}
