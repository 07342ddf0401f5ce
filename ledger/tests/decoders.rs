//! Every ledger decoder is bounded and canonical, returns a typed error and never
//! panics: random, truncated, over-long and mutated bytes (issue: foundation, "Bad
//! input").

use crypto::{Canonical, DecodeError, SigningKey};
use ledger::{
    Account, Address, Block, ChainId, Genesis, SignedTransaction, Tip, Transaction, TxKind,
    TxLocation,
};
use rand::{Rng, SeedableRng};

fn transfer(nonce: u64) -> SignedTransaction {
    let key = SigningKey::from_seed([3; 32]);
    Transaction {
        chain_id: ChainId::new("decoder-test").unwrap(),
        signer: key.public_key(),
        nonce,
        kind: TxKind::Transfer {
            to: Address([7; 20]),
            amount: 1234,
        },
    }
    .sign(&key)
}

fn block() -> Block {
    Block::assemble(
        9,
        crypto::sha256(b"parent"),
        crypto::sha256(b"batch"),
        77,
        SigningKey::from_seed([4; 32]).public_key(),
        (0..5).map(transfer).collect(),
        crypto::sha256(b"state"),
    )
}

/// Feeds `good` and many corruptions of it to `T`'s decoder.
fn hammer<T: Canonical + PartialEq + std::fmt::Debug>(good: &T, seed: u64) {
    let bytes = good.to_canonical_bytes();
    assert_eq!(&T::from_canonical_bytes(&bytes).unwrap(), good);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for cut in 0..bytes.len() {
        assert!(
            T::from_canonical_bytes(&bytes[..cut]).is_err(),
            "{} accepted a truncation to {cut} bytes",
            T::NAME
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        T::from_canonical_bytes(&longer),
        Err(DecodeError::TrailingBytes { .. }) | Err(DecodeError::TooLong { .. })
    ));
    let huge = vec![0xffu8; T::MAX_ENCODED_LEN.saturating_add(1).min(1 << 26)];
    if huge.len() > T::MAX_ENCODED_LEN {
        assert!(matches!(
            T::from_canonical_bytes(&huge),
            Err(DecodeError::TooLong { .. })
        ));
    }
    for _ in 0..3000 {
        let len = rng.gen_range(0..bytes.len() * 2 + 2);
        let random: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if let Ok(value) = T::from_canonical_bytes(&random) {
            assert_eq!(value.to_canonical_bytes(), random, "non-canonical accepted");
        }
        let mut mutated = bytes.clone();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..mutated.len());
            mutated[at] = rng.gen();
        }
        if let Ok(value) = T::from_canonical_bytes(&mutated) {
            assert_eq!(
                value.to_canonical_bytes(),
                mutated,
                "non-canonical accepted"
            );
        }
    }
}

#[test]
fn account_decoder() {
    hammer(
        &Account {
            balance: 1 << 40,
            nonce: 3,
        },
        1,
    );
}

#[test]
fn transaction_decoders() {
    hammer(&transfer(5).tx, 2);
    hammer(&transfer(6), 3);
}

#[test]
fn block_decoder() {
    hammer(&block(), 4);
    hammer(&block().header, 5);
}

#[test]
fn small_record_decoders() {
    hammer(
        &TxLocation {
            height: 300,
            index: 2,
        },
        6,
    );
    hammer(
        &Tip {
            height: 1 << 33,
            hash: crypto::sha256(b"t"),
        },
        7,
    );
}

#[test]
fn genesis_decoder() {
    let key = |i: u8| SigningKey::from_seed([i; 32]).public_key();
    let genesis: Genesis = serde_json::from_value(serde_json::json!({
        "chain_id": "decoder-test",
        "genesis_time_ms": 5,
        "admin": key(9).to_string(),
        "validators": (1..=4).map(|i| serde_json::json!({
            "public_key": key(i).to_string(),
            "p2p_addr": format!("/ip4/127.0.0.1/tcp/{}", 8100 + i as u16),
        })).collect::<Vec<_>>(),
        "balances": [{"address": Address([1; 20]).to_string(), "balance": 10}],
    }))
    .unwrap();
    genesis.validate().unwrap();
    hammer(&genesis, 8);
}

#[test]
fn a_block_of_more_than_the_limit_of_transactions_is_refused() {
    // Complete, well-formed bytes whose only fault is the count: 10,000 decode and
    // 10,001 do not.
    let tx = transfer(0);
    let header = block().header;
    let encode = |n: usize| postcard::to_allocvec(&(&header, vec![&tx; n])).unwrap();
    let at_limit = encode(ledger::MAX_BLOCK_TXS);
    assert_eq!(
        Block::from_canonical_bytes(&at_limit).unwrap().txs.len(),
        ledger::MAX_BLOCK_TXS
    );
    let over = encode(ledger::MAX_BLOCK_TXS + 1);
    assert!(over.len() <= Block::MAX_ENCODED_LEN);
    let err = Block::from_canonical_bytes(&over).unwrap_err();
    assert!(matches!(err, DecodeError::Malformed { .. }), "{err}");
}
