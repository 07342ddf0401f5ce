//! Every route answers what the OpenAPI document says, and the document and the
//! router list the same routes.

use super::*;

/// Every route's happy path on a node with two committed blocks and a pooled
/// transaction; each body is checked against the OpenAPI document.
#[tokio::test]
async fn every_route_answers_what_the_document_says() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let check = |method: &str, template: &str, answer: &Answer| {
        check_documented(&doc, method, template, answer)
    };

    let b1 = node.commit(vec![node.pay(10, 0), node.pay(20, 1)]);
    let b2 = node.commit(vec![node.pay(30, 2)]);
    let pending = node.pay(5, 3);
    let a = node.post_json(&pending).await;
    check("post", "/txs", &a);
    let submitted: Submitted = a.ok(202);
    assert_eq!(submitted.hash, pending.hash());

    let a = node.get("/health").await;
    check("get", "/health", &a);
    assert_eq!(a.ok::<Health>(200), Health { ok: true });

    let a = node.get("/status").await;
    check("get", "/status", &a);
    let status: StatusInfo = a.ok(200);
    assert_eq!(status.chain_id, CHAIN);
    assert_eq!(status.genesis_hash, node.shared.genesis_hash);
    assert_eq!((status.height, status.tip_hash), (2, b2.hash()));
    assert_eq!((status.replica, status.validators), (Some(0), 4));
    assert!(status.member);
    assert_eq!(status.public_key, node.validators[0].public_key());
    assert!(status.is_primary);
    assert_eq!(status.pool_size, 1);
    assert_eq!(status.target_height, 2);

    let a = node.get("/consensus").await;
    check("get", "/consensus", &a);
    assert_eq!(a.ok::<ConsensusInfo>(200), ConsensusInfo::default());

    let a = node.get("/blocks/latest").await;
    check("get", "/blocks/latest", &a);
    let latest: BlockInfo = a.ok(200);
    assert_eq!((latest.height, latest.hash), (2, b2.hash()));
    assert_eq!(latest.transactions, b2.txs.clone().into_inner());

    let a = node.get("/blocks/1").await;
    check("get", "/blocks/{id}", &a);
    let by_height: BlockInfo = a.ok(200);
    assert_eq!(by_height.hash, b1.hash());
    assert_eq!(by_height.tx_hashes, b1.tx_hashes());
    assert_eq!(by_height.tx_count, 2);
    let by_hash: BlockInfo = node.get(&format!("/blocks/{}", b1.hash())).await.ok(200);
    assert_eq!(by_hash, by_height);
    let genesis: BlockInfo = node.get("/blocks/0").await.ok(200);
    assert_eq!(genesis.height, 0);
    assert_eq!(b1.header.parent, genesis.hash);

    let a = node.get("/blocks").await;
    check("get", "/blocks", &a);
    let list: BlockList = a.ok(200);
    let heights: Vec<u64> = list.blocks.iter().map(|b| b.height).collect();
    assert_eq!((heights, list.next), (vec![0, 1, 2], None));
    // limit is capped by max_blocks_per_page (3) and `next` points past the page.
    node.commit(vec![node.pay(1, 3)]);
    let list: BlockList = node.get("/blocks?from=1&limit=100").await.ok(200);
    let heights: Vec<u64> = list.blocks.iter().map(|b| b.height).collect();
    assert_eq!((heights, list.next), (vec![1, 2, 3], None));
    let list: BlockList = node.get("/blocks?limit=2").await.ok(200);
    assert_eq!((list.blocks.len(), list.next), (2, Some(2)));
    let list: BlockList = node.get("/blocks?from=99").await.ok(200);
    assert_eq!((list.blocks.len(), list.next), (0, None));

    let a = node.get("/blocks/1/commit").await;
    check("get", "/blocks/{height}/commit", &a);
    let commit: CommitInfo = a.ok(200);
    assert_eq!(
        (commit.height, commit.block_hash, commit.view),
        (1, b1.hash(), 0)
    );
    assert_eq!(commit.batch_digest, b1.header.batch_digest);
    let signers: Vec<u32> = commit.signatures.iter().map(|s| s.replica).collect();
    assert_eq!(signers, vec![0, 1, 2]);
    for s in &commit.signatures {
        // Anyone can re-verify: the payload is the COMMIT as signed.
        let payload = hex::decode(&s.payload).unwrap();
        let Message::Commit(c) = Message::from_canonical_bytes(&payload).unwrap() else {
            panic!("not a commit");
        };
        assert_eq!((c.seq, c.block_hash), (SeqNo(1), b1.hash()));
        assert_eq!(
            s.public_key,
            node.validators[s.replica as usize].public_key()
        );
        s.public_key
            .verify(
                consensus::MessageKind::Commit.domain(CHAIN),
                &payload,
                &s.signature,
            )
            .unwrap();
    }
    let message = node.get("/blocks/0/commit").await.error(404, "not_found");
    assert!(message.contains("genesis"), "{message}");

    // The pooled transaction (nonce 3) was dropped when block 3 used nonce 3.
    let a = node.get(&format!("/txs/{}", pending.hash())).await;
    check("get", "/txs/{hash}", &a);
    let dropped: TxInfo = a.ok(200);
    assert_eq!(dropped.status, TxStatus::Dropped);
    assert!(dropped.reason.unwrap().contains("nonce 3 is used"));

    let committed_tx = &b1.txs[1];
    let info: TxInfo = node
        .get(&format!("/txs/{}", committed_tx.hash()))
        .await
        .ok(200);
    assert_eq!(info.status, TxStatus::Committed);
    assert_eq!(
        (info.height, info.block_hash, info.index),
        (Some(1), Some(b1.hash()), Some(1))
    );
    assert_eq!(info.transaction.as_ref(), Some(committed_tx));

    let pooled = node.pay(7, 4);
    node.post_json(&pooled).await.ok::<Submitted>(202);
    let a = node.get(&format!("/txs/{}", pooled.hash())).await;
    check("get", "/txs/{hash}", &a);
    let info: TxInfo = a.ok(200);
    assert_eq!(info.status, TxStatus::Pending);
    assert_eq!(info.transaction, Some(pooled.clone()));
    assert_eq!(info.height, None);

    // A gap: nonce 6 is pooled but 5 is not, so the pending nonce stops at 5.
    node.post_json(&node.pay(1, 6)).await.ok::<Submitted>(202);
    let alice = Address::of(&node.alice.public_key());
    let a = node.get(&format!("/accounts/{alice}")).await;
    check("get", "/accounts/{address}", &a);
    let account: AccountInfo = a.ok(200);
    assert_eq!(
        (
            account.address,
            account.balance,
            account.nonce,
            account.pending_nonce
        ),
        (alice, ALICE_FUNDS - 61, 4, 5)
    );
    let bob: AccountInfo = node.get(&format!("/accounts/{}", node.bob)).await.ok(200);
    assert_eq!((bob.balance, bob.nonce, bob.pending_nonce), (61, 0, 0));
    let nobody = Address([0x77; 20]);
    let a = node.get(&format!("/accounts/{nobody}")).await;
    check("get", "/accounts/{address}", &a);
    let empty: AccountInfo = a.ok(200);
    assert_eq!((empty.balance, empty.nonce, empty.pending_nonce), (0, 0, 0));

    let a = node.get("/validators").await;
    check("get", "/validators", &a);
    let validators: ValidatorsInfo = a.ok(200);
    assert_eq!((validators.f, validators.quorum), (1, 3));
    assert_eq!(validators.validators.len(), 4);
    assert_eq!(
        validators.validators[2].address,
        Address::of(&node.validators[2].public_key())
    );
    assert_eq!(validators.validators[3].p2p_addr, "/ip4/127.0.0.1/tcp/8103");

    node.shared.connected.write().unwrap().insert(ReplicaId(2));
    let a = node.get("/peers").await;
    check("get", "/peers", &a);
    let peers: PeersInfo = a.ok(200);
    let seen: Vec<(u32, bool)> = peers
        .peers
        .iter()
        .map(|p| (p.replica, p.connected))
        .collect();
    assert_eq!(seen, vec![(1, false), (2, true), (3, false)]);

    let a = node.get("/checkpoints/latest").await;
    check("get", "/checkpoints/latest", &a);
    let checkpoint: CheckpointInfo = a.ok(200);
    assert_eq!(
        (checkpoint.height, checkpoint.block_hash),
        (0, genesis.hash)
    );
    assert!(checkpoint.signers.is_empty() && checkpoint.proof.is_empty());

    let a = node.get("/genesis").await;
    check("get", "/genesis", &a);
    let served: GenesisInfo = a.ok(200);
    assert_eq!(served.hash, node.shared.genesis_hash);

    let a = node.get("/metrics").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = String::from_utf8(a.body).unwrap();
    assert!(text.contains("rbft_admitted_txs_total 3"), "{text}");
}

