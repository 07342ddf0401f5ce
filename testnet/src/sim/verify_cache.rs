//! Memoised message verification. `consensus::verify` is a pure function of the
//! message's bytes, the validator set and the chain id, so within one run its answer
//! for the same bytes never changes; a broadcast is verified once instead of once per
//! receiver and again in every certificate check. The key covers every byte of the
//! signed message, so a forged variant is a different key and is verified anew.

use consensus::{Envelope, Input, Rejected, SignedMessage, Verified};
use crypto::{Hash, PublicKey, Sha256};
use std::collections::HashMap;

/// Above this many entries the memo starts over, so a long run stays bounded.
const MAX_ENTRIES: usize = 200_000;

#[derive(Default)]
pub struct VerifyCache {
    memo: HashMap<Hash, Result<Verified, Rejected>>,
}

impl VerifyCache {
    pub fn verify(
        &mut self,
        message: &SignedMessage,
        validators: &[PublicKey],
        chain_id: &str,
    ) -> Result<Verified, Rejected> {
        // Every field, the payload with its length: the same key means the same
        // message. Hashed in place; encoding the message first would copy it.
        let mut key = Sha256::new();
        key.update(&message.sender.0.to_le_bytes())
            .update(&[message.kind as u8])
            .update(&(message.payload.len() as u64).to_le_bytes())
            .update(&message.payload)
            .update(&message.signature.0);
        let key = key.finish();
        if let Some(known) = self.memo.get(&key) {
            return known.clone();
        }
        if self.memo.len() >= MAX_ENTRIES {
            self.memo.clear();
        }
        let result = consensus::verify(message, validators, chain_id);
        self.memo.insert(key, result.clone());
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
