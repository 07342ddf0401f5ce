//! The API additions of issue 19 that need no page or event stream: its "bad
//! input" (a 64-character block id is a hash, a node catching up answers a
//! retryable 503, the path parameters typed exactly), `GET /genesis` and the
//! signed proof of `GET /checkpoints/latest`.

use super::*;
use consensus::{Checkpoint, StableCheckpoint};
use node::api::types::RecoveryInfo;

/// Issue 19: `/blocks/000…000` read as height 0 returned genesis, whose parent
/// is that very zero hash, so a client walking parents looped. A 64-character id
/// is a hash, always; the walk ends at 404.
#[tokio::test]
async fn a_64_character_id_is_a_hash_even_when_all_digits() {
    let node = node();
    let b1 = node.commit(vec![node.pay(1, 0)]);
    let mut parent = b1.hash();
    let mut walked = Vec::new();
    loop {
        let a = node.get(&format!("/blocks/{parent}")).await;
        if a.status == StatusCode::NOT_FOUND {
            let message = a.error(404, "not_found");
            assert!(message.contains("no block with hash"), "{message}");
            break;
        }
        let block: BlockInfo = a.ok(200);
        walked.push(block.height);
        assert!(walked.len() <= 2, "walking parents loops: {walked:?}");
        parent = block.parent;
    }
    assert_eq!(walked, vec![1, 0]);
    assert_eq!(parent, Hash::ZERO);

    let digits = "1".repeat(64);
    let message = node
        .get(&format!("/blocks/{digits}"))
        .await
        .error(404, "not_found");
    assert!(message.contains("no block with hash"), "{message}");
    // Shorter all-digit ids are still heights.
    let genesis: BlockInfo = node.get("/blocks/00").await.ok(200);
    assert_eq!(genesis.height, 0);
}

fn recovering() -> RecoveryInfo {
    RecoveryInfo {
        reason: "start".to_owned(),
        phase: "transferring".to_owned(),
        round: 1,
        target_height: Some(40),
    }
}

/// Issue 19: a node still catching up after a restart answered valid transfers
/// with 422 `nonce_too_far_ahead` (an invalid transaction, says the README). While
/// it recovers, that refusal is a 503 `catching_up` with `Retry-After`; other
/// refusals do not depend on the lag and stay 4xx; once caught up, 422 again.
#[tokio::test]
async fn a_node_catching_up_asks_to_retry_a_nonce_ahead_of_its_ledger() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let ahead = node.pay(10, 1_000);
    node.shared.consensus.write().unwrap().recovery = Some(recovering());

    let a = node.post_json(&ahead).await;
    check_documented(&doc, "post", "/txs", &a);
    let message = a.error(503, "catching_up");
    assert!(
        message.contains("catching up") && message.contains("1000"),
        "{message}"
    );
    assert_eq!(a.headers[header::RETRY_AFTER], "2");
    // In an array, the same refusal carries the same code.
    let many: SubmittedMany = node.post_json(&vec![ahead.clone()]).await.ok(200);
    let codes: Vec<&str> = many
        .results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| e.code.as_str()))
        .collect();
    assert_eq!(codes, vec!["catching_up"]);
    // A bad signature is bad however far the ledger has come.
    let mut forged = node.pay(10, 0);
    forged.signature.0[3] ^= 1;
    node.post_json(&forged).await.error(422, "bad_signature");
    assert_eq!(node.pool_len(), 0);

    node.shared.consensus.write().unwrap().recovery = None;
    let a = node.post_json(&ahead).await;
    a.error(422, "nonce_too_far_ahead");
    assert!(!a.headers.contains_key(header::RETRY_AFTER));
}

/// Issue 19: the path parameters were plain strings although the document
/// defines `Hash` and `Address`.
#[tokio::test]
async fn path_parameters_are_typed_exactly() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let param = |path: &str, name: &str| -> Value {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        params.iter().find(|p| p["name"] == name).unwrap()["schema"].clone()
    };
    let hash = json!({ "$ref": "#/components/schemas/Hash" });
    assert_eq!(param("/txs/{hash}", "hash"), hash);
    assert_eq!(
        param("/accounts/{address}", "address"),
        json!({ "$ref": "#/components/schemas/Address" })
    );
    let height = json!({ "type": "integer", "format": "int64", "minimum": 0 });
    assert_eq!(param("/blocks/{height}/commit", "height"), height);
    assert_eq!(
        param("/blocks/{id}", "id"),
        json!({ "oneOf": [height, hash] })
    );
    // Every path parameter of every route is typed: no bare string is left.
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for operation in methods.as_object().unwrap().values() {
            for p in operation["parameters"].as_array().unwrap() {
                assert_ne!(p["schema"], json!({ "type": "string" }), "{path}");
            }
        }
    }
    // The 503 of POST /txs is documented with its header.
    let unavailable = &doc["paths"]["/txs"]["post"]["responses"]["503"];
    assert!(unavailable["headers"]["Retry-After"].is_object());
}

#[tokio::test]
async fn the_genesis_is_served_with_its_hash() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let a = node.get("/genesis").await;
    check_documented(&doc, "get", "/genesis", &a);
    let info: GenesisInfo = a.ok(200);
    assert_eq!(info.genesis, node.shared.genesis);
    assert_eq!(info.hash, info.genesis.hash());
    let status: StatusInfo = node.get("/status").await.ok(200);
    assert_eq!(status.genesis_hash, info.hash);
}

/// `GET /checkpoints/latest` serves the signed CHECKPOINTs, so anyone with the
/// validator set can check the checkpoint without trusting the node.
#[tokio::test]
async fn the_latest_checkpoint_carries_its_signed_proof() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let block_hash = crypto::sha256(b"block 10");
    let checkpoint = Message::Checkpoint(Checkpoint {
        seq: SeqNo(10),
        block_hash,
    });
    let proof: Vec<SignedMessage> = [0usize, 2, 3]
        .iter()
        .map(|&i| SignedMessage::sign(&node.validators[i], CHAIN, ReplicaId(i as u32), &checkpoint))
        .collect();
    *node.shared.stable_checkpoint.write().unwrap() = Some(StableCheckpoint {
        seq: SeqNo(10),
        block_hash,
        proof: BoundedVec::new(proof.clone()).unwrap(),
    });

    let a = node.get("/checkpoints/latest").await;
    check_documented(&doc, "get", "/checkpoints/latest", &a);
    let info: CheckpointInfo = a.ok(200);
    assert_eq!((info.height, info.block_hash), (10, block_hash));
    assert_eq!(info.signers, vec![0, 2, 3]);
    // Rebuilt from the JSON alone, the proof holds for the genesis validators.
    let rebuilt: Vec<SignedMessage> = info
        .proof
        .iter()
        .map(|s| {
            assert_eq!(
                s.public_key,
                node.validators[s.replica as usize].public_key()
            );
            SignedMessage {
                sender: ReplicaId(s.replica),
                kind: consensus::MessageKind::Checkpoint,
                payload: crypto::BoundedBytes::new(hex::decode(&s.payload).unwrap()).unwrap(),
                signature: s.signature,
            }
        })
        .collect();
    assert_eq!(rebuilt, proof);
    let served = StableCheckpoint {
        seq: SeqNo(info.height),
        block_hash: info.block_hash,
        proof: BoundedVec::new(rebuilt).unwrap(),
    };
    let keys: Vec<_> = node.validators.iter().map(|k| k.public_key()).collect();
    assert!(served.is_proven(&keys, CHAIN, 3));
}
