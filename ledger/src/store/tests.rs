use super::*;
use crate::execute::{execute_block, ExecEnv};
use crate::genesis::tests::sample;
use crate::{ChainId, Transaction, TxKind, VerifiedTx};
use crypto::{BoundedVec, SigningKey};

pub(super) struct Chain {
    pub genesis: Genesis,
    pub alice: SigningKey,
    pub bob: Address,
    nonce: u64,
}

pub(super) fn chain() -> Chain {
    let alice = SigningKey::from_seed([21; 32]);
    Chain {
        genesis: sample(4, &[(Address::of(&alice.public_key()), 1_000_000)]),
        alice,
        bob: Address([0xbb; 20]),
        nonce: 0,
    }
}

/// The next valid block on `store` with `n` transfers from alice to bob.
pub(super) fn next_block(store: &Store, chain: &mut Chain, n: usize) -> (Block, StateDelta) {
    let txs: Vec<VerifiedTx> = (0..n)
        .map(|_| {
            let signed = Transaction {
                chain_id: ChainId::new("test-chain").unwrap(),
                signer: chain.alice.public_key(),
                nonce: chain.nonce,
                kind: TxKind::Transfer {
                    to: chain.bob,
                    amount: 3,
                },
            }
            .sign(&chain.alice);
            chain.nonce += 1;
            VerifiedTx::verify(signed).unwrap()
        })
        .collect();
    let view = store.state().view();
    let env = ExecEnv {
        chain_id: "test-chain",
        admin: chain.genesis.admin,
        validators: store.validators(),
    };
    let delta = execute_block(&view, env, &txs).unwrap();
    let tip = store.tip();
    let block = Block::assemble(
        tip.height + 1,
        tip.hash,
        crypto::sha256(&tip.height.to_le_bytes()),
        1000 + tip.height,
        chain.genesis.validators[0].public_key,
        txs.into_iter().map(VerifiedTx::into_signed).collect(),
        delta.state_root,
    );
    (block, delta)
}

#[test]
fn new_store_holds_the_genesis_block_and_reopens_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    let tip = {
        let store = Store::open(dir.path(), &c.genesis).unwrap();
        let genesis_block = store.block(0).unwrap().unwrap();
        assert_eq!(genesis_block.header.batch_digest, c.genesis.hash());
        assert_eq!(store.tip().height, 0);
        assert_eq!(store.tip().hash, genesis_block.hash());
        assert_eq!(
            store
                .account(&Address::of(&c.alice.public_key()))
                .unwrap()
                .balance,
            1_000_000
        );
        store.tip()
    };
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.tip(), tip);
    assert_eq!(store.validators(), c.genesis.validators.to_vec());
}

#[test]
fn committed_blocks_are_found_every_way_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut committed = vec![];
    {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        for i in 0..5 {
            let (block, delta) = next_block(&store, &mut c, i + 1);
            store
                .commit_block(&block, format!("cert {i}").as_bytes(), delta)
                .unwrap();
            committed.push(block);
        }
        assert_eq!(store.tip().height, 5);
    }
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.tip().height, 5);
    assert_eq!(store.tip().hash, committed[4].hash());
    for (i, block) in committed.iter().enumerate() {
        let h = i as u64 + 1;
        assert_eq!(store.block(h).unwrap().as_ref(), Some(block));
        assert_eq!(
            store.block_by_hash(&block.hash()).unwrap().as_ref(),
            Some(block)
        );
        assert_eq!(
            store.certificate(h).unwrap(),
            Some(format!("cert {i}").into_bytes())
        );
        for (index, tx) in block.txs.iter().enumerate() {
            let (found, location) = store.transaction(&tx.hash()).unwrap().unwrap();
            assert_eq!(&found, tx);
            assert_eq!(
                location,
                TxLocation {
                    height: h,
                    index: index as u32
                }
            );
        }
    }
    let range = store.blocks(2, 3).unwrap();
    assert_eq!(
        range.iter().map(|b| b.header.height).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert!(store.block(6).unwrap().is_none());
    assert!(store.tx_location(&Hash::ZERO).unwrap().is_none());
    // 1 + 2 + 3 + 4 + 5 transfers of 3 each.
    assert_eq!(store.account(&c.bob).unwrap().balance, 45);
    assert_eq!(
        store.account_on_disk(&c.bob).unwrap(),
        store.account(&c.bob)
    );
}

