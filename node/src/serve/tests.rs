//! Tests of the serving limits and budgets.

use super::*;
use crypto::{BoundedString, BoundedVec, SigningKey};
use ledger::{Block, ChainId, ConsensusParams, Genesis, StateDelta, Store, ValidatorInfo};

fn genesis() -> Genesis {
    Genesis {
        chain_id: ChainId::new("serve-test").unwrap(),
        genesis_time_ms: 1_700_000_000_000,
        admin: SigningKey::from_seed([255; 32]).public_key(),
        validators: BoundedVec::new(
            (0..4u8)
                .map(|i| ValidatorInfo {
                    public_key: SigningKey::from_seed([100 + i; 32]).public_key(),
                    p2p_addr: BoundedString::new(format!(
                        "/ip4/127.0.0.1/tcp/{}",
                        9100 + u16::from(i)
                    ))
                    .unwrap(),
                })
                .collect(),
        )
        .unwrap(),
        balances: BoundedVec::empty(),
        consensus: ConsensusParams::default(),
    }
}

/// A store with empty blocks 1..=5, each with an (empty) certificate.
fn store_with_blocks(dir: &std::path::Path) -> Store {
    let genesis = genesis();
    let mut store = Store::open(dir, &genesis).unwrap();
    let certificate = Certificate {
        view: 0,
        commits: BoundedVec::empty(),
    };
    for height in 1..=5 {
        let tip = store.tip();
        let delta = StateDelta::compute(&store.state().view(), Default::default(), Vec::new());
        let block = Block::assemble(
            height,
            tip.hash,
            crypto::sha256(&height.to_be_bytes()),
            height,
            genesis.admin,
            Vec::new(),
            delta.state_root,
        );
        store
            .commit_block(&block, &certificate.to_canonical_bytes(), delta)
            .unwrap();
    }
    store
}

#[test]
fn an_answer_stops_at_the_count_the_budget_or_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_blocks(dir.path());
    let heights = |blocks: Vec<CertifiedBlock>| -> Vec<u64> {
        blocks.iter().map(|b| b.block.header.height).collect()
    };
    let big = usize::MAX;
    assert_eq!(
        heights(blocks_to_serve(&store.reader(), 2, 3, big)),
        [2, 3, 4]
    );
    assert_eq!(
        heights(blocks_to_serve(&store.reader(), 3, 10, big)),
        [3, 4, 5]
    );
    assert!(blocks_to_serve(&store.reader(), 6, 10, big).is_empty());
    // One block always goes, however small the budget...
    assert_eq!(heights(blocks_to_serve(&store.reader(), 1, 10, 1)), [1]);
    // ...and the budget is counted in encoded bytes.
    let one = blocks_to_serve(&store.reader(), 1, 1, big).remove(0);
    let size = one.block.to_canonical_bytes().len() + one.certificate.to_canonical_bytes().len();
    assert_eq!(
        heights(blocks_to_serve(&store.reader(), 1, 10, 2 * size)),
        [1, 2]
    );
    assert_eq!(
        heights(blocks_to_serve(&store.reader(), 1, 10, 2 * size + 1)),
        [1, 2, 3]
    );
}

#[test]
fn answers_are_limited_in_total_and_per_peer_and_slots_come_back() {
    let server = Server::new(ServeLimits {
        total: 3,
        per_peer: 2,
    });
    let (a, b, c) = (ReplicaId(1), ReplicaId(2), ReplicaId(3));
    let a1 = server.admit(a).expect("a's first");
    let a2 = server.admit(a).expect("a's second");
    assert!(server.admit(a).is_none(), "a is at its own limit");
    let b1 = server.admit(b).expect("b's first");
    assert!(server.admit(c).is_none(), "the node is at its total limit");
    drop(a1);
    assert!(server.admit(a).is_some(), "a's slot came back");
    drop((a2, b1));
    let again: Vec<_> = [a, b, c].iter().map(|p| server.admit(*p)).collect();
    assert!(again.iter().all(Option::is_some));
}
