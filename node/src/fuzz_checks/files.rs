//! The files an operator is handed or writes by hand: `config.toml`, the genesis
//! document and the validator cards it is built from. A typo or a hostile file must
//! be a typed error, and what is accepted must survive being written back.

use super::{canonical, text_round_trip};
use crate::card::ValidatorCard;
use crate::config::NodeConfig;
use crypto::Canonical;
use ledger::Genesis;
use std::path::Path;

/// `config.toml`, as `rbft start` reads it.
pub fn config(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(config) = NodeConfig::parse(text) {
        text_round_trip("config", &config, NodeConfig::to_toml, NodeConfig::parse);
    }
}

/// `genesis.json`, as every node reads it, and the canonical encoding its hash is
/// over.
pub fn genesis(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(genesis) = Genesis::from_json(text) else {
        return;
    };
    let _ = genesis.validate();
    text_round_trip("genesis", &genesis, Genesis::to_json, Genesis::from_json);
    let again = canonical::<Genesis>(&genesis.to_canonical_bytes())
        .expect("the canonical bytes of a genesis decode");
    assert_eq!(
        again, genesis,
        "a genesis changes through its canonical bytes"
    );
}

/// A validator card, as `rbft genesis build` reads it.
pub fn card(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let source = Path::new("card.json");
    if let Ok(card) = ValidatorCard::parse(source, text) {
        text_round_trip("validator card", &card, ValidatorCard::to_json, |text| {
            ValidatorCard::parse(source, text)
        });
    }
}
