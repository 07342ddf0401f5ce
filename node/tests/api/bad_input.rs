//! A table of bad input: each gets the right status, code and message, and the
//! node keeps serving with nothing lost.

use super::*;

/// Bad input of every kind gets a 4xx in the error format, and afterwards the node
/// still serves and its pool holds exactly the valid transactions.
#[tokio::test]
async fn bad_input_is_refused_with_the_right_status_and_code() {
    let node = node();
    node.commit(vec![node.pay(1, 0)]);
    let good = node.pay(10, 1);
    let good_json = serde_json::to_value(&good).unwrap();
    let with = |pointer: &str, value: Value| {
        let mut v = good_json.clone();
        *v.pointer_mut(pointer).unwrap() = value;
        serde_json::to_vec(&v).unwrap()
    };
    let mut bad_signature = good.clone();
    bad_signature.signature.0[5] ^= 1;
    let other_chain = Transaction {
        chain_id: ChainId::new("other-chain").unwrap(),
        ..good.tx.clone()
    }
    .sign(&node.alice);
    let poor = SigningKey::from_seed([99; 32]);
    let mut unknown_field = good_json.clone();
    unknown_field["extra"] = json!(1);
    let mut unknown_inner = good_json.clone();
    unknown_inner["tx"]["memo"] = json!("hi");
    let too_many: Vec<SignedTransaction> = (0..6).map(|n| node.pay(1, 10 + n)).collect();
    let overflow = String::from_utf8(good_json.to_string().into_bytes())
        .unwrap()
        .replace("\"amount\":10", "\"amount\":18446744073709551616");
    assert!(overflow.contains("18446744073709551616"));
    let oversized = format!("[{}]", vec![good_json.to_string(); 80].join(","));
    assert!(oversized.len() > 16 * 1024);

    let s = |v: &str| v.as_bytes().to_vec();
    let hex64 = "ab".repeat(32);
    // (method, path, body, status, code, what the message mentions)
    type Case = (
        &'static str,
        String,
        Option<Vec<u8>>,
        u16,
        &'static str,
        &'static str,
    );
    let table: Vec<Case> = vec![
        (
            "POST",
            "/txs".to_owned(),
            Some(s("{\"tx\": ")),
            400,
            "bad_request",
            "malformed JSON",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(s("not json")),
            400,
            "bad_request",
            "JSON transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(s("")),
            400,
            "bad_request",
            "empty",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(s("[]")),
            400,
            "bad_request",
            "no transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(s("42")),
            400,
            "bad_request",
            "JSON transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/tx/nonce", json!("one"))),
            400,
            "bad_request",
            "invalid type",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/tx/nonce", json!(-1))),
            400,
            "bad_request",
            "invalid value",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/tx/kind", json!({"mint": {}}))),
            400,
            "bad_request",
            "unknown variant",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&unknown_field).unwrap()),
            400,
            "bad_request",
            "unknown field `extra`",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&unknown_inner).unwrap()),
            400,
            "bad_request",
            "unknown field `memo`",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/signature", json!("zz".repeat(64)))),
            400,
            "bad_request",
            "not a valid transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/signature", json!("ab".repeat(63)))),
            400,
            "bad_request",
            "not a valid transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/tx/signer", json!("ab".repeat(31)))),
            400,
            "bad_request",
            "not a valid transaction",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(with("/tx/kind/transfer/to", json!("ab"))),
            400,
            "bad_request",
            "40",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(overflow.into_bytes()),
            400,
            "bad_request",
            "out of range",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&too_many).unwrap()),
            400,
            "bad_request",
            "at most 5",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(oversized.into_bytes()),
            413,
            "body_too_large",
            "16384 bytes",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&bad_signature).unwrap()),
            422,
            "bad_signature",
            "signature",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&other_chain).unwrap()),
            422,
            "wrong_chain",
            "other-chain",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&node.pay(10, 0)).unwrap()),
            422,
            "stale_nonce",
            "nonce 0 is used",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&node.pay(10, 1_000)).unwrap()),
            422,
            "nonce_too_far_ahead",
            "1000",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&node.pay(ALICE_FUNDS, 2)).unwrap()),
            422,
            "insufficient_balance",
            "balance",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&node.pay(0, 2)).unwrap()),
            422,
            "zero_amount",
            "positive",
        ),
        (
            "POST",
            "/txs".to_owned(),
            Some(serde_json::to_vec(&transfer(&poor, node.bob, 1, 0)).unwrap()),
            422,
            "insufficient_balance",
            "balance 0",
        ),
        (
            "GET",
            "/txs/xyz".to_owned(),
            None,
            400,
            "bad_request",
            "not a transaction hash",
        ),
        (
            "GET",
            format!("/txs/{}", "zz".repeat(32)),
            None,
            400,
            "bad_request",
            "not a transaction hash",
        ),
        (
            "GET",
            format!("/txs/{}", "ab".repeat(33)),
            None,
            400,
            "bad_request",
            "not a transaction hash",
        ),
        (
            "GET",
            format!("/txs/{hex64}"),
            None,
            404,
            "not_found",
            "not committed",
        ),
        (
            "GET",
            "/blocks/abc".to_owned(),
            None,
            400,
            "bad_request",
            "neither a block height",
        ),
        (
            "GET",
            "/blocks/-1".to_owned(),
            None,
            400,
            "bad_request",
            "neither a block height",
        ),
        (
            "GET",
            "/blocks/99999999999999999999999".to_owned(),
            None,
            400,
            "bad_request",
            "not a block height",
        ),
        (
            "GET",
            "/blocks/7".to_owned(),
            None,
            404,
            "not_found",
            "no block at height 7",
        ),
        (
            "GET",
            format!("/blocks/{hex64}"),
            None,
            404,
            "not_found",
            "no block with hash",
        ),
        (
            "GET",
            "/blocks/x/commit".to_owned(),
            None,
            400,
            "bad_request",
            "not a block height",
        ),
        (
            "GET",
            "/blocks/7/commit".to_owned(),
            None,
            404,
            "not_found",
            "no block at height 7",
        ),
        (
            "GET",
            "/blocks?from=abc".to_owned(),
            None,
            400,
            "bad_request",
            "from",
        ),
        (
            "GET",
            "/blocks?limit=-3".to_owned(),
            None,
            400,
            "bad_request",
            "limit",
        ),
        (
            "GET",
            "/blocks?limit=0".to_owned(),
            None,
            400,
            "bad_request",
            "at least 1",
        ),
        (
            "GET",
            "/blocks?frm=1".to_owned(),
            None,
            400,
            "bad_request",
            "unknown field",
        ),
        (
            "GET",
            "/accounts/xyz".to_owned(),
            None,
            400,
            "bad_request",
            "40 hex",
        ),
        (
            "GET",
            format!("/accounts/{}", "zz".repeat(20)),
            None,
            400,
            "bad_request",
            "40 hex",
        ),
        (
            "GET",
            format!("/accounts/{}", "ab".repeat(21)),
            None,
            400,
            "bad_request",
            "42 characters",
        ),
        (
            "GET",
            "/unknown".to_owned(),
            None,
            404,
            "unknown_route",
            "no route GET /unknown",
        ),
        (
            "PUT",
            "/txs".to_owned(),
            Some(s("{}")),
            405,
            "method_not_allowed",
            "PUT",
        ),
    ];
    for (method, path, body, status, code, mention) in table {
        let a = node.call(method, &path, body).await;
        let body: ErrorBody = serde_json::from_slice(&a.body).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: not an error body ({e}): {}",
                String::from_utf8_lossy(&a.body)
            )
        });
        assert_eq!(
            (a.status.as_u16(), body.error.code.as_str()),
            (status, code),
            "{method} {path}: {}",
            body.error.message
        );
        assert!(
            body.error.message.contains(mention),
            "{method} {path}: {:?} does not mention {mention:?}",
            body.error.message
        );
    }

    // Nothing of the table reached the pool; the node still admits and serves.
    assert_eq!(node.pool_len(), 0);
    let ok: Submitted = node.post_json(&good).await.ok(202);
    assert_eq!(ok.hash, good.hash());
    // The same nonce with another body is refused; the same transaction is not.
    node.post_json(&node.pay(11, 1))
        .await
        .error(422, "nonce_in_use");
    let again: Submitted = node.post_json(&good).await.ok(202);
    assert_eq!(again.hash, good.hash());
    assert_eq!(node.pool_len(), 1);
    assert!(node
        .shared
        .mempool
        .lock()
        .unwrap()
        .get(&good.hash())
        .is_some());
    node.get("/health").await.ok::<Health>(200);
    let status: StatusInfo = node.get("/status").await.ok(200);
    assert_eq!((status.height, status.pool_size), (1, 1));
}
