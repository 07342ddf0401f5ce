//! Crash test (DESIGN.md section 7): a child process commits blocks in a loop and is
//! killed with SIGKILL at random moments. After every kill the store must reopen to
//! a complete block, hold every block up to it with its index entries, lose no block
//! the child reported as committed, and hold exactly the account state that
//! re-executing every block from genesis gives.

use crypto::{BoundedString, BoundedVec, SigningKey};
use ledger::{
    execute_block, Address, ChainId, ConsensusParams, ExecEnv, Genesis, GenesisBalance, State,
    Store, TxLocation, ValidatorInfo, VerifiedTx,
};
use rand::{Rng, SeedableRng};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

const ACCOUNTS: u8 = 20;
const KILLS: usize = 25;

fn genesis() -> Genesis {
    Genesis {
        chain_id: ChainId::new("crash-test").unwrap(),
        genesis_time_ms: 1_700_000_000_000,
        admin: SigningKey::from_seed([255; 32]).public_key(),
        validators: BoundedVec::new(
            (0..4)
                .map(|i| ValidatorInfo {
                    public_key: SigningKey::from_seed([100 + i; 32]).public_key(),
                    p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 9100 + i as u16))
                        .unwrap(),
                })
                .collect(),
        )
        .unwrap(),
        balances: BoundedVec::new(
            (1..=ACCOUNTS)
                .map(|i| GenesisBalance {
                    address: Address::of(&SigningKey::from_seed([i; 32]).public_key()),
                    balance: 1_000_000_000,
                })
                .collect(),
        )
        .unwrap(),
        consensus: ConsensusParams::default(),
    }
}

/// Checks everything the store claims against itself and against re-execution.
fn check_store(store: &Store, genesis: &Genesis) {
    let tip = store.tip();
    let mut replay = genesis.initial_state();
    let mut parent = genesis.block(&replay).hash();
    assert_eq!(store.block(0).unwrap().unwrap().hash(), parent);
    let validators = genesis.validators.to_vec();
    for height in 1..=tip.height {
        let block = store
            .block(height)
            .unwrap()
            .unwrap_or_else(|| panic!("block {height} below the tip {} is missing", tip.height));
        assert_eq!(block.header.height, height);
        assert_eq!(block.header.parent, parent, "hash chain broken at {height}");
        assert!(block.body_matches_header(), "block {height} body");
        assert_eq!(store.height_of(&block.hash()).unwrap(), Some(height));
        assert_eq!(
            store.certificate(height).unwrap().as_deref(),
            Some(&block.hash().0[..]),
            "certificate of {height}"
        );
        for (index, tx) in block.txs.iter().enumerate() {
            assert_eq!(
                store.tx_location(&tx.hash()).unwrap(),
                Some(TxLocation {
                    height,
                    index: index as u32
                }),
                "index entry of a transaction in block {height}"
            );
        }
        let txs: Vec<VerifiedTx> = block
            .txs
            .iter()
            .cloned()
            .map(VerifiedTx::from_own_store)
            .collect();
        let delta = {
            let view = replay.view();
            let env = ExecEnv {
                chain_id: &genesis.chain_id,
                admin: genesis.admin,
                validators: &validators,
            };
            execute_block(&view, env, &txs).expect("every committed block re-executes")
        };
        assert_eq!(
            delta.state_root, block.header.state_root,
            "root of {height}"
        );
        replay.apply(delta);
        parent = block.hash();
    }
    assert_eq!(parent, tip.hash);
    assert!(
        store.block(tip.height + 1).unwrap().is_none(),
        "a block above the tip"
    );
    assert_eq!(replay.root(), store.state().root());
    assert_eq!(replay.account_count(), store.state().account_count());
    for (address, account) in replay.accounts() {
        assert_eq!(store.account(address).as_ref(), Some(account));
        assert_eq!(
            store.account_on_disk(address).unwrap().as_ref(),
            Some(account)
        );
    }
    let _: &State = store.state();
}

#[test]
fn store_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis();
    let genesis_path = dir.path().join("genesis.json");
    std::fs::write(&genesis_path, genesis.to_json()).unwrap();
    let store_dir = dir.path().join("data");
    let seed: u64 = std::env::var("CRASH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (set CRASH_TEST_SEED to replay the kill timings)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);

    let mut last_tip = 0;
    let mut kills_mid_run = 0;
    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger-crash-writer"))
            .arg(&genesis_path)
            .arg(&store_dir)
            .arg(ACCOUNTS.to_string())
            .arg(rng.gen::<u64>().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the crash writer");
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut highest = 0u64;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(h) = line.strip_prefix("committed ") {
                    highest = h.parse().expect("the writer prints heights");
                }
            }
            highest
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..400)));
        let still_running = child.try_wait().unwrap().is_none();
        assert!(still_running, "round {round}: the writer exited by itself");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reported = reader.join().unwrap();
        kills_mid_run += 1;

        let store = Store::open(&store_dir, &genesis)
            .unwrap_or_else(|e| panic!("round {round}: store does not reopen: {e}"));
        let tip = store.tip().height;
        assert!(
            tip >= reported,
            "round {round}: block {reported} was reported committed but the tip is {tip}"
        );
        assert!(
            tip >= last_tip,
            "round {round}: the tip went back from {last_tip} to {tip}"
        );
        check_store(&store, &genesis);
        eprintln!("round {round}: killed after reporting block {reported}, reopened at tip {tip}");
        last_tip = tip;
    }
    assert_eq!(kills_mid_run, KILLS);
    assert!(
        last_tip > KILLS as u64,
        "the writer made too little progress: tip {last_tip}"
    );
}
