use super::*;
use crypto::SigningKey;
use ledger::{ChainId, Transaction};

const CHAIN: &str = "pool-test";

fn key(i: u8) -> SigningKey {
    SigningKey::from_seed([i; 32])
}

fn transfer(from: &SigningKey, nonce: u64, amount: u64) -> SignedTransaction {
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: from.public_key(),
        nonce,
        kind: TxKind::Transfer {
            to: Address([9; 20]),
            amount,
        },
    }
    .sign(from)
}

fn verified(tx: SignedTransaction) -> VerifiedTx {
    check(vec![tx], CHAIN).pop().unwrap().unwrap()
}

fn rich() -> Account {
    Account {
        balance: 1_000,
        nonce: 0,
    }
}

#[test]
fn check_refuses_wrong_chain_and_bad_signatures_and_keeps_order() {
    let k = key(1);
    let mut txs: Vec<SignedTransaction> = (0..20).map(|n| transfer(&k, n, 1)).collect();
    txs[3].signature.0[5] ^= 1;
    let other = Transaction {
        chain_id: ChainId::new("elsewhere").unwrap(),
        signer: k.public_key(),
        nonce: 0,
        kind: TxKind::Transfer {
            to: Address([1; 20]),
            amount: 1,
        },
    }
    .sign(&k);
    txs[7] = other;
    let results = check(txs.clone(), CHAIN);
    assert_eq!(results.len(), 20);
    for (i, result) in results.iter().enumerate() {
        match i {
            3 => assert_eq!(result.as_ref().unwrap_err(), &AdmitError::BadSignature),
            7 => assert!(matches!(result, Err(AdmitError::WrongChain { .. }))),
            _ => assert_eq!(result.as_ref().unwrap().hash(), txs[i].hash()),
        }
    }
}

#[test]
fn insert_refuses_each_invalid_transaction_with_its_reason() {
    let k = key(2);
    let mut pool = Mempool::new(MempoolConfig::default());
    let first = verified(transfer(&k, 3, 10));
    let at = Account {
        balance: 1_000,
        nonce: 3,
    };
    pool.insert(first.clone(), at, 0).unwrap();
    let cases = [
        (first, AdmitError::Duplicate),
        (
            verified(transfer(&k, 2, 10)),
            AdmitError::StaleNonce { next: 3, got: 2 },
        ),
        (
            verified(transfer(&k, 3 + 65, 10)),
            AdmitError::NonceTooFarAhead {
                next: 3,
                got: 68,
                max_gap: 64,
            },
        ),
        (
            verified(transfer(&k, 3, 11)),
            AdmitError::NonceInUse { nonce: 3 },
        ),
        (
            verified(transfer(&k, 4, 1_001)),
            AdmitError::InsufficientBalance {
                balance: 1_000,
                amount: 1_001,
            },
        ),
        (verified(transfer(&k, 4, 0)), AdmitError::ZeroAmount),
    ];
    for (tx, expected) in cases {
        assert_eq!(pool.insert(tx, at, 0), Err(expected));
    }
    assert_eq!(pool.len(), 1, "refusals leave nothing behind");
}

