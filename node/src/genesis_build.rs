//! Building the genesis from the operators' validator cards (`rbft genesis build`),
//! and the checks a node adds to the ledger's own validation of a genesis: that
//! every validator's address can be dialled.
//!
//! The validators are listed in the order the cards are given: a validator's replica
//! id is its position, and the first one is the primary of view 0. Peers learn where
//! to dial each other from this list (and later from the AddValidator transactions
//! that add to it), so a node's config holds only where it listens itself.

use crate::addr::{self, AddrError};
use crate::card::ValidatorCard;
use crypto::{BoundedVec, PublicKey};
use ledger::{
    Address, ChainId, ConsensusParams, Genesis, GenesisBalance, GenesisError, MAX_VALIDATORS,
    MIN_VALIDATORS,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// What goes into a genesis; the cards come with the files they were read from, so
/// that errors name them.
#[derive(Debug, Clone)]
pub struct GenesisPlan {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub admin: PublicKey,
    pub balances: Vec<(Address, u64)>,
    pub cards: Vec<(PathBuf, ValidatorCard)>,
    pub consensus: ConsensusParams,
}

/// Why a genesis could not be built from a plan.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("--card: {count} validator cards given; a network needs at least {MIN_VALIDATORS} (it then tolerates one faulty validator)")]
    TooFewValidators { count: usize },
    #[error("--card: {count} validator cards given; at most {MAX_VALIDATORS}")]
    TooManyValidators { count: usize },
    #[error("--card: the cards {} and {} have the same public_key {public_key}; each validator needs a key of its own", first.display(), second.display())]
    DuplicateValidator {
        /// Hex, as on the cards.
        public_key: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("--card: the cards {} and {} have the same p2p_addr {p2p_addr}; two validators cannot be dialled at one address", first.display(), second.display())]
    DuplicateAddress {
        p2p_addr: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("--chain-id {chain_id:?}: use 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadChainId { chain_id: String },
    #[error("--fund: address {address} is funded twice")]
    DuplicateBalance { address: Address },
    #[error("--fund: too many funded accounts")]
    TooManyBalances,
    #[error("the genesis is invalid: {0}")]
    Invalid(Box<GenesisError>),
}

impl From<GenesisError> for BuildError {
    fn from(error: GenesisError) -> Self {
        BuildError::Invalid(Box::new(error))
    }
}

/// A genesis validator whose address peers cannot dial.
#[derive(Debug, thiserror::Error)]
#[error("genesis validators[{index}] ({public_key}): {error}")]
pub struct GenesisAddrError {
    pub index: usize,
    /// Hex, as in the genesis file.
    pub public_key: String,
    pub error: AddrError,
}

/// Builds and validates the genesis of `plan`.
pub fn build(plan: &GenesisPlan) -> Result<Genesis, BuildError> {
    let count = plan.cards.len();
    if count < MIN_VALIDATORS {
        return Err(BuildError::TooFewValidators { count });
    }
    if count > MAX_VALIDATORS {
        return Err(BuildError::TooManyValidators { count });
    }
    let mut keys: HashMap<PublicKey, &PathBuf> = HashMap::new();
    let mut addrs: HashMap<String, &PathBuf> = HashMap::new();
    for (path, card) in &plan.cards {
        if let Some(first) = keys.insert(card.public_key, path) {
            return Err(BuildError::DuplicateValidator {
                public_key: card.public_key.to_string(),
                first: first.clone(),
                second: path.clone(),
            });
        }
        let p2p_addr = card.p2p_addr.to_string();
        if let Some(first) = addrs.insert(p2p_addr.clone(), path) {
            return Err(BuildError::DuplicateAddress {
                p2p_addr,
                first: first.clone(),
                second: path.clone(),
            });
        }
    }
    let bad_chain = || BuildError::BadChainId {
        chain_id: plan.chain_id.clone(),
    };
    let chain_id = ChainId::new(plan.chain_id.clone()).map_err(|_| bad_chain())?;
    let mut funded = std::collections::BTreeSet::new();
    for (address, _) in &plan.balances {
        if !funded.insert(*address) {
            return Err(BuildError::DuplicateBalance { address: *address });
        }
    }
    let balances = plan
        .balances
        .iter()
        .map(|(address, balance)| GenesisBalance {
            address: *address,
            balance: *balance,
        })
        .collect();
    let validators = plan
        .cards
        .iter()
        .map(|(_, card)| card.validator())
        .collect();
    let genesis = Genesis {
        chain_id,
        genesis_time_ms: plan.genesis_time_ms,
        admin: plan.admin,
        validators: BoundedVec::new(validators)
            .map_err(|_| BuildError::TooManyValidators { count })?,
        balances: BoundedVec::new(balances).map_err(|_| BuildError::TooManyBalances)?,
        consensus: plan.consensus.clone(),
    };
    match genesis.validate() {
        Err(GenesisError::BadChainId { .. }) => return Err(bad_chain()),
        other => other?,
    }
    check_addresses(&genesis).expect("every card's address was checked");
    Ok(genesis)
}

/// Checks that every genesis validator's `p2p_addr` can be dialled (the ledger only
/// checks that it is not empty; what a dialable address is, is the node's business).
pub fn check_addresses(genesis: &Genesis) -> Result<(), GenesisAddrError> {
    for (index, validator) in genesis.validators.iter().enumerate() {
        addr::parse_dial("p2p_addr", &validator.p2p_addr, None).map_err(|error| {
            GenesisAddrError {
                index,
                public_key: validator.public_key.to_string(),
                error,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::SigningKey;

    fn card(seed: u8) -> (PathBuf, ValidatorCard) {
        let key = SigningKey::from_seed([seed; 32]).public_key();
        let addr = format!("/ip4/10.0.0.{seed}/tcp/8100").parse().unwrap();
        (
            PathBuf::from(format!("card{seed}.json")),
            ValidatorCard::new(key, addr),
        )
    }

    fn plan(cards: usize) -> GenesisPlan {
        GenesisPlan {
            chain_id: "consortium-1".into(),
            genesis_time_ms: 1_700_000_000_000,
            admin: SigningKey::from_seed([99; 32]).public_key(),
            balances: vec![(Address([7; 20]), 1000)],
            cards: (1..=cards as u8).map(card).collect(),
            consensus: ConsensusParams::default(),
        }
    }

    #[test]
    fn four_cards_make_a_genesis_in_their_order() {
        let genesis = build(&plan(4)).unwrap();
        assert_eq!(genesis.validators.len(), 4);
        assert_eq!(genesis.validators[0].public_key, card(1).1.public_key);
        assert_eq!(&*genesis.validators[3].p2p_addr, "/ip4/10.0.0.4/tcp/8100");
        // The same plan gives the same genesis, hash and all.
        assert_eq!(build(&plan(4)).unwrap().hash(), genesis.hash());
    }

    #[test]
    fn bad_plans_are_refused_naming_the_cards() {
        assert!(matches!(
            build(&plan(3)),
            Err(BuildError::TooFewValidators { count: 3 })
        ));
        let mut twice = plan(4);
        twice.cards[3].1.public_key = twice.cards[1].1.public_key;
        let err = build(&twice).unwrap_err();
        assert!(
            matches!(err, BuildError::DuplicateValidator { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("card2.json") && err.to_string().contains("card4.json"));
        let mut same_addr = plan(4);
        same_addr.cards[0].1.p2p_addr = same_addr.cards[2].1.p2p_addr.clone();
        assert!(matches!(
            build(&same_addr),
            Err(BuildError::DuplicateAddress { .. })
        ));
        let mut chain = plan(4);
        chain.chain_id = "no spaces".into();
        assert!(matches!(build(&chain), Err(BuildError::BadChainId { .. })));
        let mut funds = plan(4);
        funds.balances.push((Address([7; 20]), 1));
        assert!(matches!(
            build(&funds),
            Err(BuildError::DuplicateBalance { .. })
        ));
        let mut params = plan(4);
        params.consensus.checkpoint_interval = 0;
        assert!(matches!(build(&params), Err(BuildError::Invalid(_))));
    }

    #[test]
    fn a_genesis_with_an_undialable_address_is_named() {
        let mut genesis = build(&plan(4)).unwrap();
        let mut validators = genesis.validators.clone().into_inner();
        validators[2].p2p_addr = crypto::BoundedString::new("/ip4/0.0.0.0/tcp/1").unwrap();
        genesis.validators = BoundedVec::new(validators).unwrap();
        let err = check_addresses(&genesis).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.to_string().contains("validators[2]"), "{err}");
    }
}
