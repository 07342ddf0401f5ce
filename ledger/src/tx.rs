//! Transactions: what a client signs, and the checked form the ledger executes.

use crate::account::Address;
use crate::genesis::{ChainId, ValidatorInfo};
use crypto::{BatchItem, Canonical, Domain, Hash, PublicKey, Signature, SigningKey};
use serde::{Deserialize, Serialize};

/// The signing domain kind of transactions (the chain id completes the domain).
pub const TX_DOMAIN: &str = "tx";

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Move `amount` from the signer's account to `to`.
    Transfer { to: Address, amount: u64 },
    /// Governance, signed by the admin key: add a validator (DESIGN.md section 6).
    AddValidator { validator: ValidatorInfo },
    /// Governance, signed by the admin key: remove a validator.
    RemoveValidator { public_key: PublicKey },
}

/// The signed part of a transaction.
///
/// Every transaction, governance included, spends the signer's next nonce, so none
/// can be replayed: the admin's governance transactions use the admin's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transaction {
    pub chain_id: ChainId,
    pub signer: PublicKey,
    pub nonce: u64,
    pub kind: TxKind,
}

impl Canonical for Transaction {
    const NAME: &'static str = "transaction";
    // chain id (1 + 64), key (32), nonce (10), kind tag (1), the largest kind
    // (a validator: key 32 + address 2 + 256).
    const MAX_ENCODED_LEN: usize = 65 + 32 + 10 + 1 + 32 + 2 + 256;
}

impl Transaction {
    pub fn sign(self, key: &SigningKey) -> SignedTransaction {
        let signature = key.sign(
            Domain::new(&self.chain_id, TX_DOMAIN),
            &self.to_canonical_bytes(),
        );
        SignedTransaction {
            tx: self,
            signature,
        }
    }

    /// The address whose balance and nonce the transaction uses.
    pub fn sender(&self) -> Address {
        Address::of(&self.signer)
    }
}

/// A transaction with its signature, as clients send it and blocks carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub signature: Signature,
}

impl Canonical for SignedTransaction {
    const NAME: &'static str = "signed transaction";
    const MAX_ENCODED_LEN: usize = Transaction::MAX_ENCODED_LEN + 64;
}

impl SignedTransaction {
    /// The transaction hash: SHA-256 of the signed canonical bytes.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&self.to_canonical_bytes())
    }

    fn batch_item(&self) -> BatchItem {
        BatchItem::new(
            self.tx.signer,
            Domain::new(&self.tx.chain_id, TX_DOMAIN),
            &self.tx.to_canonical_bytes(),
            self.signature,
        )
    }
}

/// A transaction whose signature has been checked, with its hash.
///
/// The ledger executes only these; the type is the proof that the check happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTx {
    signed: SignedTransaction,
    hash: Hash,
}

impl VerifiedTx {
    /// Checks one transaction's signature.
    pub fn verify(signed: SignedTransaction) -> Option<VerifiedTx> {
        Self::verify_many(vec![signed]).pop().and_then(Result::ok)
    }

    /// Checks many at once (batch verification). Each failure gives back the
    /// transaction it refused.
    pub fn verify_many(
        signed: Vec<SignedTransaction>,
    ) -> Vec<Result<VerifiedTx, SignedTransaction>> {
        let items: Vec<BatchItem> = signed.iter().map(SignedTransaction::batch_item).collect();
        let valid = crypto::verify_batch(&items);
        signed
            .into_iter()
            .zip(valid)
            .map(|(signed, ok)| {
                if ok {
                    let hash = signed.hash();
                    Ok(VerifiedTx { signed, hash })
                } else {
                    Err(signed)
                }
            })
            .collect()
    }

    /// For transactions read back from this node's own store: they were verified
    /// before the block holding them was committed, and the store is trusted.
    pub fn from_own_store(signed: SignedTransaction) -> VerifiedTx {
        let hash = signed.hash();
        VerifiedTx { signed, hash }
    }

    pub fn hash(&self) -> Hash {
        self.hash
    }

    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }

    pub fn into_signed(self) -> SignedTransaction {
        self.signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(key: &SigningKey, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: ChainId::new("test").unwrap(),
            signer: key.public_key(),
            nonce,
            kind: TxKind::Transfer {
                to: Address([9; 20]),
                amount: 5,
            },
        }
        .sign(key)
    }

    #[test]
    fn signed_transaction_verifies_and_tampering_is_caught() {
        let key = SigningKey::from_seed([3; 32]);
        let good = transfer(&key, 0);
        assert!(VerifiedTx::verify(good.clone()).is_some());
        let mut tampered = good.clone();
        tampered.tx.nonce = 1;
        assert!(VerifiedTx::verify(tampered).is_none());
        let mut other_chain = good;
        other_chain.tx.chain_id = ChainId::new("other").unwrap();
        assert!(VerifiedTx::verify(other_chain).is_none());
    }

    #[test]
    fn verify_many_keeps_order_and_returns_the_refused() {
        let key = SigningKey::from_seed([4; 32]);
        let mut txs: Vec<_> = (0..10).map(|n| transfer(&key, n)).collect();
        txs[6].signature.0[0] ^= 0xff;
        let out = VerifiedTx::verify_many(txs.clone());
        for (i, r) in out.into_iter().enumerate() {
            match r {
                Ok(v) => {
                    assert_ne!(i, 6);
                    assert_eq!(v.hash(), txs[i].hash());
                }
                Err(back) => {
                    assert_eq!(i, 6);
                    assert_eq!(back, txs[6]);
                }
            }
        }
    }

    #[test]
    fn hash_is_sha256_of_the_signed_canonical_bytes() {
        let t = transfer(&SigningKey::from_seed([5; 32]), 7);
        assert_eq!(t.hash(), crypto::sha256(&t.to_canonical_bytes()));
        let decoded = SignedTransaction::from_canonical_bytes(&t.to_canonical_bytes()).unwrap();
        assert_eq!(decoded, t);
    }

    #[test]
    fn largest_transaction_fits_its_bound() {
        let key = SigningKey::from_seed([6; 32]);
        let t = Transaction {
            chain_id: ChainId::new("c".repeat(64)).unwrap(),
            signer: key.public_key(),
            nonce: u64::MAX,
            kind: TxKind::AddValidator {
                validator: ValidatorInfo {
                    public_key: key.public_key(),
                    p2p_addr: crypto::BoundedString::new("a".repeat(256)).unwrap(),
                },
            },
        }
        .sign(&key);
        // to_canonical_bytes asserts the bound; decoding gives it back.
        let bytes = t.to_canonical_bytes();
        assert_eq!(SignedTransaction::from_canonical_bytes(&bytes).unwrap(), t);
    }
}
