//! The deterministic state transition: transactions in, a [`StateDelta`] out.
//!
//! Nothing here reads a clock, a disk or a random number. The primary uses a
//! [`BlockExecutor`] to try pooled transactions one by one and keep the valid ones;
//! every replica runs [`execute_block`], which refuses a block holding any invalid
//! transaction (DESIGN.md section 7: such a block fails RBFT validation).

use crate::account::{Account, Address};
use crate::genesis::{ValidatorInfo, MAX_VALIDATORS, MIN_VALIDATORS};
use crate::state::{StateDelta, StateView, ValidatorChange};
use crate::tx::{TxKind, VerifiedTx};
use crypto::{Hash, PublicKey};
use serde::Serialize;
use std::collections::BTreeMap;

/// What execution needs besides the state.
#[derive(Debug, Clone, Copy)]
pub struct ExecEnv<'a> {
    pub chain_id: &'a str,
    /// The key that may sign governance transactions.
    pub admin: PublicKey,
    /// The validator set before the block.
    pub validators: &'a [ValidatorInfo],
}

/// Why a transaction cannot be executed on the state in front of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum TxError {
    #[error("transaction is for chain {got:?}, this is {expected:?}")]
    WrongChain { expected: String, got: String },
    #[error("nonce {got} is not the sender's next nonce {expected}")]
    BadNonce { expected: u64, got: u64 },
    #[error("balance {balance} does not cover the amount {amount}")]
    InsufficientBalance { balance: u64, amount: u64 },
    #[error("a transfer must move a positive amount")]
    ZeroAmount,
    #[error("the receiver's balance would overflow")]
    BalanceOverflow,
    #[error("the sender's nonce is exhausted")]
    NonceExhausted,
    #[error("only the admin key may sign governance transactions")]
    NotAdmin,
    #[error("{public_key} is already a validator")]
    AlreadyValidator { public_key: PublicKey },
    #[error("{public_key} is not a validator")]
    NotValidator { public_key: PublicKey },
    #[error("removing a validator would leave fewer than {MIN_VALIDATORS}")]
    TooFewValidators,
    #[error("adding a validator would make more than {MAX_VALIDATORS}")]
    TooManyValidators,
}

/// A block that cannot be executed: the first invalid transaction and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index} ({hash}) is invalid: {error}")]
pub struct BlockError {
    pub index: usize,
    pub hash: Hash,
    pub error: TxError,
}

/// Executes transactions one at a time on top of a view; each either applies whole
/// or not at all.
pub struct BlockExecutor<'v, 'a> {
    view: &'v StateView<'a>,
    chain_id: &'v str,
    admin: PublicKey,
    touched: BTreeMap<Address, Account>,
    validators: Vec<ValidatorInfo>,
    changes: Vec<ValidatorChange>,
}

impl<'v, 'a> BlockExecutor<'v, 'a> {
    pub fn new(view: &'v StateView<'a>, env: ExecEnv<'v>) -> Self {
        BlockExecutor {
            view,
            chain_id: env.chain_id,
            admin: env.admin,
            touched: BTreeMap::new(),
            validators: env.validators.to_vec(),
            changes: Vec::new(),
        }
    }

    /// The account as this block has left it so far (an unknown address is an
    /// empty account).
    pub fn account(&self, address: &Address) -> Account {
        self.touched
            .get(address)
            .copied()
            .or_else(|| self.view.account(address))
            .unwrap_or_default()
    }

    /// Applies `tx`, or changes nothing and says why not.
    pub fn apply(&mut self, tx: &VerifiedTx) -> Result<(), TxError> {
        let t = tx.tx();
        if t.chain_id.as_str() != self.chain_id {
            return Err(TxError::WrongChain {
                expected: self.chain_id.to_owned(),
                got: t.chain_id.to_string(),
            });
        }
        let sender = t.sender();
        let mut from = self.account(&sender);
        if t.nonce != from.nonce {
            return Err(TxError::BadNonce {
                expected: from.nonce,
                got: t.nonce,
            });
        }
        from.nonce = from.nonce.checked_add(1).ok_or(TxError::NonceExhausted)?;
        match &t.kind {
            TxKind::Transfer { to, amount } => self.transfer(sender, from, *to, *amount),
            TxKind::AddValidator { validator } => {
                self.require_admin(&t.signer)?;
                if self.position(&validator.public_key).is_some() {
                    return Err(TxError::AlreadyValidator {
                        public_key: validator.public_key,
                    });
                }
                if self.validators.len() >= MAX_VALIDATORS {
                    return Err(TxError::TooManyValidators);
                }
                self.validators.push(validator.clone());
                self.changes.push(ValidatorChange::Add(validator.clone()));
                self.touched.insert(sender, from);
                Ok(())
            }
            TxKind::RemoveValidator { public_key } => {
                self.require_admin(&t.signer)?;
                let at = self.position(public_key).ok_or(TxError::NotValidator {
                    public_key: *public_key,
                })?;
                if self.validators.len() <= MIN_VALIDATORS {
                    return Err(TxError::TooFewValidators);
                }
                self.validators.remove(at);
                self.changes.push(ValidatorChange::Remove(*public_key));
                self.touched.insert(sender, from);
                Ok(())
            }
        }
    }