#[test]
fn blocks_that_do_not_extend_the_tip_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut store = Store::open(dir.path(), &c.genesis).unwrap();
    let (block, delta) = next_block(&store, &mut c, 2);
    let before = (store.tip(), store.state().root());

    let mut skipped = block.clone();
    skipped.header.height = 2;
    assert!(matches!(
        store.commit_block(&skipped, b"", delta.clone()),
        Err(StoreError::NotNext { tip: 0, got: 2 })
    ));
    let mut orphan = block.clone();
    orphan.header.parent = crypto::sha256(b"elsewhere");
    assert!(matches!(
        store.commit_block(&orphan, b"", delta.clone()),
        Err(StoreError::WrongParent { .. })
    ));
    let mut lying = block.clone();
    lying.header.state_root = crypto::sha256(b"made up");
    assert!(matches!(
        store.commit_block(&lying, b"", delta.clone()),
        Err(StoreError::StateRootMismatch { .. })
    ));
    let mut emptied = block.clone();
    emptied.txs = BoundedVec::empty();
    assert!(matches!(
        store.commit_block(&emptied, b"", delta.clone()),
        Err(StoreError::BodyMismatch { .. })
    ));
    assert!(matches!(
        store.commit_block(&block, &vec![0; MAX_CERTIFICATE_BYTES + 1], delta.clone()),
        Err(StoreError::CertificateTooLarge { .. })
    ));
    assert_eq!((store.tip(), store.state().root()), before);
    assert!(store.block(1).unwrap().is_none());

    store.commit_block(&block, b"ok", delta.clone()).unwrap();
    // The same delta cannot be applied twice: the state has moved on.
    let (next, _) = next_block(&store, &mut c, 1);
    assert!(matches!(
        store.commit_block(&next, b"", delta),
        Err(StoreError::DeltaOnOtherState { .. })
    ));
}

#[test]
fn another_genesis_is_refused_and_the_data_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let tip = {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        let (block, delta) = next_block(&store, &mut c, 1);
        store.commit_block(&block, b"", delta).unwrap();
        store.tip()
    };
    let mut other = c.genesis.clone();
    other.chain_id = ChainId::new("another-chain").unwrap();
    let err = Store::open(dir.path(), &other).err().unwrap();
    assert!(
        matches!(&err, StoreError::GenesisMismatch { stored, given, .. }
            if *stored == c.genesis.hash() && *given == other.hash()),
        "{err}"
    );
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.tip(), tip);
}

#[test]
fn a_newer_format_is_refused_and_the_data_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    let tip = Store::open(dir.path(), &c.genesis).unwrap().tip();
    {
        let db = open_db(dir.path()).unwrap();
        let meta = db.cf_handle(CF_META).unwrap();
        db.put_cf(
            meta,
            META_FORMAT_VERSION,
            (FORMAT_VERSION + 1).to_be_bytes(),
        )
        .unwrap();
    }
    let err = Store::open(dir.path(), &c.genesis).err().unwrap();
    assert!(
        matches!(err, StoreError::NewerFormat { found, supported, .. }
            if found == FORMAT_VERSION + 1 && supported == FORMAT_VERSION),
        "{err}"
    );
    // Still the same data, still at the newer version: nothing was rewritten.
    let db = open_db(dir.path()).unwrap();
    let meta = db.cf_handle(CF_META).unwrap();
    assert_eq!(
        db.get_cf(meta, META_FORMAT_VERSION).unwrap().unwrap(),
        (FORMAT_VERSION + 1).to_be_bytes().to_vec()
    );
    assert_eq!(
        Tip::from_canonical_bytes(&db.get_cf(meta, META_TIP).unwrap().unwrap()).unwrap(),
        tip
    );
}

