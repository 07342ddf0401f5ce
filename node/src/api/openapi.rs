//! The OpenAPI 3.0 document at `/openapi.json`, built from [`ROUTES`] and the
//! schemas of the bodies in [`super::types`] (written by hand: the tests check the
//! bodies the routes really answer against them).

use super::error::CODES;
use super::routes::{Body, ParamIn, ParamType, Route, ROUTES};
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The document (built once).
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(build)
}

fn build() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(route.method.name().to_owned(), operation(route));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "rbft node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HTTP API of an rbft validator (DESIGN.md sections 8 and 9). \
                Hashes, keys, signatures and addresses are lower-case hex; amounts, heights \
                and nonces are JSON numbers. Every error is an ErrorBody.",
        },
        "paths": paths,
        "components": { "schemas": schemas() },
    })
}

fn operation(route: &Route) -> Value {
    let mut responses = Map::new();
    for (status, body) in route.ok {
        responses.insert(status.to_string(), ok_response(*body));
    }
    for status in route.errors.iter().chain(&[500]) {
        let mut response = json!({
            "description": error_description(*status),
            "content": { "application/json": { "schema": schema_ref("ErrorBody") } },
        });
        if matches!(*status, 429 | 503) {
            response["headers"] = json!({
                "Retry-After": {
                    "description": "Seconds to wait before retrying",
                    "schema": { "type": "integer" },
                }
            });
        }
        responses.insert(status.to_string(), response);
    }
    let parameters: Vec<Value> = route
        .params
        .iter()
        .map(|p| {
            let schema = param_schema(p.kind);
            let location = match p.location {
                ParamIn::Path => "path",
                ParamIn::Query => "query",
            };
            json!({
                "name": p.name,
                "in": location,
                "required": p.location == ParamIn::Path,
                "description": p.description,
                "schema": schema,
                "example": p.example,
            })
        })
        .collect();
    let mut op = json!({
        "summary": route.summary,
        "operationId": format!("{:?}", route.endpoint),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(schema) = route.request {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema_ref(schema) } },
        });
    }
    op
}

/// A parameter's schema: path parameters reference the document's own `Hash` and
/// `Address` schemas, so a client generator types them as it types the bodies.
fn param_schema(kind: ParamType) -> Value {
    let height = || json!({ "type": "integer", "format": "int64", "minimum": 0 });
    match kind {
        ParamType::Integer => height(),
        ParamType::Hash => schema_ref("Hash"),
        ParamType::Address => schema_ref("Address"),
        // Disjoint: a height has at most 20 digits, a hash exactly 64 characters
        // (an id of 64 digits is a hash).
        ParamType::Cursor => json!({ "type": "string", "pattern": "^[0-9]+\\.[0-9]+$" }),
        ParamType::Word(words) => json!({ "type": "string", "enum": words }),
        ParamType::BlockId => json!({
            "oneOf": [
                height(),
                schema_ref("Hash"),
            ],
        }),
    }
}

fn ok_response(body: Body) -> Value {
    match body {
        Body::Json(name) => json!({
            "description": name,
            "content": { "application/json": { "schema": schema_ref(name) } },
        }),
        Body::AnyJson => json!({
            "description": "The OpenAPI document",
            "content": { "application/json": { "schema": { "type": "object" } } },
        }),
        Body::EventStream => json!({
            "description": "Server-Sent Events: each message's `event` is the event's \
                type and its `data` one `Event` in JSON. `lagged` is the last one sent to \
                a client that fell behind; then the stream ends",
            "content": { "text/event-stream": { "schema": schema_ref("Event") } },
        }),
        Body::Asset(content_type) => json!({
            "description": "A file of the explorer page",
            "content": { content_type: { "schema": { "type": "string" } } },
        }),
        Body::PrometheusText => json!({
            "description": "Prometheus text exposition format 0.0.4",
            "content": { "text/plain": { "schema": { "type": "string" } } },
        }),
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "Malformed input: JSON, types, unknown fields, hex, lengths, parameters",
        404 => "No such object",
        413 => "The body is larger than api.max_body_bytes",
        422 => "The transaction was refused (the code says why)",
        429 => {
            "The pool is full (code pool_full), or holds more than mempool.max_wait_ms \
             of commits (code pool_busy): retry after Retry-After seconds"
        }
        503 => {
            "The node is catching up with its peers and cannot judge the transaction \
            yet (code catching_up), or /events has api.max_event_clients clients \
            (code too_many_clients): retry after Retry-After seconds, or ask another node"
        }
        500 => "The node could not read its own state",
        _ => "Error",
    }
}

