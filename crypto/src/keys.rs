//! ed25519 keys and domain-separated signatures.
//!
//! Every signature in rbft is over `"rbft/v1" || len(chain_id) || chain_id ||
//! len(kind) || kind || payload` (DESIGN.md section 2), so a signature made for one
//! chain or one kind of message can never be replayed as another. Lengths are single
//! bytes; chain ids and kinds are limited to 255 bytes (the genesis limits chain ids to
//! far less).
//!
//! Verification is `verify_strict`: it rejects small-order public keys and `R`
//! components and non-canonical `s`, so every node agrees on which signatures are
//! valid. [`verify_batch`] checks many at once and falls back to `verify_strict` one
//! by one when the batch fails, so it reports exactly which items are bad. A batch
//! that passes can, in theory, accept a signature that strict verification would
//! refuse: one whose `R` carries a torsion component. Only the holder of the private
//! key can make such a signature, so the most it can do is get its own transaction
//! admitted by some nodes and refused by others.

use ed25519_dalek::Signer;
use rand_core::{CryptoRngCore, OsRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The protocol tag at the front of every signed message.
const PROTOCOL_TAG: &[u8] = b"rbft/v1";

/// What a signature is for: the chain and the kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Domain<'a> {
    pub chain_id: &'a str,
    pub kind: &'static str,
}

impl<'a> Domain<'a> {
    pub fn new(chain_id: &'a str, kind: &'static str) -> Self {
        Domain { chain_id, kind }
    }

    /// The exact bytes that are signed for `payload` in this domain.
    pub fn message(&self, payload: &[u8]) -> Vec<u8> {
        let chain = self.chain_id.as_bytes();
        let kind = self.kind.as_bytes();
        assert!(chain.len() <= 255, "chain id longer than 255 bytes");
        assert!(kind.len() <= 255, "message kind longer than 255 bytes");
        let mut out =
            Vec::with_capacity(PROTOCOL_TAG.len() + 2 + chain.len() + kind.len() + payload.len());
        out.extend_from_slice(PROTOCOL_TAG);
        out.push(chain.len() as u8);
        out.extend_from_slice(chain);
        out.push(kind.len() as u8);
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid signature")]
pub struct SignatureError;

/// Why bytes or text are not a public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("not a public key: {0}")]
    Hex(String),
    #[error("not a public key: 32 bytes that are not a point on the curve")]
    NotAPoint,
}

/// An ed25519 private key. Its `Debug` shows only the public half.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh key from the given generator (tests and the simulator pass a seeded one).
    pub fn generate_with<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Self {
        SigningKey(ed25519_dalek::SigningKey::generate(rng))
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, for key files.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn sign(&self, domain: Domain, payload: &[u8]) -> Signature {
        let message = domain.message(payload);
        #[cfg(feature = "stand-in")]
        if let Some(signature) = crate::stand_in::sign(self, &message) {
            return signature;
        }
        Signature(self.0.sign(&message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

/// An ed25519 public key; always a valid curve point.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyParseError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| KeyParseError::NotAPoint)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Strict verification of `signature` over `payload` in `domain`.
    pub fn verify(
        &self,
        domain: Domain,
        payload: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        self.verify_message(&domain.message(payload), signature)
    }

    fn verify_message(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        #[cfg(feature = "memo")]
        if crate::memo::known_valid(self, message, signature) {
            return Ok(());
        }
        let result = self.verify_message_anew(message, signature);
        #[cfg(feature = "memo")]
        if result.is_ok() {
            crate::memo::record_valid(self, message, signature);
        }
        result
    }

    fn verify_message_anew(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        #[cfg(feature = "stand-in")]
        if let Some(valid) = crate::stand_in::verify(self, message, signature) {
            return if valid { Ok(()) } else { Err(SignatureError) };
        }
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| SignatureError)
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(&self.as_bytes()[..8]))
    }
}

impl FromStr for PublicKey {
    type Err = KeyParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = crate::fixed_bytes::from_hex::<32>(text).map_err(KeyParseError::Hex)?;
        PublicKey::from_bytes(&bytes)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::fixed_bytes::serialize(self.as_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = crate::fixed_bytes::deserialize::<D, 32>(deserializer)?;
        PublicKey::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature: 64 bytes, checked only when verified.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(&self.0[..8]))
    }
}

impl FromStr for Signature {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::fixed_bytes::from_hex::<64>(text).map(Signature)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::fixed_bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::fixed_bytes::deserialize(deserializer).map(Signature)
    }
}

/// One signature to check in [`verify_batch`].
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub key: PublicKey,
    /// The full signed message: [`Domain::message`] of the payload.
    pub message: Vec<u8>,
    pub signature: Signature,
}

impl BatchItem {
    pub fn new(key: PublicKey, domain: Domain, payload: &[u8], signature: Signature) -> Self {
        BatchItem {
            key,
            message: domain.message(payload),
            signature,
        }
    }
}

/// Below this many items a batch is not worth its set-up.
const MIN_BATCH: usize = 4;