#[test]
fn limits_on_count_and_bytes_hold_and_free_up_on_removal() {
    let k = key(3);
    let one = verified(transfer(&k, 0, 1));
    let size = one.signed().to_canonical_bytes().len();
    let mut by_count = Mempool::new(MempoolConfig {
        max_txs: 3,
        ..MempoolConfig::default()
    });
    for n in 0..3 {
        by_count
            .insert(verified(transfer(&k, n, 1)), rich(), 0)
            .unwrap();
    }
    let fourth = verified(transfer(&k, 3, 1));
    assert!(matches!(
        by_count.insert(fourth.clone(), rich(), 0),
        Err(AdmitError::Full { txs: 3, .. })
    ));
    let oldest = by_count.pending().next().unwrap().hash();
    by_count.remove_committed([&oldest]);
    assert!(by_count.insert(fourth, rich(), 0).is_ok());

    let mut by_bytes = Mempool::new(MempoolConfig {
        max_bytes: 2 * size,
        ..MempoolConfig::default()
    });
    by_bytes.insert(one, rich(), 0).unwrap();
    by_bytes
        .insert(verified(transfer(&k, 1, 1)), rich(), 0)
        .unwrap();
    assert_eq!(by_bytes.bytes(), 2 * size);
    assert!(matches!(
        by_bytes.insert(verified(transfer(&k, 2, 1)), rich(), 0),
        Err(AdmitError::Full { .. })
    ));
    let hashes: Vec<Hash> = by_bytes.pending().map(VerifiedTx::hash).collect();
    by_bytes.remove_committed(&hashes);
    assert_eq!((by_bytes.len(), by_bytes.bytes()), (0, 0));
    assert!(by_bytes.is_empty());
}

#[test]
fn clients_fill_the_pool_to_their_share_and_peers_to_the_end() {
    let k = key(34);
    let mut pool = Mempool::new(MempoolConfig {
        max_txs: 10,
        ..MempoolConfig::default()
    });
    assert_eq!(pool.config.limits_for(Source::Client).0, 8);
    assert_eq!(client_share(50_000), 40_000);
    assert_eq!(client_share(4), 4, "a tiny pool keeps no reserve");
    assert_eq!(client_share(usize::MAX), usize::MAX - usize::MAX / 5);
    for n in 0..8 {
        pool.insert_from(Source::Client, verified(transfer(&k, n, 1)), rich(), 0)
            .unwrap();
    }
    assert!(matches!(
        pool.full(Source::Client),
        Some(AdmitError::Full { txs: 8, .. })
    ));
    assert_eq!(pool.full(Source::Peer), None);
    assert!(matches!(
        pool.insert_from(Source::Client, verified(transfer(&k, 8, 1)), rich(), 0),
        Err(AdmitError::Full { txs: 8, .. })
    ));
    // A forwarded transaction still gets in, up to the whole limit.
    for n in 8..10 {
        pool.insert(verified(transfer(&k, n, 1)), rich(), 0)
            .unwrap();
    }
    assert!(pool.full(Source::Peer).is_some());
    assert!(matches!(
        pool.insert(verified(transfer(&k, 10, 1)), rich(), 0),
        Err(AdmitError::Full { txs: 10, .. })
    ));
}

/// Clients wait at most `max_wait_ms` of commits: the pool refuses them once it
/// holds that many at the rate blocks take transactions out (at least
/// `min_backlog`), while peers' forwards still get in. The limit follows the rate.
#[test]
fn clients_are_refused_once_the_pool_holds_more_than_max_wait_of_commits() {
    let k = key(35);
    let mut pool = Mempool::new(MempoolConfig {
        max_txs: 1_000,
        max_wait_ms: 500,
        min_backlog: 4,
        ..MempoolConfig::default()
    });
    assert_eq!(pool.client_limit(), 4, "no commits yet: the floor");
    for n in 0..4 {
        pool.insert_from(Source::Client, verified(transfer(&k, n, 1)), rich(), 0)
            .unwrap();
    }
    let busy = pool.insert_from(Source::Client, verified(transfer(&k, 4, 1)), rich(), 0);
    assert_eq!(
        busy,
        Err(AdmitError::Busy {
            txs: 4,
            drain_per_s: 0,
            max_wait_ms: 500
        })
    );
    assert_eq!(pool.full(Source::Client), busy.err());
    assert_eq!(pool.full(Source::Peer), None);
    pool.insert(verified(transfer(&k, 4, 1)), rich(), 0)
        .unwrap();

    // Blocks of 10 every 100 ms of block time: 100 per second, so 500 ms is 50.
    for i in 0..30 {
        pool.note_committed(i * 100, 10);
    }
    assert_eq!(pool.drain_per_second(), 100);
    assert_eq!(pool.client_limit(), 50);
    assert_eq!(pool.full(Source::Client), None);
    for n in 5..50 {
        pool.insert_from(Source::Client, verified(transfer(&k, n, 1)), rich(), 0)
            .unwrap();
    }
    assert!(matches!(
        pool.full(Source::Client),
        Some(AdmitError::Busy {
            txs: 50,
            drain_per_s: 100,
            ..
        })
    ));
    assert_eq!(pool.summary(0).admit_limit, 50);

    // Turned off, only the count and byte limits apply.
    let off = Mempool::new(MempoolConfig {
        max_txs: 1_000,
        max_wait_ms: 0,
        min_backlog: 4,
        ..MempoolConfig::default()
    });
    assert_eq!(off.client_limit(), 800);
}