#[test]
fn a_foreign_rocksdb_is_not_mistaken_for_a_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut options = Options::default();
        options.create_if_missing(true);
        let db = DB::open(&options, dir.path()).unwrap();
        db.put(b"k", b"v").unwrap();
    }
    let err = Store::open(dir.path(), &chain().genesis).err().unwrap();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
}

#[test]
fn tampered_accounts_are_detected_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    drop(Store::open(dir.path(), &c.genesis).unwrap());
    {
        let db = open_db(dir.path()).unwrap();
        let accounts = db.cf_handle(CF_ACCOUNTS).unwrap();
        let forged = Account {
            balance: 5,
            nonce: 0,
        };
        db.put_cf(accounts, [0x42; 20], forged.to_canonical_bytes())
            .unwrap();
    }
    let err = Store::open(dir.path(), &c.genesis).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn governance_changes_the_stored_validator_set() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain();
    let admin = SigningKey::from_seed([200; 32]);
    let newcomer = ValidatorInfo {
        public_key: SigningKey::from_seed([60; 32]).public_key(),
        p2p_addr: crypto::BoundedString::new("/ip4/127.0.0.1/tcp/9000").unwrap(),
    };
    {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        let signed = Transaction {
            chain_id: ChainId::new("test-chain").unwrap(),
            signer: admin.public_key(),
            nonce: 0,
            kind: TxKind::AddValidator {
                validator: newcomer.clone(),
            },
        }
        .sign(&admin);
        let txs = vec![VerifiedTx::verify(signed).unwrap()];
        let view = store.state().view();
        let env = ExecEnv {
            chain_id: "test-chain",
            admin: admin.public_key(),
            validators: store.validators(),
        };
        let delta = execute_block(&view, env, &txs).unwrap();
        let tip = store.tip();
        let block = Block::assemble(
            1,
            tip.hash,
            Hash::ZERO,
            1,
            admin.public_key(),
            txs.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        drop(view);
        store.commit_block(&block, b"", delta).unwrap();
        assert_eq!(store.validators().len(), 5);
    }
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.validators().last(), Some(&newcomer));
}

/// `count` consecutive blocks of `n` transfers each on top of `store`, executed the
/// way a state transfer executes them (each on one layer holding the ones before),
/// with the joined delta.
fn next_blocks(
    store: &Store,
    chain: &mut Chain,
    count: usize,
    n: usize,
) -> (Vec<Block>, StateDelta) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut joined: Option<StateDelta> = None;
    for _ in 0..count {
        let txs: Vec<VerifiedTx> = (0..n)
            .map(|_| {
                let signed = Transaction {
                    chain_id: ChainId::new("test-chain").unwrap(),
                    signer: chain.alice.public_key(),
                    nonce: chain.nonce,
                    kind: TxKind::Transfer {
                        to: chain.bob,
                        amount: 3,
                    },
                }
                .sign(&chain.alice);
                chain.nonce += 1;
                VerifiedTx::verify(signed).unwrap()
            })
            .collect();
        let view = match &joined {
            Some(delta) => store.state().view().with_layer(delta),
            None => store.state().view(),
        };
        let env = ExecEnv {
            chain_id: "test-chain",
            admin: chain.genesis.admin,
            validators: store.validators(),
        };
        let delta = execute_block(&view, env, &txs).unwrap();
        drop(view);
        let (height, parent) = match blocks.last() {
            Some(block) => (block.header.height + 1, block.hash()),
            None => (store.tip().height + 1, store.tip().hash),
        };
        blocks.push(Block::assemble(
            height,
            parent,
            crypto::sha256(&height.to_le_bytes()),
            1000 + height,
            chain.genesis.validators[0].public_key,
            txs.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        ));
        match &mut joined {
            Some(joined) => joined.absorb(delta),
            None => joined = Some(delta),
        }
    }
    (blocks, joined.expect("count > 0"))
}

