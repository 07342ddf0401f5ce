//! The account index and the evidence records: paging, reopening, the upgrade of a
//! version-1 store, and the bounds.

use super::tests::{chain, next_block};
use super::*;

fn positions(txs: &[AccountTx]) -> Vec<(u64, u32)> {
    txs.iter()
        .map(|t| (t.position.height, t.position.index))
        .collect()
}

/// Blocks 1..=3 with 1, 2 and 3 transfers from alice to bob.
fn three_blocks(dir: &Path) -> (super::tests::Chain, Vec<Block>) {
    let mut c = chain();
    let mut store = Store::open(dir, &c.genesis).unwrap();
    let mut blocks = vec![];
    for n in 1..=3 {
        let (block, delta) = next_block(&store, &mut c, n);
        store.commit_block(&block, b"cert", delta).unwrap();
        blocks.push(block);
    }
    (c, blocks)
}

#[test]
fn an_accounts_transactions_come_newest_first_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let (c, blocks) = three_blocks(dir.path());
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    let reader = store.reader();
    let alice = Address::of(&c.alice.public_key());
    let all = reader.account_txs(&alice, None, 100).unwrap();
    assert_eq!(
        positions(&all),
        vec![(3, 2), (3, 1), (3, 0), (2, 1), (2, 0), (1, 0)]
    );
    assert_eq!(all[0].hash, blocks[2].txs[2].hash());
    assert_eq!(all[5].hash, blocks[0].txs[0].hash());
    // The recipient sees the same transfers.
    assert_eq!(reader.account_txs(&c.bob, None, 100).unwrap(), all);

    // Pages of two, each starting strictly after the last one's end.
    let mut paged = vec![];
    let mut before = None;
    loop {
        let page = reader.account_txs(&alice, before, 2).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        before = Some(page.last().unwrap().position);
        paged.extend(page);
    }
    assert_eq!(paged, all);

    // An address with no transaction, one that sorts between the two, has none.
    assert!(reader
        .account_txs(&Address([0x01; 20]), None, 100)
        .unwrap()
        .is_empty());
    let between = Address([0xbb - 1; 20]);
    assert!(reader.account_txs(&between, None, 100).unwrap().is_empty());
}

#[test]
fn a_version_1_store_gets_its_account_index_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _) = three_blocks(dir.path());
    let alice = Address::of(&c.alice.public_key());
    let expected = Store::open(dir.path(), &c.genesis)
        .unwrap()
        .reader()
        .account_txs(&alice, None, 100)
        .unwrap();
    assert_eq!(expected.len(), 6);
    {
        // What a version-1 store looks like: no index, version 1.
        let db = open_db(dir.path()).unwrap();
        let index = db.cf_handle(CF_ACCOUNT_TXS).unwrap();
        let keys: Vec<_> = db
            .iterator_cf(index, IteratorMode::Start)
            .map(|item| item.unwrap().0)
            .collect();
        for key in keys {
            db.delete_cf(index, key).unwrap();
        }
        let meta = db.cf_handle(CF_META).unwrap();
        db.put_cf(meta, META_FORMAT_VERSION, 1u32.to_be_bytes())
            .unwrap();
    }
    {
        let store = Store::open(dir.path(), &c.genesis).unwrap();
        let reader = store.reader();
        assert_eq!(reader.account_txs(&alice, None, 100).unwrap(), expected);
        assert_eq!(reader.account_txs(&c.bob, None, 100).unwrap(), expected);
    }
    let db = open_db(dir.path()).unwrap();
    let meta = db.cf_handle(CF_META).unwrap();
    assert_eq!(
        db.get_cf(meta, META_FORMAT_VERSION).unwrap().unwrap(),
        FORMAT_VERSION.to_be_bytes().to_vec()
    );
}

#[test]
fn evidence_is_numbered_paged_newest_first_and_kept_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        assert_eq!(store.reader().evidence_page(None, 10).unwrap(), vec![]);
        for i in 1..=5u8 {
            assert_eq!(store.add_evidence(&[i; 3]).unwrap(), u64::from(i));
        }
    }
    let mut store = Store::open(dir.path(), &c.genesis).unwrap();
    let reader = store.reader();
    assert_eq!(reader.evidence(3).unwrap(), Some(vec![3; 3]));
    assert_eq!(reader.evidence(6).unwrap(), None);
    let ids = |page: Vec<(u64, Vec<u8>)>| page.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(ids(reader.evidence_page(None, 2).unwrap()), vec![5, 4]);
    assert_eq!(ids(reader.evidence_page(Some(4), 2).unwrap()), vec![3, 2]);
    assert_eq!(ids(reader.evidence_page(Some(2), 2).unwrap()), vec![1]);
    assert_eq!(
        ids(reader.evidence_page(Some(1), 2).unwrap()),
        Vec::<u64>::new()
    );
    assert_eq!(store.add_evidence(b"six").unwrap(), 6);
}

#[test]
fn evidence_beyond_the_bounds_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    let mut store = Store::open(dir.path(), &c.genesis).unwrap();
    let huge = vec![0u8; MAX_EVIDENCE_BYTES + 1];
    assert!(matches!(
        store.add_evidence(&huge),
        Err(EvidenceRefused::TooLarge { .. })
    ));
    // The last id the store allows is taken: the next record is refused.
    store
        .db
        .put_cf(store.cf(CF_EVIDENCE), MAX_EVIDENCE.to_be_bytes(), b"last")
        .unwrap();
    assert!(matches!(
        store.add_evidence(b"one more"),
        Err(EvidenceRefused::Full { max }) if max == MAX_EVIDENCE
    ));
    assert_eq!(
        store.reader().evidence(MAX_EVIDENCE).unwrap(),
        Some(b"last".to_vec())
    );
}
