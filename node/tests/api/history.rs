//! `GET /accounts/{address}/txs` and the kept evidence: `GET /evidence`,
//! `GET /evidence/{id}`, the fault counters, and the keeper that stores each proof
//! once across restarts.

use super::*;
use consensus::{Batch, Fault, PrePrepare};
use node::api::evidence::{EvidenceInfo, EvidenceList};
use node::api::history::AccountTxs;
use node::evidence::Keeper;

#[tokio::test]
async fn an_accounts_history_is_newest_first_in_pages_sent_and_received() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let b1 = node.commit(vec![node.pay(10, 0), node.pay(20, 1)]);
    let b2 = node.commit(vec![node.pay(30, 2)]);
    let carol = SigningKey::from_seed([33; 32]);
    // Bob pays nobody but is paid; carol is never touched.
    let alice = Address::of(&node.alice.public_key());

    let a = node.get(&format!("/accounts/{alice}/txs")).await;
    check_documented(&doc, "get", "/accounts/{address}/txs", &a);
    let page: AccountTxs = a.ok(200);
    assert_eq!(page.address, alice);
    let seen: Vec<(u64, u32, Hash)> = page
        .txs
        .iter()
        .map(|t| (t.height, t.index, t.hash))
        .collect();
    assert_eq!(
        seen,
        vec![
            (2, 0, b2.txs[0].hash()),
            (1, 1, b1.txs[1].hash()),
            (1, 0, b1.txs[0].hash()),
        ]
    );
    assert_eq!(page.next, None);
    let first = &page.txs[0];
    assert_eq!(
        (
            first.kind.as_str(),
            first.from,
            first.to,
            first.amount,
            first.nonce
        ),
        ("transfer", alice, Some(node.bob), Some(30), 2)
    );
    assert_eq!(first.timestamp_ms, b2.header.timestamp_ms);

    // The recipient's history holds the same transfers.
    let bobs: AccountTxs = node
        .get(&format!("/accounts/{}/txs", node.bob))
        .await
        .ok(200);
    assert_eq!(bobs.txs, page.txs);

    // Pages of two, continued with `next`.
    let a = node.get(&format!("/accounts/{alice}/txs?limit=2")).await;
    check_documented(&doc, "get", "/accounts/{address}/txs", &a);
    let p1: AccountTxs = a.ok(200);
    assert_eq!(p1.txs.len(), 2);
    assert_eq!(p1.next.as_deref(), Some("1.1"));
    let p2: AccountTxs = node
        .get(&format!("/accounts/{alice}/txs?limit=2&before=1.1"))
        .await
        .ok(200);
    assert_eq!(p2.txs, page.txs[2..].to_vec());
    assert_eq!(p2.next, None);

    let none: AccountTxs = node
        .get(&format!(
            "/accounts/{}/txs",
            Address::of(&carol.public_key())
        ))
        .await
        .ok(200);
    assert!(none.txs.is_empty() && none.next.is_none());

    // Bad input: a malformed address, cursor or limit.
    node.get("/accounts/xyz/txs")
        .await
        .error(400, "bad_request");
    for query in ["before=7", "before=1.x", "limit=0", "limit=-1", "other=1"] {
        node.get(&format!("/accounts/{alice}/txs?{query}"))
            .await
            .error(400, "bad_request");
    }
}

/// Two pre-prepares the primary of view 0 (replica 0) signed for height 5 with
/// different batches.
fn equivocation(node: &Node, seq: u64) -> Fault {
    let sign = |timestamp_ms: u64| {
        let batch = Batch {
            tx_hashes: BoundedVec::new(vec![]).unwrap(),
            proposer: ReplicaId(0),
            timestamp_ms,
        };
        let message = Message::PrePrepare(PrePrepare {
            view: View(0),
            seq: SeqNo(seq),
            digest: batch.digest(),
            batch,
            result: Hash([1; 32]),
        });
        SignedMessage::sign(&node.validators[0], CHAIN, ReplicaId(0), &message)
    };
    Fault::EquivocatingPrimary {
        view: View(0),
        seq: SeqNo(seq),
        first: sign(1),
        second: sign(2),
    }
}

