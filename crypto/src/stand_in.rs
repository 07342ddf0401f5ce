//! A deterministic stand-in for ed25519, for the simulator (cargo feature `stand-in`).
//!
//! Curve arithmetic is most of what a simulated seed costs, and the simulator checks
//! the protocol, not the curve. While a [`StandIn`] guard lives on a thread, every
//! [`SigningKey::sign`](crate::SigningKey::sign), [`PublicKey::verify`](crate::PublicKey::verify)
//! and [`verify_batch`](crate::verify_batch) on that thread uses a keyed hash instead,
//! with the rules that matter to the protocol:
//!
//! - Only the holder of a private key can make a signature its public key accepts. A
//!   signature is `SHA-512(tag || private seed || signed message)`; verification
//!   finds the seed by the public key in the thread's registry, which only signing
//!   fills. A forger holds its own keys only, so it can sign only with those.
//! - A signature over other bytes, in another domain or under another key fails.
//! - A key that never signed on this thread has no valid signature at all.
//!
//! Signatures of the two schemes never verify under the other, so a run uses one
//! scheme from start to end. The registry and the switch are per thread: other
//! threads (and the node, which never makes a guard) keep real ed25519. The tests of
//! the signing code itself, and a share of the simulator's seeds, run real ed25519.

use crate::keys::{PublicKey, Signature, SigningKey};
use sha2::{Digest, Sha512};
use std::cell::RefCell;
use std::collections::HashMap;

/// Sets the stand-in signatures apart from every other use of SHA-512 here.
const TAG: &[u8] = b"rbft/stand-in-signature";

thread_local! {
    /// The registry of the guard in force on this thread: public key to private seed.
    static REGISTRY: RefCell<Option<HashMap<[u8; 32], [u8; 32]>>> = const { RefCell::new(None) };
}

/// While alive, this thread signs and verifies with the stand-in. Dropping it puts
/// back what was in force before (guards nest).
#[must_use = "the stand-in is in force only while the guard lives"]
pub struct StandIn {
    previous: Option<HashMap<[u8; 32], [u8; 32]>>,
}

impl StandIn {
    /// Puts the stand-in in force on this thread, with an empty registry.
    pub fn install() -> StandIn {
        let previous = REGISTRY.with(|r| r.borrow_mut().replace(HashMap::new()));
        StandIn { previous }
    }

    /// Whether a guard is in force on this thread.
    pub fn is_active() -> bool {
        REGISTRY.with(|r| r.borrow().is_some())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let previous = self.previous.take();
        REGISTRY.with(|r| *r.borrow_mut() = previous);
    }
}

fn keyed(seed: &[u8; 32], message: &[u8]) -> Signature {
    let digest = Sha512::new()
        .chain_update(TAG)
        .chain_update(seed)
        .chain_update(message)
        .finalize();
    let mut bytes = [0u8; 64];
    bytes.copy_from_slice(&digest);
    Signature(bytes)
}

/// The stand-in signature of `message` by `key`, or `None` when no guard is in force.
pub(crate) fn sign(key: &SigningKey, message: &[u8]) -> Option<Signature> {
    REGISTRY.with(|r| {
        let mut registry = r.borrow_mut();
        let registry = registry.as_mut()?;
        let seed = key.seed();
        registry.insert(key.public_key().to_bytes(), seed);
        Some(keyed(&seed, message))
    })
}

/// Whether `signature` is the stand-in signature of `message` by `key`'s holder, or
/// `None` when no guard is in force.
pub(crate) fn verify(key: &PublicKey, message: &[u8], signature: &Signature) -> Option<bool> {
    REGISTRY.with(|r| {
        let registry = r.borrow();
        let registry = registry.as_ref()?;
        Some(
            registry
                .get(key.as_bytes())
                .is_some_and(|seed| keyed(seed, message) == *signature),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify_batch, BatchItem, Domain};

    const TX: Domain = Domain {
        chain_id: "c",
        kind: "tx",
    };

    #[test]
    fn only_the_holder_signs_and_only_the_signed_bytes_verify() {
        let _guard = StandIn::install();
        let alice = SigningKey::from_seed([1; 32]);
        let bob = SigningKey::from_seed([2; 32]);
        let sig = alice.sign(TX, b"pay bob 5");
        let alice_pk = alice.public_key();
        assert!(alice_pk.verify(TX, b"pay bob 5", &sig).is_ok());
        assert!(alice_pk.verify(TX, b"pay bob 6", &sig).is_err());
        assert!(alice_pk
            .verify(Domain::new("c", "prepare"), b"pay bob 5", &sig)
            .is_err());
        // Bob has signed something, so he is known, but this is not his signature.
        bob.sign(TX, b"anything");
        assert!(bob.public_key().verify(TX, b"pay bob 5", &sig).is_err());
        // A key that never signed here has no valid signatures.
        let carol = SigningKey::from_seed([3; 32]).public_key();
        assert!(carol.verify(TX, b"pay bob 5", &sig).is_err());
    }

    #[test]
    fn the_schemes_do_not_mix_and_the_guard_ends_with_its_scope() {
        let key = SigningKey::from_seed([4; 32]);
        let real = key.sign(TX, b"m");
        let stand_in = {
            let _guard = StandIn::install();
            assert!(StandIn::is_active());
            let stand_in = key.sign(TX, b"m");
            assert_ne!(stand_in, real);
            assert!(key.public_key().verify(TX, b"m", &real).is_err());
            assert!(key.public_key().verify(TX, b"m", &stand_in).is_ok());
            stand_in
        };
        assert!(!StandIn::is_active());
        assert!(key.public_key().verify(TX, b"m", &real).is_ok());
        assert!(key.public_key().verify(TX, b"m", &stand_in).is_err());
    }

    #[test]
    fn the_stand_in_is_per_thread() {
        let _guard = StandIn::install();
        let key = SigningKey::from_seed([5; 32]);
        let sig = key.sign(TX, b"m");
        let pk = key.public_key();
        let elsewhere = std::thread::spawn(move || pk.verify(TX, b"m", &sig).is_ok())
            .join()
            .unwrap();
        assert!(!elsewhere);
    }

    #[test]
    fn batches_report_exactly_the_bad_items() {
        let _guard = StandIn::install();
        let items: Vec<BatchItem> = (0..8u8)
            .map(|i| {
                let key = SigningKey::from_seed([10 + i; 32]);
                let mut sig = key.sign(TX, &[i]);
                if i == 3 {
                    sig.0[0] ^= 1;
                }
                BatchItem::new(key.public_key(), TX, &[i], sig)
            })
            .collect();
        let result = verify_batch(&items);
        for (i, ok) in result.iter().enumerate() {
            assert_eq!(*ok, i != 3, "item {i}");
        }
    }
}
