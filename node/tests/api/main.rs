//! The HTTP API against a real ledger store and pool (DESIGN.md sections 8 and 9):
//! every route's happy path, the OpenAPI document against the router and the
//! bodies, a table of bad input, a full pool, and a real listener; and the
//! commands that talk to it (`rbft validator`, `rbft block verify`).

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
    let (shared, forwarded) =
        Shared::new(genesis, config, validators[0].public_key(), store).unwrap();
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
        self.commit_with(txs, |block| {
            let signers: Vec<(u32, &SigningKey)> =
                (0..3).map(|i| (i, &self.validators[i as usize])).collect();
            certificate(block, &signers)
        })
    }

    /// [`Node::commit`] with the certificate `certify` makes for the block (the
    /// store keeps whatever it is given: the API serves it as it is).
    fn commit_with(
        &self,
        txs: Vec<SignedTransaction>,
        certify: impl FnOnce(&Block) -> Certificate,
    ) -> Block {
        let store = self.shared.store.read().unwrap();
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
        drop(store);
        let certificate = certify(&block);
        // The driver's own commit: the synced write, the pool, the metrics and
        // the events.
        node::driver::write_block(&self.shared, &block, &certificate, delta).unwrap();
        // As the driver does after each commit: a governance block grows the roster.
        self.shared.refresh_membership().unwrap();
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

    /// A GET whose body is left unread (an event stream never ends).
    async fn open(&self, path: &str) -> axum::response::Response {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        self.router.clone().oneshot(request).await.unwrap()
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

/// The COMMIT of `block` in view 0, signed by `key` as `replica`.
fn commit_of(block: &Block, replica: u32, key: &SigningKey) -> SignedMessage {
    let commit = Message::Commit(Commit {
        view: View(0),
        seq: SeqNo(block.header.height),
        digest: block.header.batch_digest,
        block_hash: block.hash(),
    });
    SignedMessage::sign(key, CHAIN, ReplicaId(replica), &commit)
}

/// A view-0 certificate of `block` by these (roster id, key) signers, in order.
fn certificate(block: &Block, signers: &[(u32, &SigningKey)]) -> Certificate {
    let commits = signers
        .iter()
        .map(|(replica, key)| commit_of(block, *replica, key))
        .collect();
    Certificate {
        view: 0,
        commits: BoundedVec::new(commits).unwrap(),
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
                // A cursor, `HEIGHT.INDEX`.
                if pattern == r"^[0-9]+\.[0-9]+$" {
                    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                    return match text.split_once('.') {
                        Some((h, i)) if digits(h) && digits(i) => Ok(()),
                        _ => fail(&format!("does not match {pattern}")),
                    };
                }
                // The other patterns are all hex: `^[0-9a-fA-F]{N}$` or
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

mod bad_input;
mod connections;
mod events;
mod explorer;
mod governance;
mod history;
mod others;
mod page;
mod routes;
mod sign;
mod verify;
