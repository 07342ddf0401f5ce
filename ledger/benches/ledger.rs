//! Ledger costs (issue: foundation). Run: `cargo bench -p ledger`.
//!
//! - `execute_block/2000_transfers`: execute a block of 2,000 transfers whose
//!   signatures are already verified, including the new state root.
//! - `commit_block/2000_transfers`: commit that block to RocksDB (one synced write).
//! - `state_root_update/4000_accounts/N`: the state-root update for a block touching
//!   4,000 accounts, with N accounts in the state.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use crypto::{BoundedString, BoundedVec, SigningKey};
use ledger::{
    execute_block, Account, Address, Block, ChainId, ConsensusParams, ExecEnv, Genesis,
    GenesisBalance, State, StateDelta, Store, Transaction, TxKind, ValidatorInfo, VerifiedTx,
};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TXS: usize = 2000;

fn genesis(senders: &[SigningKey], extra_accounts: usize) -> Genesis {
    let mut balances: Vec<GenesisBalance> = senders
        .iter()
        .map(|k| GenesisBalance {
            address: Address::of(&k.public_key()),
            balance: 1 << 40,
        })
        .collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    balances.extend((0..extra_accounts).map(|_| GenesisBalance {
        address: Address(rng.gen()),
        balance: 1,
    }));
    Genesis {
        chain_id: ChainId::new("bench").unwrap(),
        genesis_time_ms: 0,
        admin: SigningKey::from_seed([255; 32]).public_key(),
        validators: BoundedVec::new(
            (0..4u8)
                .map(|i| ValidatorInfo {
                    public_key: SigningKey::from_seed([200 + i; 32]).public_key(),
                    p2p_addr: BoundedString::new("/ip4/127.0.0.1/tcp/1").unwrap(),
                })
                .collect(),
        )
        .unwrap(),
        balances: BoundedVec::new(balances).unwrap(),
        consensus: ConsensusParams::default(),
    }
}

fn senders() -> Vec<SigningKey> {
    (0..TXS as u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            SigningKey::from_seed(seed)
        })
        .collect()
}

/// 2,000 transfers from 2,000 senders to 2,000 fresh receivers: 4,000 accounts.
fn transfers(senders: &[SigningKey], nonce: u64, rng: &mut impl Rng) -> Vec<VerifiedTx> {
    senders
        .iter()
        .map(|key| {
            let signed = Transaction {
                chain_id: ChainId::new("bench").unwrap(),
                signer: key.public_key(),
                nonce,
                kind: TxKind::Transfer {
                    to: Address(rng.gen()),
                    amount: 7,
                },
            }
            .sign(key);
            VerifiedTx::from_own_store(signed)
        })
        .collect()
}

fn bench_execute(c: &mut Criterion) {
    let senders = senders();
    let genesis = genesis(&senders, 10_000);
    let state = genesis.initial_state();
    let txs = transfers(&senders, 0, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let validators = genesis.validators.to_vec();
    let env = ExecEnv {
        chain_id: "bench",
        admin: genesis.admin,
        validators: &validators,
    };
    c.bench_function("execute_block/2000_transfers", |b| {
        b.iter(|| execute_block(&state.view(), env, &txs).unwrap())
    });
}

fn bench_commit(c: &mut Criterion) {
    let senders = senders();
    let genesis = genesis(&senders, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path(), &genesis).unwrap();
    let validators = genesis.validators.to_vec();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    c.bench_function("commit_block/2000_transfers", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let tip = store.tip();
                let txs = transfers(&senders, tip.height, &mut rng);
                let env = ExecEnv {
                    chain_id: "bench",
                    admin: genesis.admin,
                    validators: &validators,
                };
                let delta = execute_block(&store.state().view(), env, &txs).unwrap();
                let block = Block::assemble(
                    tip.height + 1,
                    tip.hash,
                    tip.hash,
                    tip.height + 1,
                    validators[0].public_key,
                    txs.into_iter().map(VerifiedTx::into_signed).collect(),
                    delta.state_root,
                );
                let start = Instant::now();
                store.commit_block(&block, &[0u8; 3000], delta).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
}

fn bench_state_root(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root_update/4000_accounts");
    for size in [10_000usize, 1_000_000] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(size as u64);
        let addresses: Vec<Address> = (0..size).map(|_| Address(rng.gen())).collect();
        let state = State::from_accounts(addresses.iter().map(|a| (*a, Account::default())));
        // Half updates of existing accounts, half new accounts, as a block of
        // 2,000 transfers to fresh receivers would make.
        let changes: BTreeMap<Address, Account> = (0..4000)
            .map(|i| {
                let address = if i % 2 == 0 {
                    addresses[rng.gen_range(0..size)]
                } else {
                    Address(rng.gen())
                };
                (
                    address,
                    Account {
                        balance: i,
                        nonce: 1,
                    },
                )
            })
            .collect();
        group.bench_with_input(BenchmarkId::from_parameter(size), &changes, |b, changes| {
            b.iter(|| StateDelta::compute(&state.view(), changes.clone(), Vec::new()))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(8));
    targets = bench_execute, bench_commit, bench_state_root
}
criterion_main!(benches);
