//! Decoders never panic on hostile bytes (STYLE.md habits 5 and 10; DESIGN.md
//! section 7, encoding): random, truncated and mutated inputs.

use crate::harness::*;
use consensus::{verify, Message, PersistedState, SignedMessage};
use crypto::{Canonical, Hash};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn hostile_bytes_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let samples = [
        pre_prepare(4, 0, 0, 1, batch(0, 5, &[1, 2, 3]), Hash([1; 32])),
        prepare(4, 1, 0, 1, Hash([2; 32])),
        commit(4, 2, 0, 1, Hash([2; 32]), Hash([3; 32])),
        checkpoint(4, 3, 10, Hash([4; 32])),
    ];
    let validators = config(4, 0).validators;
    for _ in 0..5_000 {
        let len = rng.gen_range(0..400);
        let random: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let _ = Message::from_canonical_bytes(&random);
        let _ = SignedMessage::from_canonical_bytes(&random);
        let _ = PersistedState::from_canonical_bytes(&random);
        for sample in &samples {
            let good = sample.to_canonical_bytes();
            let cut = rng.gen_range(0..good.len());
            assert!(
                SignedMessage::from_canonical_bytes(&good[..cut]).is_err(),
                "truncated"
            );
            assert!(Message::from_canonical_bytes(
                &sample.payload[..cut.min(sample.payload.len() - 1)]
            )
            .is_err());
            let mut mutated = good.clone();
            let at = rng.gen_range(0..mutated.len());
            mutated[at] ^= rng.gen_range(1..=255u8);
            if let Ok(decoded) = SignedMessage::from_canonical_bytes(&mutated) {
                assert_eq!(decoded.to_canonical_bytes(), mutated, "canonical");
                // A changed byte never verifies as the same signed message.
                if let Ok(verified) = verify(&decoded, &validators, CHAIN) {
                    assert_eq!(
                        verified.signed(),
                        sample,
                        "only an unchanged message verifies"
                    );
                }
            }
        }
    }
}

/// Round trip of every message kind and of a persisted state.
#[test]
fn round_trips() {
    let mut state = PersistedState::default();
    for signed in [
        prepare(4, 1, 0, 1, Hash([2; 32])),
        checkpoint(4, 1, 10, Hash([4; 32])),
    ] {
        let bytes = signed.to_canonical_bytes();
        assert_eq!(
            SignedMessage::from_canonical_bytes(&bytes).as_ref(),
            Ok(&signed)
        );
        state
            .apply(&consensus::PersistEntry::Message(signed))
            .expect("bound");
    }
    let bytes = state.to_canonical_bytes();
    assert_eq!(PersistedState::from_canonical_bytes(&bytes), Ok(state));
}
