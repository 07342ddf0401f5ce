use super::*;

#[test]
fn a_sender_stays_within_its_window_of_committed_nonces() {
    // Nothing committed: the first 32.
    assert_eq!(sendable(0, 0, 1000, 32), 32);
    // 32 in flight: nothing until a commit.
    assert_eq!(sendable(0, 32, 1000, 32), 0);
    // 10 committed: 10 more.
    assert_eq!(sendable(10, 32, 1000, 32), 10);
    // Near the end of the signed ones.
    assert_eq!(sendable(90, 95, 100, 32), 5);
    assert_eq!(sendable(100, 100, 100, 32), 0);
    // The follower may see commits of transfers we have not counted as accepted.
    assert_eq!(sendable(40, 32, 1000, 32), 40);
}

#[test]
fn the_rate_gate_spreads_the_sends_over_time() {
    let gate = RateGate::new(Some(1000.0));
    assert_eq!(gate.tokens(Duration::ZERO, 0), 0);
    assert_eq!(gate.tokens(Duration::from_millis(100), 0), 100);
    assert_eq!(gate.tokens(Duration::from_millis(100), 60), 40);
    assert_eq!(gate.tokens(Duration::from_millis(100), 200), 0);
    assert_eq!(
        gate.wait_for(Duration::from_millis(100), 100, 50),
        Duration::from_millis(50)
    );
    let unlimited = RateGate::new(None);
    assert_eq!(unlimited.tokens(Duration::ZERO, 1_000_000), u64::MAX);
    assert_eq!(unlimited.wait_for(Duration::ZERO, 5, 5), Duration::ZERO);
}

#[test]
fn only_a_full_pool_or_a_nonce_too_far_ahead_is_retried() {
    assert_eq!(classify(None), ItemOutcome::Accepted);
    assert_eq!(classify(Some("duplicate")), ItemOutcome::Accepted);
    assert_eq!(classify(Some("stale_nonce")), ItemOutcome::Accepted);
    assert_eq!(classify(Some("pool_full")), ItemOutcome::Retry);
    assert_eq!(classify(Some("pool_busy")), ItemOutcome::Retry);
    assert_eq!(classify(Some("nonce_too_far_ahead")), ItemOutcome::Retry);
    assert_eq!(classify(Some("bad_signature")), ItemOutcome::Rejected);
    assert_eq!(
        classify(Some("insufficient_balance")),
        ItemOutcome::Rejected
    );
}

#[test]
fn percentiles_of_submit_to_commit_latency() {
    // 100 transactions committed 1..=100 ms after submission, one never
    // committed, one never submitted.
    let mut submit: Vec<u64> = (0..100).map(|i| i * 10_000).collect();
    let mut commit: Vec<u64> = (0..100).map(|i| i * 10_000 + (i + 1) * 1000).collect();
    submit.push(5);
    commit.push(UNSET);
    submit.push(UNSET);
    commit.push(7);
    let summary = latencies(&submit, &commit);
    assert_eq!(summary.count, 100);
    let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
    assert!(close(summary.p50_ms, 50.0), "{summary:?}");
    assert!(close(summary.p90_ms, 90.0), "{summary:?}");
    assert!(close(summary.p99_ms, 99.0), "{summary:?}");
    assert!(close(summary.max_ms, 100.0), "{summary:?}");
    assert_eq!(latencies(&[], &[]).count, 0);
}

#[test]
fn the_plan_holds_consecutive_nonces_per_sender_and_finds_them_by_hash() {
    let senders: Vec<SigningKey> = (0..3).map(|_| SigningKey::generate()).collect();
    let chain = ChainId::new("rbft-local".to_owned()).unwrap();
    let plan = sign_plan(&chain, &senders, &[0, 5, 9], 4);
    assert_eq!(plan.json.len(), 12);
    assert_eq!(plan.index_of.len(), 12, "every transfer is unique");
    for (i, json) in plan.json.iter().enumerate() {
        let tx: ledger::SignedTransaction = serde_json::from_slice(json).unwrap();
        let (s, k) = (i / 4, (i % 4) as u64);
        assert_eq!(tx.tx.signer, senders[s].public_key());
        assert_eq!(tx.tx.nonce, [0, 5, 9][s] + k);
        assert_eq!(plan.index_of[&tx.hash()], i as u32);
        assert!(ledger::VerifiedTx::verify(tx).is_some());
    }
}
