//! SHA-256 digests.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;
use std::fmt;
use std::str::FromStr;

/// A 32-byte SHA-256 digest. Shown and parsed as 64 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// All zeroes: the parent of genesis, the root of an empty tree.
    pub const ZERO: Hash = Hash([0; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first eight bytes as hex, for logs.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(sha2::Sha256::digest(bytes).into())
}

/// An incremental SHA-256, for hashing several pieces without concatenating them.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}

/// Why a string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hash: {reason}")]
pub struct HashParseError {
    pub reason: String,
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::fixed_bytes::from_hex::<32>(text)
            .map(Hash)
            .map_err(|reason| HashParseError { reason })
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::fixed_bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::fixed_bytes::deserialize(deserializer).map(Hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_2_test_vector() {
        assert_eq!(
            sha256(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn incremental_hash_equals_one_shot_hash() {
        let mut h = Sha256::new();
        h.update(b"ab").update(b"c");
        assert_eq!(h.finish(), sha256(b"abc"));
    }

    #[test]
    fn display_and_from_str_round_trip() {
        let h = sha256(b"x");
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
    }

    #[test]
    fn from_str_rejects_wrong_length_and_bad_hex() {
        assert!("abcd".parse::<Hash>().is_err());
        let bad = "zz".repeat(32);
        let err = bad.parse::<Hash>().unwrap_err();
        assert!(err.reason.contains("invalid hex"), "{err}");
    }

    #[test]
    fn json_is_hex_and_binary_is_32_raw_bytes() {
        let h = sha256(b"y");
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        let bin = postcard::to_allocvec(&h).unwrap();
        assert_eq!(bin, h.0.to_vec());
        assert_eq!(postcard::from_bytes::<Hash>(&bin).unwrap(), h);
    }
}
