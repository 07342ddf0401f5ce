//! The genesis document: the chain's identity, first validators, admin key, initial
//! balances and consensus parameters. Written as JSON; hashed in canonical form.

use crate::account::{Account, Address};
use crypto::{BoundedString, BoundedVec, Canonical, Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A chain id: 1 to 64 bytes of `[A-Za-z0-9._-]`.
pub type ChainId = BoundedString<64>;

/// The most validators a chain may have.
pub const MAX_VALIDATORS: usize = 256;
/// The most funded accounts a genesis may list.
pub const MAX_GENESIS_BALANCES: usize = 1_000_000;
/// The fewest validators: with fewer than 4 the network tolerates no fault.
pub const MIN_VALIDATORS: usize = 4;

/// A validator: its key (which is also its libp2p identity) and where peers dial it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorInfo {
    pub public_key: PublicKey,
    /// A libp2p multiaddress, e.g. `/ip4/127.0.0.1/tcp/8100`.
    pub p2p_addr: BoundedString<256>,
}

/// One funded account at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisBalance {
    pub address: Address,
    pub balance: u64,
}

/// The consensus parameters of DESIGN.md section 10. Times are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    pub checkpoint_interval: u64,
    pub log_window: u64,
    pub batch_max_txs: u32,
    pub batch_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub view_change_timeout_ms: u64,
    pub max_clock_drift_ms: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            checkpoint_interval: 10,
            log_window: 40,
            batch_max_txs: 2000,
            batch_timeout_ms: 10,
            request_timeout_ms: 2000,
            idle_timeout_ms: 2000,
            view_change_timeout_ms: 2000,
            max_clock_drift_ms: 5000,
        }
    }
}

/// Whether `text` is a chain id a genesis may have: 1 to 64 of `A-Z a-z 0-9 . _ -`
/// (`rbft tx sign` checks a chain id typed by hand with it).
pub fn is_valid_chain_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The genesis document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: ChainId,
    /// The timestamp of block 0, in milliseconds since the Unix epoch.
    pub genesis_time_ms: u64,
    /// Signs the governance transactions (adding and removing validators).
    pub admin: PublicKey,
    pub validators: BoundedVec<ValidatorInfo, MAX_VALIDATORS>,
    pub balances: BoundedVec<GenesisBalance, MAX_GENESIS_BALANCES>,
    #[serde(default)]
    pub consensus: ConsensusParams,
}

impl Canonical for Genesis {
    const NAME: &'static str = "genesis";
    const MAX_ENCODED_LEN: usize =
        256 + MAX_VALIDATORS * 300 + MAX_GENESIS_BALANCES * 31 + 8 * 10 + 64;
}

/// Why a genesis document was refused.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read genesis file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("genesis file {path} is not a valid genesis document: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("chain id {chain_id:?} is invalid: use 1 to 64 of A-Z a-z 0-9 . _ -")]
    BadChainId { chain_id: String },
    #[error("genesis has {count} validators; at least {MIN_VALIDATORS} are required")]
    TooFewValidators { count: usize },
    #[error("validator {public_key} is listed twice")]
    DuplicateValidator { public_key: PublicKey },
    #[error("validator {public_key} has an empty p2p address")]
    EmptyP2pAddr { public_key: PublicKey },
    #[error("address {address} is funded twice")]
    DuplicateBalance { address: Address },
    #[error("the balances add up to more than 2^64 - 1")]
    SupplyOverflow,
    #[error("consensus parameter {name}: {reason}")]
    BadParam {
        name: &'static str,
        reason: &'static str,
    },
}