#[tokio::test]
async fn evidence_is_kept_once_served_whole_and_counted() {
    let node = node();
    let doc: Value = node.get("/openapi.json").await.ok(200);
    let a = node.get("/evidence").await;
    check_documented(&doc, "get", "/evidence", &a);
    let empty: EvidenceList = a.ok(200);
    assert!(empty.evidence.is_empty() && empty.next.is_none());
    node.get("/evidence/1").await.error(404, "not_found");
    node.get("/evidence/one").await.error(400, "bad_request");

    let membership = node.shared.membership();
    let mut keeper = Keeper::load(&node.shared);
    let fault = equivocation(&node, 5);
    keeper.on_fault(&node.shared, &membership, &fault);
    // Reported again (a retransmission): counted, not kept twice.
    keeper.on_fault(&node.shared, &membership, &fault);
    // A fault without signed proof is counted only.
    let unprovable = Fault::BadViewChange {
        sender: ReplicaId(2),
        reason: consensus::BadViewChange::CertificateOrder {
            seq: consensus::SeqNo(7),
        },
    };
    keeper.on_fault(&node.shared, &membership, &unprovable);
    keeper.on_fault(&node.shared, &membership, &equivocation(&node, 6));

    let a = node.get("/evidence").await;
    check_documented(&doc, "get", "/evidence", &a);
    let list: EvidenceList = a.ok(200);
    let ids: Vec<u64> = list.evidence.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![2, 1]);
    assert_eq!(list.evidence[1].kind, "equivocating_primary");
    assert_eq!(
        (
            list.evidence[1].accused,
            list.evidence[1].view,
            list.evidence[1].seq
        ),
        (0, Some(0), Some(5))
    );
    assert_eq!(
        list.evidence[1].accused_key,
        Some(node.validators[0].public_key())
    );
    let page: EvidenceList = node.get("/evidence?limit=1").await.ok(200);
    assert_eq!((page.evidence.len(), page.next), (1, Some(2)));
    let page: EvidenceList = node.get("/evidence?limit=1&before=2").await.ok(200);
    assert_eq!(page.evidence[0].id, 1);

    // The record whole: both messages check against the accused's key, and they
    // are two different pre-prepares for one view and height.
    let a = node.get("/evidence/1").await;
    check_documented(&doc, "get", "/evidence/{id}", &a);
    let record: EvidenceInfo = a.ok(200);
    assert_eq!(record.messages.len(), 2);
    let mut digests = vec![];
    for m in &record.messages {
        assert_eq!((m.replica, m.kind.as_str()), (0, "pre-prepare"));
        let payload = hex::decode(&m.payload).unwrap();
        node.validators[0]
            .public_key()
            .verify(
                consensus::MessageKind::PrePrepare.domain(CHAIN),
                &payload,
                &m.signature,
            )
            .unwrap();
        let Message::PrePrepare(pp) = Message::from_canonical_bytes(&payload).unwrap() else {
            panic!("not a pre-prepare");
        };
        assert_eq!((pp.view, pp.seq), (View(0), SeqNo(5)));
        digests.push(pp.digest);
    }
    assert_ne!(digests[0], digests[1]);

    let text = node.shared.metrics.encode();
    assert!(
        text.contains("rbft_faults_total{kind=\"equivocating_primary\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("rbft_faults_total{kind=\"bad_view_change\"} 1"),
        "{text}"
    );
    assert!(text.contains("rbft_evidence_kept_total 2"), "{text}");

    // A keeper started later (a restart) knows what is kept: nothing is added.
    let mut restarted = Keeper::load(&node.shared);
    restarted.on_fault(&node.shared, &membership, &fault);
    let list: EvidenceList = node.get("/evidence").await.ok(200);
    assert_eq!(list.evidence.len(), 2);
}