#[test]
fn pending_is_in_arrival_order_and_knows_the_oldest() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let txs: Vec<VerifiedTx> = (1..=5u8)
        .map(|i| verified(transfer(&key(10 + i), 0, 1)))
        .collect();
    for (i, tx) in txs.iter().enumerate().rev() {
        pool.insert(tx.clone(), rich(), 100 + i as u64).unwrap();
    }
    let order: Vec<Hash> = pool.pending().map(VerifiedTx::hash).collect();
    let expected: Vec<Hash> = txs.iter().rev().map(VerifiedTx::hash).collect();
    assert_eq!(order, expected);
    assert_eq!(pool.oldest_ms(), Some(104));
    assert_eq!(pool.get(&txs[0].hash()), Some(&txs[0]));
}

#[test]
fn revalidation_drops_used_nonces_with_the_reason_and_forgets_old_reasons() {
    let k = key(4);
    let sender = Address::of(&k.public_key());
    let mut pool = Mempool::new(MempoolConfig {
        max_dropped: 2,
        ..MempoolConfig::default()
    });
    let txs: Vec<VerifiedTx> = (0..5).map(|n| verified(transfer(&k, n, 1))).collect();
    for tx in &txs {
        pool.insert(tx.clone(), rich(), 0).unwrap();
    }
    // Another node's block used nonces 0..3 with other transactions.
    pool.revalidate([&sender], |_| Account {
        balance: 1_000,
        nonce: 3,
    });
    assert_eq!(pool.len(), 2);
    assert_eq!(
        pool.dropped_reason(&txs[2].hash()),
        Some(&AdmitError::StaleNonce { next: 3, got: 2 })
    );
    assert!(pool.dropped_reason(&txs[1].hash()).is_some());
    assert_eq!(
        pool.dropped_reason(&txs[0].hash()),
        None,
        "at most max_dropped reasons are kept"
    );
    // Nonces 3 and 4 are still pooled: a second transaction at 3 is refused.
    assert_eq!(
        pool.insert(verified(transfer(&k, 3, 2)), rich(), 0),
        Err(AdmitError::NonceInUse { nonce: 3 })
    );
}

#[test]
fn governance_transactions_need_no_balance() {
    let admin = key(5);
    let tx = Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: admin.public_key(),
        nonce: 0,
        kind: TxKind::RemoveValidator {
            public_key: key(6).public_key(),
        },
    }
    .sign(&admin);
    let mut pool = Mempool::new(MempoolConfig::default());
    assert!(pool.insert(verified(tx), Account::default(), 0).is_ok());
}