#[test]
fn consecutive_blocks_commit_in_one_write_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let alice = Address::of(&c.alice.public_key());
    let (tip, root) = {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        let (blocks, delta) = next_blocks(&store, &mut c, 3, 2);
        let certificates: Vec<Vec<u8>> = (1..=3u8).map(|i| vec![i; 10]).collect();
        let group: Vec<(&Block, &[u8])> = blocks
            .iter()
            .zip(&certificates)
            .map(|(b, c)| (b, c.as_slice()))
            .collect();
        store.commit_blocks(&group, delta).unwrap();
        assert_eq!(store.tip().height, 3);
        assert_eq!(store.tip().hash, blocks[2].hash());
        assert_eq!(store.state().root(), blocks[2].header.state_root);
        for (block, certificate) in blocks.iter().zip(&certificates) {
            let height = block.header.height;
            assert_eq!(store.block(height).unwrap().as_ref(), Some(block));
            assert_eq!(
                store.certificate(height).unwrap().as_ref(),
                Some(certificate)
            );
            assert_eq!(store.height_of(&block.hash()).unwrap(), Some(height));
            let location = store.tx_location(&block.txs[1].hash()).unwrap().unwrap();
            assert_eq!((location.height, location.index), (height, 1));
        }
        assert_eq!(store.account(&alice).unwrap().nonce, 6);
        assert_eq!(store.account(&c.bob).unwrap().balance, 18);
        (store.tip(), store.state().root())
    };
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!((store.tip(), store.state().root()), (tip, root));
    assert_eq!(store.account_on_disk(&alice).unwrap().unwrap().nonce, 6);
}

fn refs(owned: &[(Block, Vec<u8>)]) -> Vec<(&Block, &[u8])> {
    owned.iter().map(|(b, c)| (b, c.as_slice())).collect()
}

#[test]
fn a_group_with_one_bad_block_writes_none_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut store = Store::open(dir.path(), &c.genesis).unwrap();
    let (blocks, delta) = next_blocks(&store, &mut c, 3, 1);
    let before = (store.tip(), store.state().root());
    let group = |blocks: &[Block]| -> Vec<(Block, Vec<u8>)> {
        blocks.iter().map(|b| (b.clone(), Vec::new())).collect()
    };

    let mut broken = group(&blocks);
    broken[1].0.header.parent = crypto::sha256(b"elsewhere");
    assert!(matches!(
        store.commit_blocks(&refs(&broken), delta.clone()),
        Err(StoreError::WrongParent { height: 2, .. })
    ));
    let mut gap = group(&blocks);
    gap.remove(1);
    assert!(matches!(
        store.commit_blocks(&refs(&gap), delta.clone()),
        Err(StoreError::NotNext { tip: 1, got: 3 })
    ));
    let mut emptied = group(&blocks);
    emptied[2].0.txs = BoundedVec::empty();
    assert!(matches!(
        store.commit_blocks(&refs(&emptied), delta.clone()),
        Err(StoreError::BodyMismatch { height: 3 })
    ));
    // The delta of three blocks does not end at the second block's root.
    let short = group(&blocks[..2]);
    assert!(matches!(
        store.commit_blocks(&refs(&short), delta.clone()),
        Err(StoreError::StateRootMismatch { height: 2, .. })
    ));
    assert_eq!((store.tip(), store.state().root()), before);
    for height in 1..=3 {
        assert!(store.block(height).unwrap().is_none());
        assert!(store.certificate(height).unwrap().is_none());
    }

    store.commit_blocks(&refs(&group(&blocks)), delta).unwrap();
    assert_eq!(store.tip().height, 3);
}

fn newcomer(seed: u8) -> ValidatorInfo {
    ValidatorInfo {
        public_key: SigningKey::from_seed([seed; 32]).public_key(),
        p2p_addr: crypto::BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 9000 + seed as u32))
            .unwrap(),
    }
}

