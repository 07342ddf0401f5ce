//! Memoised message verification. `consensus::verify` is a pure function of the
//! message's bytes, the validator set and the chain id, so within one run its answer
//! for the same bytes never changes; a broadcast is verified once instead of once per
//! receiver and again in every certificate check. The key is the whole signed message
//! (sender, kind, payload, signature), compared byte for byte, so a forged variant is
//! a different key and is verified anew. The entry is found by the start of the
//! signature and the payload's length: hashing the whole payload (it was SHA-256)
//! cost more than the comparison that settles a hit.

use consensus::{Envelope, Input, Rejected, SignedMessage, Verified};
use crypto::PublicKey;
use std::collections::HashMap;

/// Above this many entries the memo starts over, so a long run stays bounded.
const MAX_ENTRIES: usize = 200_000;

/// Where a message's entries are found: the start of its signature and its
/// payload's length. A signature spreads messages well; a forger's made-up ones
/// only share a list, which the full comparison tells apart.
fn slot(message: &SignedMessage) -> ([u8; 16], usize) {
    let mut start = [0u8; 16];
    start.copy_from_slice(&message.signature.0[..16]);
    (start, message.payload.len())
}

type Entries = Vec<(SignedMessage, Result<Verified, Rejected>)>;

#[derive(Default)]
pub struct VerifyCache {
    memo: HashMap<([u8; 16], usize), Entries>,
    entries: usize,
}

impl VerifyCache {
    pub fn verify(
        &mut self,
        message: &SignedMessage,
        validators: &[PublicKey],
        chain_id: &str,
    ) -> Result<Verified, Rejected> {
        let slot = slot(message);
        if let Some(entries) = self.memo.get(&slot) {
            if let Some((_, known)) = entries.iter().find(|(m, _)| m == message) {
                return known.clone();
            }
        }
        if self.entries >= MAX_ENTRIES {
            self.memo.clear();
            self.entries = 0;
        }
        let result = consensus::verify(message, validators, chain_id);
        self.memo
            .entry(slot)
            .or_default()
            .push((message.clone(), result.clone()));
        self.entries += 1;
        result
    }

    /// Any envelope: normal-case messages through the memo; VIEW-CHANGE and NEW-VIEW
    /// (rare, and their contents are checked by the replica) directly.
    pub fn verify_envelope(
        &mut self,
        envelope: &Envelope,
        validators: &[PublicKey],
        chain_id: &str,
    ) -> Result<Input, Rejected> {
        match envelope {
            Envelope::Message(message) => self
                .verify(message, validators, chain_id)
                .map(Input::Message),
            other => consensus::verify_envelope(other, validators, chain_id),
        }
    }
}
