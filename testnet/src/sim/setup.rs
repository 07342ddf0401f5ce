//! Building one seed's world: the chain (genesis, keys, the replica
//! configuration) and the nodes, clients and Byzantine replicas.

use super::byzantine::{Behaviour, Byzantine};
use super::checks::Checker;
use super::host::{self, Chain, SimNode};
use super::network::Network;
use super::scenarios::{self, Scenario, Victim};
use super::verify_cache::VerifyCache;
use super::{membership, Client, SimOptions, World, CHAIN_ID, CLIENTS};
use super::{SIM_IDLE_TIMEOUT_MS, SIM_REQUEST_TIMEOUT_MS, SIM_VIEW_CHANGE_TIMEOUT_MS};
use consensus::{ReplicaConfig, ReplicaId};
use crypto::{BoundedString, BoundedVec, Sha256, SigningKey};
use ledger::{Address, ChainId, ConsensusParams, Genesis, GenesisBalance, ValidatorInfo};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The chain of the first `genesis_size` of `validator_keys`; the others may join
/// later.
fn chain(validator_keys: &[SigningKey], genesis_size: usize, clients: &[Client]) -> Chain {
    let validators: Vec<ValidatorInfo> = validator_keys[..genesis_size]
        .iter()
        .enumerate()
        .map(|(i, k)| ValidatorInfo {
            public_key: k.public_key(),
            p2p_addr: BoundedString::new(format!("/memory/{i}")).expect("short"),
        })
        .collect();
    let genesis = Genesis {
        chain_id: ChainId::new(CHAIN_ID).expect("short"),
        genesis_time_ms: 0,
        admin: membership::admin_key().public_key(),
        validators: BoundedVec::new(validators.clone()).expect("few validators"),
        balances: BoundedVec::new(
            clients
                .iter()
                .map(|c| GenesisBalance {
                    address: Address::of(&c.key.public_key()),
                    balance: 1_000_000,
                })
                .collect(),
        )
        .expect("few clients"),
        consensus: ConsensusParams::default(),
    };
    let keys: Vec<_> = validator_keys.iter().map(SigningKey::public_key).collect();
    let mut config =
        ReplicaConfig::with_defaults(CHAIN_ID, keys[..genesis_size].to_vec(), ReplicaId(0));
    // Lossy links stall a height until someone retransmits; retry sooner than a
    // production node would so that the fault phase still makes progress.
    config.retransmit_interval_ms = 100;
    // The run lasts seconds, so the view-change timers are scaled down with it.
    config.request_timeout_ms = SIM_REQUEST_TIMEOUT_MS;
    config.idle_timeout_ms = SIM_IDLE_TIMEOUT_MS;
    config.view_change_timeout_ms = SIM_VIEW_CHANGE_TIMEOUT_MS;
    Chain {
        genesis,
        validators,
        keys,
        config,
    }
}

impl World {
    pub(super) fn new(seed: u64, options: &SimOptions) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (genesis_nodes, all_nodes) = if options.membership {
            (membership::GENESIS_VALIDATORS, membership::GROWN_VALIDATORS)
        } else {
            (options.nodes, options.nodes)
        };
        let validator_keys: Vec<SigningKey> = (0..all_nodes)
            .map(|_| SigningKey::generate_with(&mut rng))
            .collect();
        let clients: Vec<Client> = (0..CLIENTS)
            .map(|_| Client {
                key: SigningKey::generate_with(&mut rng),
                nonce: 0,
            })
            .collect();
        let mut chain = chain(&validator_keys, genesis_nodes, &clients);
        if options.scenario.is_some() {
            // One transaction per batch: heights pass quickly.
            chain.config.batch_max_txs = 1;
        }
        let mut byzantine = Vec::new();
        let victim = options.scenario.map(|_| rng.gen_range(0..options.nodes));
        if options.scenario == Some(Scenario::LyingPeer) {
            let liar = (victim.unwrap_or(0) + rng.gen_range(1..options.nodes)) % options.nodes;
            byzantine.push(Byzantine::new(
                liar,
                scenarios::liar_behaviour(),
                validator_keys[liar].clone(),
                CHAIN_ID,
                options.nodes,
            ));
        } else if options.byzantine || options.membership {
            // The membership run has one Byzantine genesis validator.
            let f = if options.membership {
                1
            } else {
                consensus::max_faulty(options.nodes)
            };
            let mut candidates: Vec<usize> = (0..genesis_nodes).collect();
            for _ in 0..f {
                let node = candidates.remove(rng.gen_range(0..candidates.len()));
                let behaviour = options
                    .behaviour
                    .unwrap_or(Behaviour::ALL[rng.gen_range(0..Behaviour::ALL.len())]);
                byzantine.push(Byzantine::new(
                    node,
                    behaviour,
                    validator_keys[node].clone(),
                    CHAIN_ID,
                    all_nodes,
                ));
            }
        }
        let nodes = validator_keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| {
                let byz = byzantine.iter().find(|b| b.node == i);
                let switches = host::Switches {
                    broken: options.broken_replica && i == 0,
                    forge_q: byz.is_some_and(|b| b.behaviour == Behaviour::ForgedNewView),
                    skip_new_view_check: options.skip_new_view_check && byz.is_none(),
                    host: options.host_faults,
                };
                if i < genesis_nodes {
                    SimNode::new(i, key, &chain, switches)
                } else {
                    SimNode::dormant(i, key, &chain, switches)
                }
            })
            .collect();
        let genesis_membership = chain
            .config
            .membership()
            .expect("the simulated genesis is valid");
        World {
            rng,
            now_ms: 0,
            chain,
            nodes,
            net: Network::new(all_nodes),
            checker: Checker::new(genesis_membership),
            bodies: HashMap::new(),
            clients,
            outstanding: Vec::new(),
            rivals: HashMap::new(),
            retry: Vec::new(),
            trace: Sha256::new(),
            cache: VerifyCache::default(),
            readies: Vec::new(),
            crashes: 0,
            partitions: 0,
            transfers: 0,
            byzantine,
            view_changes: BTreeMap::new(),
            heights_after_heal: BTreeSet::new(),
            detected: BTreeSet::new(),
            // `wiped-then-crash` ends with the crash-primary story and its bound.
            crash_primary: options.crash_primary
                || options.scenario == Some(Scenario::WipedThenCrash),
            crashed_primary_at: None,
            resume_ms: None,
            debug: std::env::var_os("RBFT_SIM_DEBUG").is_some(),
            trace_deliveries: std::env::var_os("RBFT_SIM_TRACE").is_some(),
            scenario: options.scenario,
            victim: victim.map(|node| Victim {
                node,
                crash_when_changing: options.scenario == Some(Scenario::MidViewChange),
                ..Victim::default()
            }),
            extra_faults: Vec::new(),
            pending_transfers: Vec::new(),
            refused_blocks: 0,
            behind_by: 0,
            membership: options.membership,
            admin_nonce: 0,
            next_change_ms: 100,
        }
    }
}