/// Consecutive blocks on top of `store`, block `i` holding the admin's governance
/// transactions `kinds[i]` (none: one transfer), executed the way a state transfer
/// executes them, with the joined delta and the validator set after each block.
fn governance_blocks(
    store: &Store,
    chain: &mut Chain,
    admin_nonce: &mut u64,
    kinds: &[Vec<TxKind>],
) -> (Vec<Block>, StateDelta, Vec<Vec<ValidatorInfo>>) {
    let admin = SigningKey::from_seed([200; 32]);
    let mut blocks: Vec<Block> = Vec::new();
    let mut joined: Option<StateDelta> = None;
    let mut validators = store.validators().to_vec();
    let mut sets = Vec::new();
    for block_kinds in kinds {
        let signed: Vec<SignedTransaction> = if block_kinds.is_empty() {
            chain.nonce += 1;
            vec![Transaction {
                chain_id: ChainId::new("test-chain").unwrap(),
                signer: chain.alice.public_key(),
                nonce: chain.nonce - 1,
                kind: TxKind::Transfer {
                    to: chain.bob,
                    amount: 1,
                },
            }
            .sign(&chain.alice)]
        } else {
            block_kinds
                .iter()
                .map(|kind| {
                    *admin_nonce += 1;
                    Transaction {
                        chain_id: ChainId::new("test-chain").unwrap(),
                        signer: admin.public_key(),
                        nonce: *admin_nonce - 1,
                        kind: kind.clone(),
                    }
                    .sign(&admin)
                })
                .collect()
        };
        let txs: Vec<VerifiedTx> = signed
            .into_iter()
            .map(|s| VerifiedTx::verify(s).unwrap())
            .collect();
        let view = match &joined {
            Some(delta) => store.state().view().with_layer(delta),
            None => store.state().view(),
        };
        let env = ExecEnv {
            chain_id: "test-chain",
            admin: admin.public_key(),
            validators: &validators,
        };
        let delta = execute_block(&view, env, &txs).unwrap();
        drop(view);
        validators = ValidatorChange::apply_all(&validators, &delta.validator_changes);
        sets.push(validators.clone());
        let (height, parent) = match blocks.last() {
            Some(block) => (block.header.height + 1, block.hash()),
            None => (store.tip().height + 1, store.tip().hash),
        };
        blocks.push(Block::assemble(
            height,
            parent,
            crypto::sha256(&height.to_le_bytes()),
            1000 + height,
            chain.genesis.validators[0].public_key,
            txs.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        ));
        match &mut joined {
            Some(joined) => joined.absorb(delta),
            None => joined = Some(delta),
        }
    }
    (blocks, joined.expect("kinds is not empty"), sets)
}

#[test]
fn the_governance_history_keeps_each_changing_block_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut admin_nonce = 0;
    let first = c.genesis.validators[0].public_key;
    let expected = {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        assert!(store.validator_history().is_empty());
        assert_eq!(store.genesis_validators(), c.genesis.validators.to_vec());
        // One block at a time (the consensus path): a transfer, an addition, a
        // transfer, then a removal and an addition in one block.
        let plan = [
            vec![],
            vec![TxKind::AddValidator {
                validator: newcomer(61),
            }],
            vec![],
            vec![
                TxKind::RemoveValidator { public_key: first },
                TxKind::AddValidator {
                    validator: newcomer(62),
                },
            ],
        ];
        let mut sets = Vec::new();
        for kinds in plan {
            let (blocks, delta, after) =
                governance_blocks(&store, &mut c, &mut admin_nonce, &[kinds]);
            store.commit_block(&blocks[0], b"", delta).unwrap();
            sets.push(after[0].clone());
        }
        let expected = vec![(2, sets[1].clone()), (4, sets[3].clone())];
        assert_eq!(store.validator_history(), expected.as_slice());
        assert_eq!(store.validators(), sets[3].as_slice());
        assert_eq!(sets[3].len(), 5);
        assert!(sets[3].iter().all(|v| v.public_key != first));
        assert_eq!(sets[3].last(), Some(&newcomer(62)));
        expected
    };
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.validator_history(), expected.as_slice());
    assert_eq!(store.validators(), expected[1].1.as_slice());
    assert_eq!(store.genesis_validators(), c.genesis.validators.to_vec());
}