/// The router and the OpenAPI document are built from one list; this checks the
/// outcome: every documented route is served (with its documented method), the
/// routes are those of DESIGN.md section 9, and nothing else is served.
#[tokio::test]
async fn the_document_and_the_router_list_the_same_routes() {
    let node = node();
    node.commit(vec![node.pay(1, 0)]);
    let doc: Value = node.get("/openapi.json").await.ok(200);
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let mut concrete = path.clone();
            for p in operation["parameters"].as_array().unwrap() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    concrete =
                        concrete.replace(&format!("{{{name}}}"), p["example"].as_str().unwrap());
                }
            }
            let body = (method == "post").then(|| b"{}".to_vec());
            if concrete == "/events" {
                // A stream that never ends: its head is the answer.
                let response = node.open(&concrete).await;
                assert_eq!(response.status(), StatusCode::OK);
                assert!(operation["responses"]["200"]["content"]["text/event-stream"].is_object());
                continue;
            }
            let a = node.call(&method.to_uppercase(), &concrete, body).await;
            let code = serde_json::from_slice::<ErrorBody>(&a.body).map(|e| e.error.code);
            assert!(
                !matches!(code.as_deref(), Ok("unknown_route" | "method_not_allowed")),
                "{method} {concrete} is documented but not served"
            );
            // A route's documented answers include the one it gave.
            assert!(
                operation["responses"][a.status.as_u16().to_string()].is_object(),
                "{method} {concrete} answered {}",
                a.status
            );
        }
    }
    documented.sort();
    let mut design = vec![
        "GET /health",
        "GET /status",
        "GET /consensus",
        "GET /blocks",
        "GET /blocks/latest",
        "GET /blocks/{id}",
        "GET /blocks/{height}/commit",
        "GET /txs/{hash}",
        "POST /txs",
        "GET /accounts/{address}",
        "GET /accounts/{address}/txs",
        "GET /validators",
        "GET /peers",
        "GET /checkpoints/latest",
        "GET /genesis",
        "GET /evidence",
        "GET /evidence/{id}",
        "GET /events",
        "GET /metrics",
        "GET /openapi.json",
        "GET /pool",
        "GET /",
        "GET /explorer.js",
        "GET /explorer.css",
    ];
    design.sort();
    assert_eq!(documented, design);
    for schema in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(!schema.is_empty());
    }

    // Anything else: unknown route (404) or wrong method (405), in the error format.
    node.get("/nope").await.error(404, "unknown_route");
    node.get("/blocks/1/commit/x")
        .await
        .error(404, "unknown_route");
    node.get("/txs").await.error(405, "method_not_allowed");
    node.post("/health", "{}")
        .await
        .error(405, "method_not_allowed");
    node.call("DELETE", "/txs/00", None)
        .await
        .error(405, "method_not_allowed");
}