    fn transfer(
        &mut self,
        sender: Address,
        mut from: Account,
        to: Address,
        amount: u64,
    ) -> Result<(), TxError> {
        if amount == 0 {
            return Err(TxError::ZeroAmount);
        }
        if from.balance < amount {
            return Err(TxError::InsufficientBalance {
                balance: from.balance,
                amount,
            });
        }
        if to == sender {
            // A transfer to oneself moves nothing but still spends the nonce.
            self.touched.insert(sender, from);
            return Ok(());
        }
        let mut dest = self.account(&to);
        dest.balance = dest
            .balance
            .checked_add(amount)
            .ok_or(TxError::BalanceOverflow)?;
        from.balance -= amount;
        self.touched.insert(sender, from);
        self.touched.insert(to, dest);
        Ok(())
    }

    fn require_admin(&self, signer: &PublicKey) -> Result<(), TxError> {
        if *signer == self.admin {
            Ok(())
        } else {
            Err(TxError::NotAdmin)
        }
    }

    fn position(&self, key: &PublicKey) -> Option<usize> {
        self.validators.iter().position(|v| v.public_key == *key)
    }

    /// The delta of everything applied, with the new state root.
    pub fn finish(self) -> StateDelta {
        StateDelta::compute(self.view, self.touched, self.changes)
    }
}

/// Executes a whole block; any invalid transaction makes the block invalid.
pub fn execute_block(
    view: &StateView,
    env: ExecEnv,
    txs: &[VerifiedTx],
) -> Result<StateDelta, BlockError> {
    let mut executor = BlockExecutor::new(view, env);
    for (index, tx) in txs.iter().enumerate() {
        executor.apply(tx).map_err(|error| BlockError {
            index,
            hash: tx.hash(),
            error,
        })?;
    }
    Ok(executor.finish())
}

/// What executing an ordered batch gave: the delta, the transactions that applied
/// (the block's body, in order), and those skipped, with why.
#[derive(Debug)]
pub struct BatchOutcome {
    pub delta: StateDelta,
    pub applied: Vec<VerifiedTx>,
    pub skipped: Vec<(crypto::Hash, TxError)>,
}