#[test]
fn governance_is_refused_unless_the_admin_signs_a_change_that_applies() {
    let admin = key(5);
    let info = |i: u8| ledger::ValidatorInfo {
        public_key: key(i).public_key(),
        p2p_addr: crypto::BoundedString::new("/ip4/127.0.0.1/tcp/1").unwrap(),
    };
    let set: Vec<_> = (40..44).map(info).collect();
    let governance = |signer: &SigningKey, kind: TxKind| {
        verified(
            Transaction {
                chain_id: ChainId::new(CHAIN).unwrap(),
                signer: signer.public_key(),
                nonce: 0,
                kind,
            }
            .sign(signer),
        )
    };
    let add = |i: u8| TxKind::AddValidator { validator: info(i) };
    let remove = |i: u8| TxKind::RemoveValidator {
        public_key: key(i).public_key(),
    };
    let admin_key = admin.public_key();
    let check = |tx: &VerifiedTx| check_governance(tx, &admin_key, &set);
    assert_eq!(check(&governance(&admin, add(50))), Ok(()));
    assert_eq!(check(&governance(&admin, remove(41))), Ok(()));
    assert_eq!(
        check(&governance(&key(6), add(50))),
        Err(AdmitError::NotAdmin)
    );
    assert_eq!(
        check(&governance(&admin, add(42))),
        Err(AdmitError::AlreadyValidator {
            public_key: key(42).public_key().to_string()
        })
    );
    assert_eq!(
        check(&governance(&admin, remove(50))),
        Err(AdmitError::NotValidator {
            public_key: key(50).public_key().to_string()
        })
    );
    // Transfers are not governance: any signer.
    assert_eq!(check(&verified(transfer(&key(7), 0, 1))), Ok(()));
}

#[test]
fn includable_counts_runs_of_consecutive_nonces_not_yet_proposed() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let (a, b) = (key(30), key(31));
    // a: nonces 0, 1, 3 (2 missing); b: nonces 1, 2 (0 missing).
    let a_txs: Vec<VerifiedTx> = [0, 1, 3]
        .iter()
        .map(|n| verified(transfer(&a, *n, 1)))
        .collect();
    for (i, tx) in a_txs.iter().enumerate() {
        pool.insert(tx.clone(), rich(), 200 + i as u64).unwrap();
    }
    for n in [1, 2] {
        pool.insert(verified(transfer(&b, n, 1)), rich(), 100)
            .unwrap();
    }
    let all = usize::MAX;
    assert_eq!(pool.includable(|_| 0, all), (2, 200));
    // a's first is in a proposal: it still continues the run.
    let first = a_txs[0].hash();
    pool.mark_proposed(&first, 7);
    assert!(pool.is_proposed(&first));
    assert_eq!(pool.includable(|_| 0, all), (1, 201));
    assert_eq!(pool.unproposed().count(), 4);
    // Once b's nonce 0 is committed elsewhere, b's run starts at 1.
    let b_sender = Address::of(&b.public_key());
    let next = |addr: &Address| u64::from(*addr == b_sender);
    assert_eq!(pool.includable(next, all), (3, 100));
    // The count stops at the cap.
    assert_eq!(pool.includable(next, 2).0, 2);
    // Height 7 committed without it: it is proposable again.
    pool.release_proposals_through(6);
    assert!(pool.is_proposed(&first));
    pool.release_proposals_through(7);
    assert!(!pool.is_proposed(&first));
    assert_eq!(pool.includable(next, all), (4, 100));
    assert_eq!(
        Mempool::new(MempoolConfig::default()).includable(|_| 0, all),
        (0, 0)
    );
}

#[test]
fn proposals_are_forgotten_all_at_once_and_removed_ones_are_skipped() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let txs: Vec<VerifiedTx> = (0..3).map(|n| verified(transfer(&key(33), n, 1))).collect();
    for tx in &txs {
        pool.insert(tx.clone(), rich(), 10).unwrap();
    }
    pool.mark_proposed(&txs[0].hash(), 1);
    pool.mark_proposed(&txs[1].hash(), 2);
    assert_eq!(pool.unproposed().count(), 1);
    pool.remove_committed([txs[0].hash()].iter());
    pool.release_all_proposals();
    let order: Vec<Hash> = pool.unproposed().map(VerifiedTx::hash).collect();
    assert_eq!(order, [txs[1].hash(), txs[2].hash()]);
    assert_eq!(pool.includable(|_| 1, usize::MAX), (2, 10));
}

