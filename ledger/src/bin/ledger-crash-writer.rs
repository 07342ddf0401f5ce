//! Test tool for the crash test (`ledger/tests/crash.rs`): commits blocks of random
//! transfers to a store forever, printing `committed HEIGHT` after each commit
//! returns (so after it is synced), until it is killed.
//!
//! Usage: `ledger-crash-writer GENESIS_JSON STORE_DIR ACCOUNTS SEED`; the funded
//! accounts are the keys with seeds `[1; 32]`, `[2; 32]`, ... `[ACCOUNTS; 32]`.

use crypto::SigningKey;
use ledger::{execute_block, Block, ExecEnv, Genesis, Store, Transaction, TxKind, VerifiedTx};
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: ledger-crash-writer GENESIS_JSON STORE_DIR ACCOUNTS SEED");
        return ExitCode::from(2);
    }
    match run(&args[1], &args[2], &args[3], &args[4]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledger-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    genesis: &str,
    dir: &str,
    accounts: &str,
    seed: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let genesis = Genesis::load(&PathBuf::from(genesis))?;
    let accounts: u8 = accounts.parse()?;
    let keys: Vec<SigningKey> = (1..=accounts)
        .map(|i| SigningKey::from_seed([i; 32]))
        .collect();
    let mut store = Store::open(&PathBuf::from(dir), &genesis)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.parse()?);
    let mut out = std::io::stdout().lock();
    loop {
        let tip = store.tip();
        let txs: Vec<VerifiedTx> = {
            let mut nonces: Vec<u64> = keys
                .iter()
                .map(|k| {
                    store
                        .account(&ledger::Address::of(&k.public_key()))
                        .map_or(0, |a| a.nonce)
                })
                .collect();
            (0..rng.gen_range(1..64))
                .map(|_| {
                    let from = rng.gen_range(0..keys.len());
                    let to = if rng.gen_bool(0.5) {
                        ledger::Address::of(&keys[rng.gen_range(0..keys.len())].public_key())
                    } else {
                        ledger::Address(rng.gen())
                    };
                    let tx = Transaction {
                        chain_id: genesis.chain_id.clone(),
                        signer: keys[from].public_key(),
                        nonce: nonces[from],
                        kind: TxKind::Transfer {
                            to,
                            amount: rng.gen_range(1..100),
                        },
                    }
                    .sign(&keys[from]);
                    nonces[from] += 1;
                    VerifiedTx::from_own_store(tx)
                })
                .collect()
        };
        let delta = {
            let view = store.state().view();
            let env = ExecEnv {
                chain_id: &genesis.chain_id,
                admin: genesis.admin,
                validators: store.validators(),
            };
            execute_block(&view, env, &txs)?
        };
        let block = Block::assemble(
            tip.height + 1,
            tip.hash,
            crypto::sha256(&tip.hash.0),
            genesis.genesis_time_ms + tip.height + 1,
            genesis.validators[0].public_key,
            txs.into_iter().map(VerifiedTx::into_signed).collect(),
            delta.state_root,
        );
        let certificate = block.hash().0;
        store.commit_block(&block, &certificate, delta)?;
        writeln!(out, "committed {}", block.header.height)?;
        out.flush()?;
    }
}