/// Verifies every item; `result[i]` says whether item `i` is valid.
///
/// One batch equation is checked for all items with small-order keys filtered out;
/// if it fails, each item is checked alone with `verify_strict`, so one bad signature
/// costs the batch its speed-up but never marks a good one bad.
pub fn verify_batch(items: &[BatchItem]) -> Vec<bool> {
    let strict_each = || {
        items
            .iter()
            .map(|item| {
                item.key
                    .verify_message(&item.message, &item.signature)
                    .is_ok()
            })
            .collect()
    };
    // Strictly valid signatures pass the batch equation too: a batch of known ones
    // would pass.
    #[cfg(feature = "memo")]
    if items
        .iter()
        .all(|item| crate::memo::known_valid(&item.key, &item.message, &item.signature))
    {
        return vec![true; items.len()];
    }
    #[cfg(feature = "stand-in")]
    if crate::stand_in::StandIn::is_active() {
        return strict_each();
    }
    if items.len() < MIN_BATCH || items.iter().any(|item| item.key.0.is_weak()) {
        return strict_each();
    }
    let messages: Vec<&[u8]> = items.iter().map(|item| item.message.as_slice()).collect();
    let signatures: Vec<ed25519_dalek::Signature> = items
        .iter()
        .map(|item| ed25519_dalek::Signature::from_bytes(&item.signature.0))
        .collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = items.iter().map(|item| item.key.0).collect();
    match ed25519_dalek::verify_batch(&messages, &signatures, &keys) {
        Ok(()) => vec![true; items.len()],
        Err(_) => strict_each(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key(seed: u64) -> SigningKey {
        SigningKey::generate_with(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed))
    }

    const TX: Domain = Domain {
        chain_id: "test-chain",
        kind: "tx",
    };

    #[test]
    fn signature_verifies_in_its_own_domain_only() {
        let k = key(1);
        let sig = k.sign(TX, b"payload");
        assert!(k.public_key().verify(TX, b"payload", &sig).is_ok());
        assert!(k.public_key().verify(TX, b"payloaD", &sig).is_err());
        let other_chain = Domain::new("other-chain", "tx");
        assert!(k
            .public_key()
            .verify(other_chain, b"payload", &sig)
            .is_err());
        let other_kind = Domain::new("test-chain", "prepare");
        assert!(k.public_key().verify(other_kind, b"payload", &sig).is_err());
        assert!(key(2).public_key().verify(TX, b"payload", &sig).is_err());
    }

    #[test]
    fn domain_encoding_is_unambiguous() {
        // Without length prefixes, ("ab", "c" + payload) and ("a", "bc" + payload)
        // would sign the same bytes.
        let a = Domain::new("ab", "c").message(b"x");
        let b = Domain::new("a", "bc").message(b"x");
        assert_ne!(a, b);
    }

    #[test]
    fn non_canonical_s_is_rejected() {
        let k = key(3);
        let mut sig = k.sign(TX, b"m");
        // Adding the group order l to s gives the same point equation but a
        // non-canonical scalar; strict verification must refuse it.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s_byte, l_byte) in sig.0[32..].iter_mut().zip(l) {
            let sum = *s_byte as u16 + l_byte as u16 + carry;
            *s_byte = sum as u8;
            carry = sum >> 8;
        }
        assert!(k.public_key().verify(TX, b"m", &sig).is_err());
    }

    #[test]
    fn small_order_public_key_is_rejected() {
        // The identity point (y = 1) is a valid encoding of a small-order point.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = PublicKey::from_bytes(&identity).unwrap();
        let sig = Signature([0; 64]);
        assert!(weak.verify(TX, b"m", &sig).is_err());
        let items: Vec<BatchItem> = (0..5)
            .map(|_| BatchItem::new(weak, TX, b"m", sig))
            .collect();
        assert_eq!(verify_batch(&items), vec![false; 5]);
    }

    #[test]
    fn batch_reports_exactly_the_bad_items() {
        let items: Vec<BatchItem> = (0..16)
            .map(|i| {
                let k = key(100 + i);
                let payload = format!("message {i}");
                let mut sig = k.sign(TX, payload.as_bytes());
                if i == 5 || i == 11 {
                    sig.0[3] ^= 1;
                }
                BatchItem::new(k.public_key(), TX, payload.as_bytes(), sig)
            })
            .collect();
        let result = verify_batch(&items);
        for (i, ok) in result.iter().enumerate() {
            assert_eq!(*ok, i != 5 && i != 11, "item {i}");
        }
        let good: Vec<BatchItem> = items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i != 5 && *i != 11)
            .map(|(_, item)| item)
            .collect();
        assert!(verify_batch(&good).into_iter().all(|ok| ok));
        assert!(verify_batch(&[]).is_empty());
    }

    #[test]
    fn public_key_rejects_bytes_off_the_curve_in_every_form() {
        // y = 2 has no x on the curve.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        assert_eq!(PublicKey::from_bytes(&bytes), Err(KeyParseError::NotAPoint));
        let json = format!("\"{}\"", hex::encode(bytes));
        assert!(serde_json::from_str::<PublicKey>(&json).is_err());
        assert!(postcard::from_bytes::<PublicKey>(&bytes).is_err());
        assert!(hex::encode(bytes).parse::<PublicKey>().is_err());
    }

    #[test]
    fn keys_and_signatures_round_trip_through_text_json_and_binary() {
        let k = key(7);
        let pk = k.public_key();
        assert_eq!(pk.to_string().parse::<PublicKey>().unwrap(), pk);
        assert_eq!(SigningKey::from_seed(k.seed()).public_key(), pk);
        let sig = k.sign(TX, b"z");
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(json.len(), 2 + 128);
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
        let bin = postcard::to_allocvec(&sig).unwrap();
        assert_eq!(bin.len(), 64);
        assert_eq!(postcard::from_bytes::<Signature>(&bin).unwrap(), sig);
        assert!(!format!("{k:?}").contains(&hex::encode(k.seed())));
    }
}