impl Genesis {
    /// Reads and validates a genesis file.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.to_owned(),
            source,
        })?;
        let genesis = Genesis::from_json(&text).map_err(|source| GenesisError::Json {
            path: path.to_owned(),
            source,
        })?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Parses a genesis document without validating it ([`Genesis::validate`]).
    pub fn from_json(text: &str) -> Result<Genesis, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Pretty JSON, as written to `genesis.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis serialises to JSON")
    }

    /// The chain's identity: SHA-256 of the canonical encoding.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&self.to_canonical_bytes())
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        if !is_valid_chain_id(&self.chain_id) {
            return Err(GenesisError::BadChainId {
                chain_id: self.chain_id.to_string(),
            });
        }
        if self.validators.len() < MIN_VALIDATORS {
            return Err(GenesisError::TooFewValidators {
                count: self.validators.len(),
            });
        }
        let mut keys = std::collections::BTreeSet::new();
        for v in self.validators.iter() {
            if !keys.insert(v.public_key) {
                return Err(GenesisError::DuplicateValidator {
                    public_key: v.public_key,
                });
            }
            if v.p2p_addr.trim().is_empty() {
                return Err(GenesisError::EmptyP2pAddr {
                    public_key: v.public_key,
                });
            }
        }
        let mut funded = std::collections::BTreeSet::new();
        let mut supply: u64 = 0;
        for b in self.balances.iter() {
            if !funded.insert(b.address) {
                return Err(GenesisError::DuplicateBalance { address: b.address });
            }
            supply = supply
                .checked_add(b.balance)
                .ok_or(GenesisError::SupplyOverflow)?;
        }
        self.consensus.validate()
    }

    /// The state at height 0.
    pub fn initial_state(&self) -> crate::State {
        crate::State::from_accounts(self.accounts())
    }

    /// Block 0. Its batch digest is the genesis hash and its proposer the admin key,
    /// so the block hash commits to the whole genesis document.
    pub fn block(&self, initial_state: &crate::State) -> crate::Block {
        crate::Block {
            header: crate::BlockHeader {
                height: 0,
                parent: Hash::ZERO,
                batch_digest: self.hash(),
                tx_root: crypto::merkle_root(&[]),
                state_root: initial_state.root(),
                tx_count: 0,
                timestamp_ms: self.genesis_time_ms,
                proposer: self.admin,
            },
            txs: BoundedVec::empty(),
        }
    }

    /// The accounts at height 0.
    pub fn accounts(&self) -> impl Iterator<Item = (Address, Account)> + '_ {
        self.balances.iter().map(|b| {
            (
                b.address,
                Account {
                    balance: b.balance,
                    nonce: 0,
                },
            )
        })
    }
}

impl ConsensusParams {
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |name, reason| Err(GenesisError::BadParam { name, reason });
        if self.checkpoint_interval == 0 {
            return bad("checkpoint_interval", "must be at least 1");
        }
        if self.log_window < self.checkpoint_interval
            || self.log_window % self.checkpoint_interval != 0
        {
            return bad(
                "log_window",
                "must be a positive multiple of checkpoint_interval",
            );
        }
        if self.log_window > 10_000 {
            return bad("log_window", "must be at most 10000 heights");
        }
        if self.batch_max_txs == 0 || self.batch_max_txs as usize > crate::MAX_BLOCK_TXS {
            return bad("batch_max_txs", "must be between 1 and 10000");
        }
        for (name, value) in [
            ("batch_timeout_ms", self.batch_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("view_change_timeout_ms", self.view_change_timeout_ms),
            ("max_clock_drift_ms", self.max_clock_drift_ms),
        ] {
            if value == 0 || value > 3_600_000 {
                return bad(name, "must be between 1 ms and one hour");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crypto::SigningKey;

    pub(crate) fn sample(validators: usize, funded: &[(Address, u64)]) -> Genesis {
        Genesis {
            chain_id: ChainId::new("test-chain").unwrap(),
            genesis_time_ms: 1_700_000_000_000,
            admin: SigningKey::from_seed([200; 32]).public_key(),
            validators: BoundedVec::new(
                (0..validators)
                    .map(|i| ValidatorInfo {
                        public_key: SigningKey::from_seed([i as u8 + 1; 32]).public_key(),
                        p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 8100 + i))
                            .unwrap(),
                    })
                    .collect(),
            )
            .unwrap(),
            balances: BoundedVec::new(
                funded
                    .iter()
                    .map(|(address, balance)| GenesisBalance {
                        address: *address,
                        balance: *balance,
                    })
                    .collect(),
            )
            .unwrap(),
            consensus: ConsensusParams::default(),
        }
    }

    #[test]
    fn json_round_trip_keeps_the_hash() {
        let g = sample(4, &[(Address([1; 20]), 100)]);
        let back: Genesis = serde_json::from_str(&g.to_json()).unwrap();
        assert_eq!(back.hash(), g.hash());
        back.validate().unwrap();
    }

    #[test]
    fn missing_consensus_section_takes_the_defaults() {
        let g = sample(4, &[]);
        let mut value: serde_json::Value = serde_json::from_str(&g.to_json()).unwrap();
        value.as_object_mut().unwrap().remove("consensus");
        let back: Genesis = serde_json::from_value(value).unwrap();
        assert_eq!(back.consensus, ConsensusParams::default());
    }

    #[test]
    fn invalid_documents_are_refused_with_the_reason() {
        let ok = sample(4, &[(Address([1; 20]), 5)]);
        ok.validate().unwrap();

        assert!(matches!(
            sample(3, &[]).validate(),
            Err(GenesisError::TooFewValidators { count: 3 })
        ));
        let mut dup = ok.clone();
        let mut vs = dup.validators.clone().into_inner();
        vs.push(vs[0].clone());
        dup.validators = BoundedVec::new(vs).unwrap();
        assert!(matches!(
            dup.validate(),
            Err(GenesisError::DuplicateValidator { .. })
        ));
        let two = sample(4, &[(Address([1; 20]), 5), (Address([1; 20]), 6)]);
        assert!(matches!(
            two.validate(),
            Err(GenesisError::DuplicateBalance { .. })
        ));
        let rich = sample(4, &[(Address([1; 20]), u64::MAX), (Address([2; 20]), 1)]);
        assert!(matches!(rich.validate(), Err(GenesisError::SupplyOverflow)));
        let mut chain = ok.clone();
        chain.chain_id = ChainId::new("has space").unwrap();
        assert!(matches!(
            chain.validate(),
            Err(GenesisError::BadChainId { .. })
        ));
        let mut params = ok.clone();
        params.consensus.log_window = 45;
        assert!(matches!(
            params.validate(),
            Err(GenesisError::BadParam {
                name: "log_window",
                ..
            })
        ));
        params.consensus = ConsensusParams {
            batch_max_txs: 0,
            ..Default::default()
        };
        assert!(matches!(
            params.validate(),
            Err(GenesisError::BadParam {
                name: "batch_max_txs",
                ..
            })
        ));
    }

    #[test]
    fn load_reports_missing_files_bad_json_and_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Genesis::load(&dir.path().join("none.json")).unwrap_err();
        assert!(matches!(missing, GenesisError::Io { .. }), "{missing}");
        let path = dir.path().join("genesis.json");
        std::fs::write(&path, "{ not json").unwrap();
        assert!(matches!(
            Genesis::load(&path),
            Err(GenesisError::Json { .. })
        ));
        let mut value: serde_json::Value = serde_json::from_str(&sample(4, &[]).to_json()).unwrap();
        value["surprise"] = 1.into();
        std::fs::write(&path, value.to_string()).unwrap();
        let err = Genesis::load(&path).unwrap_err();
        assert!(err.to_string().contains("surprise"), "{err}");
        std::fs::write(&path, sample(4, &[]).to_json()).unwrap();
        assert!(Genesis::load(&path).is_ok());
    }
}