pub fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn hex(bytes: usize, description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^[0-9a-fA-F]{{{}}}$", bytes * 2),
        "description": description,
    })
}

fn uint(format: &str) -> Value {
    json!({ "type": "integer", "format": format, "minimum": 0 })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn boolean() -> Value {
    json!({ "type": "boolean" })
}

fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// An object with exactly these fields; those in `optional` may be absent.
fn object(fields: &[(&str, Value)], optional: &[&str]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !optional.contains(name))
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn schemas() -> Value {
    let hash = || schema_ref("Hash");
    let key = || schema_ref("PublicKey");
    let u64_ = || uint("int64");
    let u32_ = || uint("int32");
    let tx_kind = json!({
        "description": "Externally tagged: exactly one of the keys",
        "oneOf": [
            object(&[("transfer", object(&[("to", schema_ref("Address")), ("amount", u64_())], &[]))], &[]),
            object(&[("add_validator", object(&[("validator", schema_ref("ValidatorInfo"))], &[]))], &[]),
            object(&[("remove_validator", object(&[("public_key", key())], &[]))], &[]),
        ],
    });
    let mut all = json!({
        "Hash": hex(32, "SHA-256, hex"),
        "PublicKey": hex(32, "ed25519 public key, hex"),
        "Signature": hex(64, "ed25519 signature, hex"),
        "Address": hex(20, "First 20 bytes of SHA-256 of the public key, hex"),
        "ErrorDetail": object(&[
            ("code", json!({ "type": "string", "enum": CODES })),
            ("message", string()),
        ], &[]),
        "ErrorBody": object(&[("error", schema_ref("ErrorDetail"))], &[]),
        "ValidatorInfo": object(&[
            ("public_key", key()),
            ("p2p_addr", json!({ "type": "string", "maxLength": 256 })),
        ], &[]),
        "TxKind": tx_kind,
        "Transaction": object(&[
            ("chain_id", json!({ "type": "string", "minLength": 1, "maxLength": 64 })),
            ("signer", key()),
            ("nonce", u64_()),
            ("kind", schema_ref("TxKind")),
        ], &[]),
        "SignedTransaction": object(&[
            ("tx", schema_ref("Transaction")),
            ("signature", schema_ref("Signature")),
        ], &[]),
        "SubmitBody": {
            "oneOf": [
                schema_ref("SignedTransaction"),
                { "type": "array", "items": schema_ref("SignedTransaction"), "minItems": 1 },
            ],
        },
        "Submitted": object(&[("hash", hash())], &[]),
        "SubmitResult": object(&[("hash", hash()), ("error", schema_ref("ErrorDetail"))], &["error"]),
        "SubmittedMany": object(&[
            ("accepted", u64_()),
            ("rejected", u64_()),
            ("results", array(schema_ref("SubmitResult"))),
        ], &[]),
        "TxStatus": { "type": "string", "enum": ["pending", "committed", "dropped"] },
        "TxInfo": object(&[
            ("hash", hash()),
            ("status", schema_ref("TxStatus")),
            ("transaction", schema_ref("SignedTransaction")),
            ("height", u64_()),
            ("block_hash", hash()),
            ("index", u32_()),
            ("reason", string()),
        ], &["transaction", "height", "block_hash", "index", "reason"]),
        "BlockInfo": object(&[
            ("hash", hash()),
            ("height", u64_()),
            ("parent", hash()),
            ("batch_digest", hash()),
            ("tx_root", hash()),
            ("state_root", hash()),
            ("tx_count", u32_()),
            ("timestamp_ms", u64_()),
            ("proposer", key()),
            ("tx_hashes", array(hash())),
            ("transactions", array(schema_ref("SignedTransaction"))),
        ], &[]),
        "BlockSummary": object(&[
            ("hash", hash()),
            ("height", u64_()),
            ("parent", hash()),
            ("state_root", hash()),
            ("tx_count", u32_()),
            ("timestamp_ms", u64_()),
            ("proposer", key()),
        ], &[]),
        "BlockList": object(&[
            ("blocks", array(schema_ref("BlockSummary"))),
            ("next", u64_()),
        ], &["next"]),
        "CommitSignature": object(&[
            ("replica", u32_()),
            ("public_key", key()),
            ("payload", json!({ "type": "string", "pattern": "^([0-9a-f]{2})*$",
                "description": "The signed COMMIT's canonical bytes, hex" })),
            ("signature", schema_ref("Signature")),
        ], &[]),
        "CommitInfo": object(&[
            ("height", u64_()),
            ("block_hash", hash()),
            ("view", u64_()),
            ("batch_digest", hash()),
            ("signatures", array(schema_ref("CommitSignature"))),
        ], &[]),
        "AccountInfo": object(&[
            ("address", schema_ref("Address")),
            ("balance", u64_()),
            ("nonce", u64_()),
            ("pending_nonce", u64_()),
        ], &[]),
        "StatusInfo": object(&[
            ("chain_id", string()),
            ("genesis_hash", hash()),
            ("replica", json!({ "type": "integer", "format": "int32", "minimum": 0, "nullable": true,
                "description": "Roster id; null while this node's key is not on its ledger's roster" })),
            ("member", boolean()),
            ("public_key", key()),
            ("height", u64_()),
            ("tip_hash", hash()),
            ("view", u64_()),
            ("primary", u32_()),
            ("is_primary", boolean()),
            ("changing_view", boolean()),
            ("low_watermark", u64_()),
            ("high_watermark", u64_()),
            ("pool_size", u64_()),
            ("peers_connected", u64_()),
            ("validators", u64_()),
            ("catching_up", boolean()),
            ("target_height", u64_()),
            ("uptime_ms", u64_()),
        ], &[]),
        "ConsensusInfo": object(&[
            ("view", u64_()),
            ("primary", u32_()),
            ("changing_view", boolean()),
            ("last_committed", u64_()),
            ("low_watermark", u64_()),
            ("high_watermark", u64_()),
            ("in_flight", array(u64_())),
            ("stable_checkpoint", json!({ "type": "integer", "format": "int64", "minimum": 0, "nullable": true })),
            ("view_changes", json!({ "type": "object", "additionalProperties": uint("int64") })),
            ("recovery", json!({ "allOf": [schema_ref("RecoveryInfo")], "nullable": true })),
            ("recoveries", json!({ "type": "object", "additionalProperties": uint("int64") })),
        ], &[]),
        "RecoveryInfo": object(&[
            ("reason", string()),
            ("phase", string()),
            ("round", u64_()),
            ("target_height", json!({ "type": "integer", "format": "int64", "minimum": 0, "nullable": true })),
        ], &[]),
        "CheckpointInfo": object(&[
            ("height", u64_()),
            ("block_hash", hash()),
            ("signers", array(u32_())),
            ("proof", array(schema_ref("SignedCheckpoint"))),
        ], &[]),
        "SignedCheckpoint": object(&[
            ("replica", u32_()),
            ("public_key", key()),
            ("payload", json!({ "type": "string", "pattern": "^([0-9a-f]{2})*$",
                "description": "The signed CHECKPOINT's canonical bytes, hex" })),
            ("signature", schema_ref("Signature")),
        ], &[]),
        "GenesisBalance": object(&[
            ("address", schema_ref("Address")),
            ("balance", u64_()),
        ], &[]),
        "ConsensusParams": object(&[
            ("checkpoint_interval", u64_()),
            ("log_window", u64_()),
            ("batch_max_txs", u32_()),
            ("batch_timeout_ms", u64_()),
            ("request_timeout_ms", u64_()),
            ("idle_timeout_ms", u64_()),
            ("view_change_timeout_ms", u64_()),
            ("max_clock_drift_ms", u64_()),
        ], &[]),
        "Genesis": object(&[
            ("chain_id", json!({ "type": "string", "minLength": 1, "maxLength": 64 })),
            ("genesis_time_ms", u64_()),
            ("admin", key()),
            ("validators", array(schema_ref("ValidatorInfo"))),
            ("balances", array(schema_ref("GenesisBalance"))),
            ("consensus", schema_ref("ConsensusParams")),
        ], &[]),
        "GenesisInfo": object(&[
            ("hash", hash()),
            ("genesis", schema_ref("Genesis")),
        ], &[]),
        "ValidatorEntry": object(&[
            ("replica", u32_()),
            ("public_key", key()),
            ("address", schema_ref("Address")),
            ("p2p_addr", string()),
            ("since", u64_()),
        ], &[]),
        "PendingMembership": object(&[
            ("authorised_at", u64_()),
            ("from_height", u64_()),
            ("f", u64_()),
            ("quorum", u64_()),
            ("validators", array(schema_ref("ValidatorEntry"))),
        ], &[]),
        "ValidatorsInfo": object(&[
            ("height", u64_()),
            ("since_height", u64_()),
            ("f", u64_()),
            ("quorum", u64_()),
            ("validators", array(schema_ref("ValidatorEntry"))),
            ("pending", array(schema_ref("PendingMembership"))),
        ], &[]),
        "PeerEntry": object(&[
            ("replica", u32_()),
            ("public_key", key()),
            ("p2p_addr", string()),
            ("connected", boolean()),
        ], &[]),
        "PeersInfo": object(&[("peers", array(schema_ref("PeerEntry")))], &[]),
        "PoolInfo": object(&[
            ("txs", u64_()),
            ("bytes", u64_()),
            ("max_txs", u64_()),
            ("max_bytes", u64_()),
            ("proposed", u64_()),
            ("senders", u64_()),
            ("oldest_age_ms", u64_()),
            ("dropped_remembered", u64_()),
            ("admit_limit", u64_()),
            ("drain_per_s", u64_()),
        ], &["oldest_age_ms"]),
        "Health": object(&[("ok", boolean())], &[]),
        "Event": event_schema(),
    });
    let Value::Object(map) = &mut all else {
        unreachable!("the schemas are an object")
    };
    map.extend(history_schemas());
    all
}

/// The bodies of an account's history and of the kept evidence (apart from the
/// others: one `json!` of every schema exceeds the macro's recursion limit).
fn history_schemas() -> Map<String, Value> {
    let hash = || schema_ref("Hash");
    let u64_ = || uint("int64");
    let u32_ = || uint("int32");
    let Value::Object(map) = json!({
        "AccountTxs": object(&[
            ("address", schema_ref("Address")),
            ("txs", array(schema_ref("AccountTxEntry"))),
            ("next", json!({ "type": "string", "pattern": "^[0-9]+\\.[0-9]+$",
                "description": "The `before` of the next page" })),
        ], &["next"]),
        "AccountTxEntry": object(&[
            ("hash", hash()),
            ("height", u64_()),
            ("index", u32_()),
            ("timestamp_ms", u64_()),
            ("kind", json!({ "type": "string", "enum": ["transfer", "add_validator", "remove_validator"] })),
            ("from", schema_ref("Address")),
            ("to", schema_ref("Address")),
            ("amount", u64_()),
            ("nonce", u64_()),
        ], &["to", "amount"]),
        "EvidenceList": object(&[
            ("evidence", array(schema_ref("EvidenceSummary"))),
            ("next", u64_()),
        ], &["next"]),
        "EvidenceSummary": object(&evidence_summary_fields(), &["accused_key", "view", "seq"]),
        "EvidenceInfo": object(&[
            evidence_summary_fields(),
            vec![("messages", array(schema_ref("EvidenceMessage")))],
        ].concat(), &["accused_key", "view", "seq"]),
        "EvidenceMessage": object(&[
            ("replica", u32_()),
            ("kind", string()),
            ("payload", json!({ "type": "string", "pattern": "^([0-9a-f]{2})*$",
                "description": "The message's canonical bytes as signed, hex" })),
            ("signature", schema_ref("Signature")),
        ], &[]),
    }) else {
        unreachable!("an object")
    };
    map
}

/// The fields of `EvidenceSummary`, which `EvidenceInfo` extends.
fn evidence_summary_fields() -> Vec<(&'static str, Value)> {
    vec![
        ("id", uint("int64")),
        ("kind", string()),
        ("accused", uint("int32")),
        ("accused_key", schema_ref("PublicKey")),
        ("view", uint("int64")),
        ("seq", uint("int64")),
        ("detected_at_ms", uint("int64")),
        ("detail", string()),
    ]
}

/// `crate::events::Event`: internally tagged by `type`.
fn event_schema() -> Value {
    let kind = |name: &str, fields: &[(&str, Value)]| {
        let mut all = vec![("type", json!({ "type": "string", "enum": [name] }))];
        all.extend(fields.iter().cloned());
        object(&all, &[])
    };
    let u64_ = || uint("int64");
    json!({
        "description": "One live event; `type` names it (and is the SSE event name)",
        "oneOf": [
            kind("block", &[
                ("height", u64_()),
                ("hash", schema_ref("Hash")),
                ("tx_count", u64_()),
                ("view", u64_()),
            ]),
            kind("tx_committed", &[("hash", schema_ref("Hash")), ("height", u64_())]),
            kind("tx_dropped", &[("hash", schema_ref("Hash")), ("reason", string())]),
            kind("view_change", &[("from", u64_()), ("to", u64_()), ("reason", string())]),
            kind("new_view", &[("view", u64_()), ("primary", uint("int32"))]),
            kind("membership", &[
                ("height", u64_()),
                ("validators", array(schema_ref("PublicKey"))),
            ]),
            kind("evidence", &[
                ("id", u64_()),
                ("kind", string()),
                ("accused", uint("int32")),
            ]),
            kind("lagged", &[("missed", u64_())]),
        ],
    })
}
