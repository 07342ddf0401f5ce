//! Accounts and addresses.

use crypto::{Canonical, PublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An account address: the first 20 bytes of SHA-256 of the ed25519 public key,
/// shown as 40 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    pub fn of(key: &PublicKey) -> Address {
        let digest = crypto::sha256(key.as_bytes());
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest.0[..20]);
        Address(out)
    }

    /// Bit `i` of the address, most significant first (the state tree's path).
    pub fn bit(&self, i: usize) -> bool {
        self.0[i / 8] & (0x80 >> (i % 8)) != 0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an address (40 hex characters): {0}")]
pub struct AddressParseError(String);

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != 40 {
            return Err(AddressParseError(format!(
                "{} characters instead of 40",
                text.len()
            )));
        }
        let mut out = [0u8; 20];
        hex::decode_to_slice(text, &mut out).map_err(|e| AddressParseError(e.to_string()))?;
        Ok(Address(out))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            text.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 20]>::deserialize(deserializer).map(Address)
        }
    }
}

/// An account: its balance and the nonce its next transaction must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    pub balance: u64,
    pub nonce: u64,
}

impl Canonical for Account {
    const NAME: &'static str = "account";
    const MAX_ENCODED_LEN: usize = 20;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_first_20_bytes_of_sha256_of_the_key() {
        let key = crypto::SigningKey::from_seed([1; 32]).public_key();
        let digest = crypto::sha256(key.as_bytes());
        assert_eq!(Address::of(&key).0[..], digest.0[..20]);
    }

    #[test]
    fn address_text_and_json_round_trip_and_reject_bad_input() {
        let a = Address([0xab; 20]);
        assert_eq!(a.to_string().parse::<Address>().unwrap(), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        assert!("abc".parse::<Address>().is_err());
        assert!("zz".repeat(20).parse::<Address>().is_err());
        assert!(serde_json::from_str::<Address>("\"00\"").is_err());
        assert_eq!(postcard::to_allocvec(&a).unwrap().len(), 20);
    }

    #[test]
    fn bits_are_most_significant_first() {
        let mut a = Address::default();
        a.0[0] = 0b1000_0001;
        assert!(a.bit(0));
        assert!(!a.bit(1));
        assert!(a.bit(7));
        assert!(!a.bit(8));
    }
}
