//! A per-thread memo of signature checks, for the simulator (cargo feature `memo`).
//!
//! One simulated seed checks the same signature many times: a replica verifies a
//! PREPARE when it arrives and again inside every VIEW-CHANGE, NEW-VIEW and
//! checkpoint proof that carries it, after a restart it verifies what it persisted,
//! and a state transfer verifies transactions every replica admitted long before.
//! With real ed25519 each check is a double scalar multiplication. While a
//! [`SignatureMemo`] guard lives on a thread, [`PublicKey::verify`](crate::PublicKey::verify)
//! and [`verify_batch`](crate::verify_batch) answer a (key, signed bytes, signature)
//! they have already found valid on this thread from the memo.
//!
//! The answer is the one a new check would give:
//!
//! - The key is the whole triple: the public key, every signed byte (the domain
//!   included) and the signature, compared in full. Other bytes are another entry.
//! - Only strict verification's successes are kept. `verify_strict` is a pure
//!   function, so its success for a triple never changes. Under the stand-in
//!   (`crate::stand_in`) a success never changes either (the registry only grows,
//!   and a key's seed is fixed), while a failure could in principle turn into a
//!   success once the key signs; failures are therefore always checked anew.
//! - A batch ([`verify_batch`](crate::verify_batch)) is answered from the memo only
//!   when every item is in it: strictly valid signatures satisfy the batch equation
//!   too, so the batch would have passed. What a batch accepts is not recorded, as
//!   a batch can accept what strict verification refuses.
//!
//! The memo is per thread and inert unless installed; the node never installs it.

use crate::keys::{PublicKey, Signature};
use std::cell::RefCell;
use std::collections::HashMap;

/// Above this many entries the memo starts over, so a long run stays bounded.
const MAX_ENTRIES: usize = 500_000;

/// A public key's bytes and a signature's bytes.
type KeyAndSignature = ([u8; 32], [u8; 64]);

#[derive(Default)]
struct Memo {
    /// (key, signature) → the signed bytes it was found valid over. A signature is
    /// almost always over one message; a list keeps the rare others apart.
    valid: HashMap<KeyAndSignature, Vec<Vec<u8>>>,
    entries: usize,
}

thread_local! {
    static MEMO: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// While alive, this thread remembers the signatures it found valid. Dropping it
/// puts back what was in force before (guards nest).
#[must_use = "the memo is in force only while the guard lives"]
pub struct SignatureMemo {
    previous: Option<Memo>,
}

impl SignatureMemo {
    /// Puts an empty memo in force on this thread.
    pub fn install() -> SignatureMemo {
        let previous = MEMO.with(|m| m.borrow_mut().replace(Memo::default()));
        SignatureMemo { previous }
    }
}

impl Drop for SignatureMemo {
    fn drop(&mut self) {
        let previous = self.previous.take();
        MEMO.with(|m| *m.borrow_mut() = previous);
    }
}

/// Whether this thread already found `signature` valid for `message` under `key`.
pub(crate) fn known_valid(key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    MEMO.with(|m| {
        let memo = m.borrow();
        let Some(memo) = memo.as_ref() else {
            return false;
        };
        memo.valid
            .get(&(key.to_bytes(), signature.0))
            .is_some_and(|messages| messages.iter().any(|m| m.as_slice() == message))
    })
}

/// Records that strict verification found `signature` valid for `message` under
/// `key` (nothing happens when no memo is in force).
pub(crate) fn record_valid(key: &PublicKey, message: &[u8], signature: &Signature) {
    MEMO.with(|m| {
        let mut memo = m.borrow_mut();
        let Some(memo) = memo.as_mut() else {
            return;
        };
        if memo.entries >= MAX_ENTRIES {
            memo.valid.clear();
            memo.entries = 0;
        }
        let messages = memo.valid.entry((key.to_bytes(), signature.0)).or_default();
        if !messages.iter().any(|m| m.as_slice() == message) {
            messages.push(message.to_vec());
            memo.entries += 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify_batch, BatchItem, Domain, SigningKey};

    const TX: Domain = Domain {
        chain_id: "c",
        kind: "tx",
    };

    #[test]
    fn remembers_only_what_verified_and_only_for_those_bytes() {
        let _memo = SignatureMemo::install();
        let key = SigningKey::from_seed([1; 32]);
        let pk = key.public_key();
        let sig = key.sign(TX, b"pay 5");
        let message = TX.message(b"pay 5");
        assert!(!known_valid(&pk, &message, &sig));
        assert!(pk.verify(TX, b"pay 5", &sig).is_ok());
        assert!(known_valid(&pk, &message, &sig));
        // Other bytes, another domain, another key or a changed signature: checked
        // anew, and refused.
        assert!(pk.verify(TX, b"pay 6", &sig).is_err());
        assert!(pk
            .verify(Domain::new("c", "prepare"), b"pay 5", &sig)
            .is_err());
        let other = SigningKey::from_seed([2; 32]).public_key();
        assert!(other.verify(TX, b"pay 5", &sig).is_err());
        let mut bad = sig;
        bad.0[0] ^= 1;
        assert!(pk.verify(TX, b"pay 5", &bad).is_err());
        assert!(!known_valid(&pk, &TX.message(b"pay 6"), &sig));
        assert!(!known_valid(&pk, &message, &bad));
        // The memo still answers for the original.
        assert!(pk.verify(TX, b"pay 5", &sig).is_ok());
    }

    #[test]
    fn a_batch_is_answered_from_the_memo_only_when_every_item_is_known() {
        let _memo = SignatureMemo::install();
        let items: Vec<BatchItem> = (0..6u8)
            .map(|i| {
                let key = SigningKey::from_seed([10 + i; 32]);
                let mut sig = key.sign(TX, &[i]);
                if i == 2 {
                    sig.0[0] ^= 1;
                }
                BatchItem::new(key.public_key(), TX, &[i], sig)
            })
            .collect();
        let expect: Vec<bool> = (0..6).map(|i| i != 2).collect();
        assert_eq!(verify_batch(&items), expect);
        // Again, now that the good ones are known: the bad one is still refused.
        assert_eq!(verify_batch(&items), expect);
        let good: Vec<BatchItem> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, item)| item.clone())
            .collect();
        assert_eq!(verify_batch(&good), vec![true; 5]);
    }

    #[test]
    fn the_memo_is_per_thread_and_ends_with_its_guard() {
        let key = SigningKey::from_seed([5; 32]);
        let sig = key.sign(TX, b"m");
        let pk = key.public_key();
        {
            let _memo = SignatureMemo::install();
            assert!(pk.verify(TX, b"m", &sig).is_ok());
            assert!(known_valid(&pk, &TX.message(b"m"), &sig));
            let elsewhere = std::thread::spawn(move || known_valid(&pk, &TX.message(b"m"), &sig))
                .join()
                .unwrap();
            assert!(!elsewhere);
        }
        assert!(!known_valid(&pk, &TX.message(b"m"), &sig));
    }
}
