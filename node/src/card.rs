//! The validator card: what an operator sends to whoever builds the genesis. It holds
//! the node's public key and the address its peers dial, never the secret key.
//!
//! ```json
//! {
//!   "public_key": "64 hex characters",
//!   "p2p_addr": "/ip4/203.0.113.7/tcp/8100",
//!   "peer_id": "12D3KooW..."
//! }
//! ```
//!
//! `peer_id` is the libp2p identity that follows from the key; it is there for
//! people comparing logs, and a card whose `peer_id` does not match its key is
//! refused (it was edited by hand or pasted together from two cards).

use crate::addr::{self, AddrError};
use crypto::{BoundedString, PublicKey};
use ledger::ValidatorInfo;
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A card is a few hundred bytes; anything much larger is not a card.
pub const MAX_CARD_BYTES: u64 = 4096;

/// A checked card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorCard {
    pub public_key: PublicKey,
    pub p2p_addr: Multiaddr,
}

/// A card as JSON; every field is checked by [`ValidatorCard::parse`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardJson {
    public_key: String,
    p2p_addr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer_id: Option<String>,
}

/// Why a card was refused; each names the card (its file) and, where there is one,
/// the field.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("card {}: {error}", card.display())]
    Io {
        card: PathBuf,
        error: std::io::Error,
    },
    #[error("card {}: {len} bytes; a validator card is at most {MAX_CARD_BYTES}", card.display())]
    TooLarge { card: PathBuf, len: u64 },
    #[error("card {} is not a validator card: {reason}", card.display())]
    Malformed { card: PathBuf, reason: String },
    #[error("card {}: field {field}: {reason}", card.display())]
    BadField {
        card: PathBuf,
        field: &'static str,
        reason: String,
    },
    #[error("card {}: {error}", card.display())]
    BadAddress { card: PathBuf, error: AddrError },
}

impl ValidatorCard {
    pub fn new(public_key: PublicKey, p2p_addr: Multiaddr) -> Self {
        ValidatorCard {
            public_key,
            p2p_addr,
        }
    }

    /// The libp2p peer id of the card's key.
    pub fn peer_id(&self) -> String {
        crate::net::peer_id(&self.public_key)
            .map(|id| id.to_string())
            .expect("a checked public key is a valid ed25519 key")
    }

    /// Pretty JSON with the peer id, as `rbft init` prints and writes it.
    pub fn to_json(&self) -> String {
        let json = CardJson {
            public_key: self.public_key.to_string(),
            p2p_addr: self.p2p_addr.to_string(),
            peer_id: Some(self.peer_id()),
        };
        serde_json::to_string_pretty(&json).expect("a card serialises")
    }

    /// Reads and checks a card file.
    pub fn load(path: &Path) -> Result<ValidatorCard, CardError> {
        let io = |error| CardError::Io {
            card: path.to_owned(),
            error,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CARD_BYTES {
            return Err(CardError::TooLarge {
                card: path.to_owned(),
                len,
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        ValidatorCard::parse(path, &text)
    }

    /// Parses and checks a card; `source` names it in errors.
    pub fn parse(source: &Path, text: &str) -> Result<ValidatorCard, CardError> {
        let bad = |field, reason: String| CardError::BadField {
            card: source.to_owned(),
            field,
            reason,
        };
        let json: CardJson = serde_json::from_str(text).map_err(|e| CardError::Malformed {
            card: source.to_owned(),
            reason: e.to_string(),
        })?;
        let public_key: PublicKey = json
            .public_key
            .trim()
            .parse()
            .map_err(|e| bad("public_key", format!("not an ed25519 public key: {e}")))?;
        let p2p_addr = addr::parse_dial("p2p_addr", &json.p2p_addr, None).map_err(|error| {
            CardError::BadAddress {
                card: source.to_owned(),
                error,
            }
        })?;
        let card = ValidatorCard::new(public_key, p2p_addr);
        if let Some(peer_id) = json.peer_id {
            if peer_id.trim() != card.peer_id() {
                return Err(bad(
                    "peer_id",
                    format!(
                        "{peer_id} is not the peer id of public_key (that is {})",
                        card.peer_id()
                    ),
                ));
            }
        }
        Ok(card)
    }

    /// The card as a genesis validator.
    pub fn validator(&self) -> ValidatorInfo {
        ValidatorInfo {
            public_key: self.public_key,
            p2p_addr: BoundedString::new(self.p2p_addr.to_string())
                .expect("a checked dial address fits in 256 bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> ValidatorCard {
        let key = crypto::SigningKey::from_seed([3; 32]).public_key();
        ValidatorCard::new(key, "/dns/node1.example.org/tcp/8100".parse().unwrap())
    }

    fn parse(text: &str) -> Result<ValidatorCard, CardError> {
        ValidatorCard::parse(Path::new("alice.json"), text)
    }

    #[test]
    fn a_card_round_trips_through_its_json() {
        let card = card();
        assert_eq!(parse(&card.to_json()).unwrap(), card);
        let validator = card.validator();
        assert_eq!(&*validator.p2p_addr, "/dns/node1.example.org/tcp/8100");
    }

    #[test]
    fn each_bad_card_names_its_file_and_field() {
        let good: serde_json::Value = serde_json::from_str(&card().to_json()).unwrap();
        let with = |field: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[field] = value;
            v.to_string()
        };
        let cases = [
            ("{", "not a validator card"),
            ("{\"p2p_addr\": \"/ip4/1.2.3.4/tcp/1\"}", "public_key"),
            (&with("public_key", "abcd".into()), "field public_key"),
            (&with("p2p_addr", "1.2.3.4".into()), "p2p_addr"),
            (&with("p2p_addr", "0.0.0.0:8100".into()), "p2p_addr"),
            (&with("peer_id", "12D3KooWnope".into()), "field peer_id"),
            (&with("surprise", 1.into()), "surprise"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains("alice.json"), "{text}: {err}");
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn a_card_without_a_peer_id_is_accepted() {
        let mut v: serde_json::Value = serde_json::from_str(&card().to_json()).unwrap();
        v.as_object_mut().unwrap().remove("peer_id");
        assert_eq!(parse(&v.to_string()).unwrap(), card());
    }
}