/// Executes an ordered batch the way consensus commits it: each transaction in turn;
/// one that fails (a nonce or balance a view change made stale, or a double spend a
/// faulty primary ordered) is skipped, changes nothing, and is left out of the block.
/// Every replica skips the same ones, so the state root stays deterministic. A
/// primary's own batches never contain such transactions (it builds them with
/// [`BlockExecutor`] and leaves failures out), so this matters only after a view
/// change or with a faulty primary.
pub fn execute_batch(view: &StateView, env: ExecEnv, txs: &[VerifiedTx]) -> BatchOutcome {
    let mut executor = BlockExecutor::new(view, env);
    let mut applied = Vec::with_capacity(txs.len());
    let mut skipped = Vec::new();
    for tx in txs {
        match executor.apply(tx) {
            Ok(()) => applied.push(tx.clone()),
            Err(error) => skipped.push((tx.hash(), error)),
        }
    }
    BatchOutcome {
        delta: executor.finish(),
        applied,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::tests::sample;
    use crate::{ChainId, State, Transaction};
    use crypto::{BoundedString, SigningKey};

    struct Fixture {
        state: State,
        validators: Vec<ValidatorInfo>,
        admin: SigningKey,
        alice: SigningKey,
        bob: Address,
    }

    fn fixture() -> Fixture {
        let alice = SigningKey::from_seed([10; 32]);
        let genesis = sample(4, &[(Address::of(&alice.public_key()), 1000)]);
        Fixture {
            state: State::from_accounts(genesis.accounts()),
            validators: genesis.validators.to_vec(),
            admin: SigningKey::from_seed([200; 32]),
            alice,
            bob: Address([0xb0; 20]),
        }
    }

    fn env(f: &Fixture) -> ExecEnv<'_> {
        ExecEnv {
            chain_id: "test-chain",
            admin: f.admin.public_key(),
            validators: &f.validators,
        }
    }

    fn tx(key: &SigningKey, nonce: u64, kind: TxKind) -> VerifiedTx {
        let signed = Transaction {
            chain_id: ChainId::new("test-chain").unwrap(),
            signer: key.public_key(),
            nonce,
            kind,
        }
        .sign(key);
        VerifiedTx::verify(signed).unwrap()
    }

    fn pay(key: &SigningKey, nonce: u64, to: Address, amount: u64) -> VerifiedTx {
        tx(key, nonce, TxKind::Transfer { to, amount })
    }

    #[test]
    fn transfers_move_balance_and_spend_nonces() {
        let f = fixture();
        let view = f.state.view();
        let delta = execute_block(
            &view,
            env(&f),
            &[pay(&f.alice, 0, f.bob, 300), pay(&f.alice, 1, f.bob, 200)],
        )
        .unwrap();
        let a = Address::of(&f.alice.public_key());
        assert_eq!(
            delta.accounts[&a],
            Account {
                balance: 500,
                nonce: 2
            }
        );
        assert_eq!(
            delta.accounts[&f.bob],
            Account {
                balance: 500,
                nonce: 0
            }
        );
        assert_ne!(delta.state_root, f.state.root());
    }

    /// A batch skips what fails and keeps what applies, in order: the result is the
    /// block of the applied transactions, whatever was skipped between them.
    #[test]
    fn a_batch_skips_failing_transactions_and_keeps_the_rest() {
        let f = fixture();
        let view = f.state.view();
        let first = pay(&f.alice, 0, f.bob, 300);
        let double_spend = pay(&f.alice, 0, f.bob, 1);
        let too_much = pay(&f.alice, 1, f.bob, 5_000);
        let second = pay(&f.alice, 1, f.bob, 200);
        let batch = [
            first.clone(),
            double_spend.clone(),
            too_much.clone(),
            second.clone(),
        ];
        let outcome = execute_batch(&view, env(&f), &batch);
        assert_eq!(
            outcome
                .applied
                .iter()
                .map(VerifiedTx::hash)
                .collect::<Vec<_>>(),
            vec![first.hash(), second.hash()]
        );
        assert_eq!(
            outcome.skipped,
            vec![
                (
                    double_spend.hash(),
                    TxError::BadNonce {
                        expected: 1,
                        got: 0
                    }
                ),
                (
                    too_much.hash(),
                    TxError::InsufficientBalance {
                        balance: 700,
                        amount: 5_000
                    }
                ),
            ]
        );
        let block = execute_block(&view, env(&f), &[first, second]).unwrap();
        assert_eq!(outcome.delta.state_root, block.state_root);
    }

    #[test]
    fn each_invalid_transaction_is_refused_with_its_reason() {
        let f = fixture();
        let view = f.state.view();
        let cases: Vec<(VerifiedTx, TxError)> = vec![
            (
                pay(&f.alice, 1, f.bob, 1),
                TxError::BadNonce {
                    expected: 0,
                    got: 1,
                },
            ),
            (
                pay(&f.alice, 0, f.bob, 1001),
                TxError::InsufficientBalance {
                    balance: 1000,
                    amount: 1001,
                },
            ),
            (pay(&f.alice, 0, f.bob, 0), TxError::ZeroAmount),
            (
                pay(&SigningKey::from_seed([77; 32]), 0, f.bob, 1),
                TxError::InsufficientBalance {
                    balance: 0,
                    amount: 1,
                },
            ),
            (
                tx(
                    &f.alice,
                    0,
                    TxKind::RemoveValidator {
                        public_key: f.validators[0].public_key,
                    },
                ),
                TxError::NotAdmin,
            ),
            (
                tx(
                    &f.admin,
                    0,
                    TxKind::RemoveValidator {
                        public_key: f.validators[0].public_key,
                    },
                ),
                TxError::TooFewValidators,
            ),
            (
                tx(
                    &f.admin,
                    0,
                    TxKind::AddValidator {
                        validator: f.validators[1].clone(),
                    },
                ),
                TxError::AlreadyValidator {
                    public_key: f.validators[1].public_key,
                },
            ),
        ];
        for (t, expected) in cases {
            let mut ex = BlockExecutor::new(&view, env(&f));
            assert_eq!(ex.apply(&t), Err(expected.clone()));
            // A refused transaction leaves nothing behind.
            assert_eq!(ex.finish().state_root, f.state.root(), "{expected}");
        }
        let other_chain = {
            let signed = Transaction {
                chain_id: ChainId::new("other").unwrap(),
                signer: f.alice.public_key(),
                nonce: 0,
                kind: TxKind::Transfer {
                    to: f.bob,
                    amount: 1,
                },
            }
            .sign(&f.alice);
            VerifiedTx::verify(signed).unwrap()
        };
        let err = execute_block(&view, env(&f), &[other_chain]).unwrap_err();
        assert!(matches!(err.error, TxError::WrongChain { .. }));
    }

    #[test]
    fn overflow_of_the_receiver_is_refused() {
        let rich = SigningKey::from_seed([11; 32]);
        let genesis = sample(
            4,
            &[
                (Address::of(&rich.public_key()), 10),
                (Address([0xcc; 20]), u64::MAX - 10),
            ],
        );
        let state = State::from_accounts(genesis.accounts());
        let validators = genesis.validators.to_vec();
        let env = ExecEnv {
            chain_id: "test-chain",
            admin: genesis.admin,
            validators: &validators,
        };
        let view = state.view();
        assert!(execute_block(&view, env, &[pay(&rich, 0, Address([0xcc; 20]), 10)]).is_ok());
        let poorer = SigningKey::from_seed([12; 32]);
        let genesis = sample(
            4,
            &[
                (Address::of(&poorer.public_key()), 5),
                (Address([0xcc; 20]), u64::MAX - 2),
            ],
        );
        let state = State::from_accounts(genesis.accounts());
        let view = state.view();
        assert_eq!(
            execute_block(&view, env, &[pay(&poorer, 0, Address([0xcc; 20]), 5)])
                .unwrap_err()
                .error,
            TxError::BalanceOverflow
        );
    }

    #[test]
    fn a_block_with_one_bad_transaction_is_invalid_and_names_it() {
        let f = fixture();
        let view = f.state.view();
        let txs = [
            pay(&f.alice, 0, f.bob, 1),
            pay(&f.alice, 0, f.bob, 1),
            pay(&f.alice, 1, f.bob, 1),
        ];
        let err = execute_block(&view, env(&f), &txs).unwrap_err();
        assert_eq!(err.index, 1);
        assert_eq!(err.hash, txs[1].hash());
    }

    #[test]
    fn governance_records_validator_changes_and_spends_the_admin_nonce() {
        let f = fixture();
        let view = f.state.view();
        let newcomer = ValidatorInfo {
            public_key: SigningKey::from_seed([50; 32]).public_key(),
            p2p_addr: BoundedString::new("/ip4/127.0.0.1/tcp/8104").unwrap(),
        };
        let delta = execute_block(
            &view,
            env(&f),
            &[
                tx(
                    &f.admin,
                    0,
                    TxKind::AddValidator {
                        validator: newcomer.clone(),
                    },
                ),
                tx(
                    &f.admin,
                    1,
                    TxKind::RemoveValidator {
                        public_key: f.validators[0].public_key,
                    },
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            delta.validator_changes,
            vec![
                ValidatorChange::Add(newcomer),
                ValidatorChange::Remove(f.validators[0].public_key)
            ]
        );
        assert_eq!(delta.accounts[&Address::of(&f.admin.public_key())].nonce, 2);
    }

    #[test]
    fn self_transfer_spends_the_nonce_only() {
        let f = fixture();
        let view = f.state.view();
        let a = Address::of(&f.alice.public_key());
        let delta = execute_block(&view, env(&f), &[pay(&f.alice, 0, a, 10)]).unwrap();
        assert_eq!(
            delta.accounts[&a],
            Account {
                balance: 1000,
                nonce: 1
            }
        );
    }
}
