//! The HTTP API against a real ledger store and pool (DESIGN.md sections 8 and 9):
//! every route's happy path, the OpenAPI document against the router and the
//! bodies, a table of bad input, a full pool, and a real listener.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use consensus::{Commit, Message, ReplicaId, SeqNo, SignedMessage, View};
use crypto::{BoundedString, BoundedVec, Canonical, Hash, SigningKey};
use ledger::{
    execute_block, Address, Block, ChainId, ExecEnv, Genesis, GenesisBalance, SignedTransaction,
    Store, Transaction, TxKind, ValidatorInfo, VerifiedTx,
};
use node::api::types::*;
use node::config::NodeConfig;
use node::shared::Shared;
use node::wire::Certificate;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const CHAIN: &str = "api-test";
const ALICE_FUNDS: u64 = 1_000_000;

struct Node {
    shared: Arc<Shared>,
    router: Router,
    validators: Vec<SigningKey>,
    alice: SigningKey,
    bob: Address,
    _forwarded: tokio::sync::mpsc::Receiver<Vec<SignedTransaction>>,
    _dir: tempfile::TempDir,
}

fn genesis(validators: &[SigningKey], alice: &SigningKey) -> Genesis {
    Genesis {
        chain_id: ChainId::new(CHAIN).unwrap(),
        genesis_time_ms: 1_700_000_000_000,
        admin: SigningKey::from_seed([200; 32]).public_key(),
        validators: BoundedVec::new(
            validators
                .iter()
                .enumerate()
                .map(|(i, key)| ValidatorInfo {
                    public_key: key.public_key(),
                    p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 8100 + i))
                        .unwrap(),
                })
                .collect(),
        )
        .unwrap(),
        balances: BoundedVec::new(vec![GenesisBalance {
            address: Address::of(&alice.public_key()),
            balance: ALICE_FUNDS,
        }])
        .unwrap(),
        consensus: Default::default(),
    }
}

fn node_with(config: NodeConfig) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let validators: Vec<SigningKey> = (1..=4).map(|i| SigningKey::from_seed([i; 32])).collect();
    let alice = SigningKey::from_seed([21; 32]);
    let genesis = genesis(&validators, &alice);
    let store = Store::open(&dir.path().join("data"), &genesis).unwrap();
    let (shared, forwarded) = Shared::new(genesis, config, ReplicaId(0), store);
    let shared = Arc::new(shared);
    Node {
        router: node::api::router(Arc::clone(&shared)),
        shared,
        validators,
        alice,
        bob: Address([0xbb; 20]),
        _forwarded: forwarded,
        _dir: dir,
    }
}

fn test_config() -> NodeConfig {
    let mut config = NodeConfig::default();
    config.api.max_body_bytes = 16 * 1024;
    config.api.max_txs_per_request = 5;
    config.api.max_blocks_per_page = 3;
    config
}

fn node() -> Node {
    node_with(test_config())
}

fn transfer(key: &SigningKey, to: Address, amount: u64, nonce: u64) -> SignedTransaction {
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: key.public_key(),
        nonce,
        kind: TxKind::Transfer { to, amount },
    }
    .sign(key)
}

impl Node {
    fn pay(&self, amount: u64, nonce: u64) -> SignedTransaction {
        transfer(&self.alice, self.bob, amount, nonce)
    }