#[test]
fn a_transaction_that_no_longer_executes_is_dropped_with_its_reason() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let tx = verified(transfer(&key(40), 0, 5));
    let hash = pool.insert(tx, rich(), 1).unwrap();
    pool.drop_invalid(&hash, "balance 0 does not cover 5".into());
    assert!(pool.get(&hash).is_none());
    assert!(matches!(
        pool.dropped_reason(&hash),
        Some(AdmitError::Unexecutable { reason }) if reason.contains("balance")
    ));
}

#[test]
fn only_transactions_waiting_long_are_handed_out_again_and_then_wait_anew() {
    let k = key(7);
    let mut pool = Mempool::new(MempoolConfig::default());
    let txs: Vec<SignedTransaction> = (0..4).map(|n| transfer(&k, n, 1)).collect();
    for (n, tx) in txs.iter().enumerate() {
        pool.insert(verified(tx.clone()), rich(), 1_000 + 1_000 * n as u64)
            .unwrap();
    }
    // Arrived at 1,000, 2,000, 3,000 and 4,000: at 4,500 with an age of 2,000 only
    // the first two have waited long enough, oldest first.
    let again = pool.take_to_reforward(4_500, 2_000, 10);
    assert_eq!(again, vec![txs[0].clone(), txs[1].clone()]);
    // They wait anew; nothing else is old enough yet.
    assert!(pool.take_to_reforward(4_900, 2_000, 10).is_empty());
    // One in a proposal of this node is not handed out: the proposal carries it.
    pool.mark_proposed(&txs[2].hash(), 1);
    let again = pool.take_to_reforward(6_600, 2_000, 10);
    assert_eq!(again, vec![txs[0].clone(), txs[1].clone(), txs[3].clone()]);
    // At most `max` at once, the oldest.
    assert_eq!(
        pool.take_to_reforward(9_000, 2_000, 1),
        vec![txs[0].clone()]
    );
    assert!(pool.contains(&txs[3].hash()));
    pool.remove_committed([&txs[3].hash()]);
    assert!(!pool.contains(&txs[3].hash()));
}

#[test]
fn the_summary_counts_what_the_pool_holds_and_ages_its_oldest() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let empty = pool.summary(5_000);
    assert_eq!((empty.txs, empty.bytes, empty.oldest_age_ms), (0, 0, None));
    assert_eq!(empty.max_txs, MempoolConfig::default().max_txs);
    let (a, b) = (key(40), key(41));
    let first = verified(transfer(&a, 0, 1));
    let bytes = first.signed().to_canonical_bytes().len();
    pool.insert(first.clone(), rich(), 1_000).unwrap();
    pool.insert(verified(transfer(&a, 1, 1)), rich(), 1_500)
        .unwrap();
    pool.insert(verified(transfer(&b, 0, 1)), rich(), 2_000)
        .unwrap();
    pool.mark_proposed(&first.hash(), 3);
    let summary = pool.summary(4_000);
    assert_eq!((summary.txs, summary.senders, summary.proposed), (3, 2, 1));
    // Three transfers of the same shape (one-byte nonces and amounts).
    assert_eq!(summary.bytes, 3 * bytes);
    assert_eq!(summary.oldest_age_ms, Some(3_000));
    // The oldest leaves: the next one's age counts.
    pool.remove_committed([&first.hash()]);
    let summary = pool.summary(4_000);
    assert_eq!((summary.txs, summary.proposed), (2, 0));
    assert_eq!(summary.oldest_age_ms, Some(2_500));
    // A clock behind the arrival times reads as no wait, never an overflow.
    assert_eq!(pool.summary(0).oldest_age_ms, Some(0));
    // b's nonce 0 is used by a committed block: dropped, its reason remembered.
    let dropped = pool.revalidate([&Address::of(&b.public_key())], |_| Account {
        balance: 1_000,
        nonce: 1,
    });
    assert_eq!(dropped.len(), 1);
    let summary = pool.summary(4_000);
    assert_eq!((summary.txs, summary.senders), (1, 1));
    assert_eq!(summary.dropped_remembered, 1);
}