#[test]
fn a_state_transfer_group_records_the_height_of_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut admin_nonce = 0;
    let first = c.genesis.validators[0].public_key;
    let mut store = Store::open(dir.path(), &c.genesis).unwrap();
    let plan = [
        vec![],
        vec![TxKind::AddValidator {
            validator: newcomer(63),
        }],
        vec![TxKind::RemoveValidator { public_key: first }],
        vec![],
    ];
    let (blocks, delta, sets) = governance_blocks(&store, &mut c, &mut admin_nonce, &plan);
    let owned: Vec<(Block, Vec<u8>)> = blocks.iter().map(|b| (b.clone(), vec![])).collect();

    // A delta whose changes do not match the blocks' governance transactions is
    // refused, and nothing is written.
    let mut lying = delta.clone();
    lying.validator_changes.pop();
    assert!(matches!(
        store.commit_blocks(&refs(&owned), lying),
        Err(StoreError::ValidatorChangesMismatch { height: 4 })
    ));
    assert_eq!(store.tip().height, 0);
    assert!(store.validator_history().is_empty());

    store.commit_blocks(&refs(&owned), delta).unwrap();
    let expected = vec![(2, sets[1].clone()), (3, sets[2].clone())];
    assert_eq!(store.validator_history(), expected.as_slice());
    assert_eq!(store.validators(), sets[3].as_slice());
    drop(store);
    let store = Store::open(dir.path(), &c.genesis).unwrap();
    assert_eq!(store.validator_history(), expected.as_slice());
}

#[test]
fn a_lost_history_entry_is_detected_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain();
    let mut admin_nonce = 0;
    {
        let mut store = Store::open(dir.path(), &c.genesis).unwrap();
        let plan = [vec![TxKind::AddValidator {
            validator: newcomer(64),
        }]];
        let (blocks, delta, _) = governance_blocks(&store, &mut c, &mut admin_nonce, &plan);
        store.commit_block(&blocks[0], b"", delta).unwrap();
        let meta = store.cf(CF_META);
        store.db.delete_cf(meta, history::history_key(1)).unwrap();
    }
    let err = Store::open(dir.path(), &c.genesis).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn the_chain_reader_finds_many_transactions_within_a_budget_of_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = chain();
    let mut store = Store::open(dir.path(), &chain.genesis).unwrap();
    let reader = store.reader();
    let mut blocks = Vec::new();
    for n in [3, 2, 4] {
        let (block, delta) = next_block(&store, &mut chain, n);
        store.commit_block(&block, b"cert", delta).unwrap();
        blocks.push(block);
    }
    // The reader sees what the store committed, tip included, without its lock.
    assert_eq!(reader.tip().unwrap(), store.tip());
    assert_eq!(reader.block(2).unwrap(), Some(blocks[1].clone()));
    // Hashes of blocks 1, 2 and 3, one not committed, asked in any order.
    let mut asked: Vec<Hash> = blocks.iter().rev().flat_map(Block::tx_hashes).collect();
    asked.push(Hash([9; 32]));
    let all = reader.transactions(&asked, 3).unwrap();
    assert_eq!(all.txs.len(), 9);
    assert_eq!((all.over_budget, all.highest), (0, Some(3)));
    for (tx, location) in &all.txs {
        let block = &blocks[location.height as usize - 1];
        assert_eq!(&block.txs[location.index as usize], tx);
    }
    // Two blocks' worth: the lowest heights first, the rest counted as left out.
    let budgeted = reader.transactions(&asked, 2).unwrap();
    let heights: Vec<u64> = budgeted.txs.iter().map(|(_, l)| l.height).collect();
    assert_eq!(heights, [1, 1, 1, 2, 2]);
    assert_eq!((budgeted.over_budget, budgeted.highest), (4, Some(3)));
    let none = reader.transactions(&[Hash([9; 32])], 2).unwrap();
    assert!(none.txs.is_empty() && none.highest.is_none());
}