    /// Commits the next block holding `txs`, with a certificate of real COMMITs
    /// from a quorum (replicas 0, 1, 2 of 4) in view 0; returns the block.
    fn commit(&self, txs: Vec<SignedTransaction>) -> Block {
        let mut store = self.shared.store.write().unwrap();
        let verified: Vec<VerifiedTx> = txs
            .into_iter()
            .map(|t| VerifiedTx::verify(t).unwrap())
            .collect();
        let view = store.state().view();
        let env = ExecEnv {
            chain_id: CHAIN,
            admin: self.shared.genesis.admin,
            validators: store.validators(),
        };
        let delta = execute_block(&view, env, &verified).unwrap();
        drop(view);
        let tip = store.tip();
        let block = Block::assemble(
            tip.height + 1,
            tip.hash,
            crypto::sha256(&tip.height.to_le_bytes()),
            1_700_000_000_000 + tip.height,
            self.validators[0].public_key(),
            verified.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        let commit = Message::Commit(Commit {
            view: View(0),
            seq: SeqNo(block.header.height),
            digest: block.header.batch_digest,
            block_hash: block.hash(),
        });
        let commits = (0..3)
            .map(|i| SignedMessage::sign(&self.validators[i], CHAIN, ReplicaId(i as u32), &commit))
            .collect();
        let certificate = Certificate {
            view: 0,
            commits: BoundedVec::new(commits).unwrap(),
        };
        store
            .commit_block(&block, &certificate.to_canonical_bytes(), delta)
            .unwrap();
        let hashes = block.tx_hashes();
        let mut pool = self.shared.mempool.lock().unwrap();
        pool.remove_committed(&hashes);
        let alice = Address::of(&self.alice.public_key());
        pool.revalidate([&alice], |a| store.account(a).unwrap_or_default());
        block
    }

    fn pool_len(&self) -> usize {
        self.shared.mempool.lock().unwrap().len()
    }

    async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: bytes.to_vec(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    async fn post(&self, path: &str, body: impl Into<Vec<u8>>) -> Answer {
        self.call("POST", path, Some(body.into())).await
    }

    async fn post_json(&self, body: &impl serde::Serialize) -> Answer {
        self.post("/txs", serde_json::to_vec(body).unwrap()).await
    }
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    fn value(&self) -> Value {
        self.json()
    }

    #[track_caller]
    fn ok<T: serde::de::DeserializeOwned>(&self, status: u16) -> T {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// Asserts an error answer with this status and code; returns its message.
    #[track_caller]
    fn error(&self, status: u16, code: &str) -> String {
        let body: ErrorBody = self.json();
        assert_eq!(
            (self.status.as_u16(), body.error.code.as_str()),
            (status, code),
            "{}",
            body.error.message
        );
        assert!(!body.error.message.is_empty());
        body.error.message
    }
}

// ---------------------------------------------------------------------------
// A checker for the subset of JSON Schema the OpenAPI document uses, so the
// document is tested against the bodies the routes really answer.

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").expect("local ref");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if value.is_null() && schema["nullable"] == json!(true) {
        return Ok(());
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|s| conforms(doc, s, value, at).is_ok())
            .count();
        return match matching {
            1 => Ok(()),
            n => Err(format!("{at}: matches {n} of oneOf")),
        };
    }
    let fail = |what: &str| Err(format!("{at}: {what}: {value}"));
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return fail("not an object");
            };
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required {
                    if !object.contains_key(name.as_str().unwrap()) {
                        return fail(&format!("missing {name}"));
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, field) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => conforms(doc, s, field, &format!("{at}.{name}"))?,
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => return fail(&format!("unexpected {name}")),
                        Some(s @ Value::Object(_)) => {
                            conforms(doc, s, field, &format!("{at}.{name}"))?
                        }
                        _ => {}
                    },
                }
            }
            Ok(())
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return fail("not an array");
            };
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Some("integer") if value.is_u64() => Ok(()),
        Some("integer") => fail("not a non-negative integer"),
        Some("boolean") if value.is_boolean() => Ok(()),
        Some("boolean") => fail("not a boolean"),
        Some("string") => {
            let Some(text) = value.as_str() else {
                return fail("not a string");
            };
            if let Some(options) = schema.get("enum").and_then(Value::as_array) {
                if !options.iter().any(|o| o == value) {
                    return fail("not in the enum");
                }
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                // The document's patterns are all hex: `^[0-9a-fA-F]{N}$` or
                // `^([0-9a-f]{2})*$`.
                let hex = text.bytes().all(|b| b.is_ascii_hexdigit());
                let len_ok = match pattern.split_once('{').and_then(|(_, r)| r.split_once('}')) {
                    Some((n, _)) if pattern.contains("a-fA-F") => {
                        text.len() == n.parse::<usize>().unwrap()
                    }
                    _ => text.len() % 2 == 0,
                };
                if !(hex && len_ok) {
                    return fail(&format!("does not match {pattern}"));
                }
            }
            Ok(())
        }
        Some(other) => panic!("the checker does not know type {other}"),
        None => panic!("{at}: a schema without a type: {schema}"),
    }
}

/// Asserts that `answer` is what the document says `method path` answers.
#[track_caller]
fn check_documented(doc: &Value, method: &str, template: &str, answer: &Answer) {
    let status = answer.status.as_u16().to_string();
    let operation = &doc["paths"][template][method];
    assert!(
        operation.is_object(),
        "{method} {template} is not documented"
    );
    let response = &operation["responses"][&status];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which the document does not list"
    );
    if let Some(schema) = response["content"]["application/json"].get("schema") {
        if let Err(e) = conforms(doc, schema, &answer.value(), "body") {
            panic!("{method} {template} ({status}): {e}");
        }
    }
}

// ---------------------------------------------------------------------------

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
    assert_eq!((status.replica, status.validators), (0, 4));
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
    assert!(checkpoint.signers.is_empty());

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
        "GET /validators",
        "GET /peers",
        "GET /checkpoints/latest",
        "GET /metrics",
        "GET /openapi.json",
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

    // The pooled one is accepted again (idempotent), so this is not "all full".
    let many: SubmittedMany = node
        .post_json(&vec![second.clone(), node.pay(1, 2)])
        .await
        .ok(200);
    assert_eq!((many.accepted, many.rejected), (1, 1));
    assert_eq!(many.results[1].error.as_ref().unwrap().code, "pool_full");
    assert_eq!(node.pool_len(), 2);
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
