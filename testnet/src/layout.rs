//! The directory of a local testnet (DESIGN.md section 9, `testnet up`):
//!
//! ```text
//! DIR/genesis.json           the chain (validators, admin, funded clients)
//! DIR/admin.key              the admin key (governance transactions)
//! DIR/nodeI/config.toml      API on 127.0.0.1:{base+I}, peers on {base+100+I}
//! DIR/nodeI/node.key         validator I's key
//! DIR/nodeI/genesis.json     a copy of DIR/genesis.json
//! DIR/nodeI/node.log         the node's output, written by `testnet up`
//! DIR/nodeI/node.pid         the pid of the node's process while it runs
//! DIR/nodeI/removed          written by `testnet remove-node` once I is out
//! DIR/clients/clientK.key    funded client keys
//! ```
//!
//! Nodes beyond the genesis validators are written by `testnet add-node` (issue 7):
//! node N = the N-th directory, with the same port scheme.
//!
//! [`Layout::generate`] writes a new directory; [`Layout::open`] reads one back
//! (an existing testnet is reused as it is, never regenerated).

use crypto::keyfile::{read_key_file, write_key_file, KeyFileError};
use crypto::{BoundedString, BoundedVec, SigningKey};
use ledger::{Address, ChainId, ConsensusParams, Genesis, GenesisBalance, ValidatorInfo};
use node::config::{Home, NodeConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const CHAIN_ID: &str = "rbft-local";
/// Peers listen on `base_port + P2P_PORT_OFFSET + i`.
pub const P2P_PORT_OFFSET: u16 = 100;
/// Enough senders for the benchmark (DESIGN.md section 9); `up` prints a few.
pub const DEFAULT_CLIENTS: usize = 1000;
/// Each client's balance: a benchmark moves 1 per transaction, so this lasts.
pub const CLIENT_BALANCE: u64 = 1_000_000_000_000;
pub const ADMIN_KEY: &str = "admin.key";
pub const CLIENTS_DIR: &str = "clients";
pub const NODE_LOG: &str = "node.log";
pub const NODE_PID: &str = "node.pid";
/// A marker: the node was removed from the validator set (`testnet remove-node`).
pub const REMOVED_MARKER: &str = "removed";

/// What to generate.
#[derive(Debug, Clone)]
pub struct LayoutSpec {
    pub nodes: usize,
    pub base_port: u16,
    pub clients: usize,
    pub chain_id: String,
    pub consensus: ConsensusParams,
}

impl Default for LayoutSpec {
    fn default() -> Self {
        LayoutSpec {
            nodes: 4,
            base_port: 8000,
            clients: DEFAULT_CLIENTS,
            chain_id: CHAIN_ID.to_owned(),
            consensus: ConsensusParams::default(),
        }
    }
}

/// Why a testnet directory could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("{dir} exists and is not empty; give a new directory to create a testnet")]
    NotEmpty { dir: PathBuf },
    #[error("{dir} does not look like a testnet directory ({missing} is missing); give a new or empty directory, or one `testnet up` made")]
    NotATestnet { dir: PathBuf, missing: PathBuf },
    #[error("{dir}: {message}")]
    Invalid { dir: PathBuf, message: String },
    #[error("{nodes} nodes with base port {base_port}: {reason}")]
    BadSpec {
        nodes: usize,
        base_port: u16,
        reason: &'static str,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One node of the testnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayout {
    pub index: usize,
    /// The node's home directory (`rbft start --home`).
    pub home: PathBuf,
    pub api_addr: SocketAddr,
    pub p2p_addr: String,
    /// `testnet remove-node` took it out: `testnet up` does not start it.
    pub removed: bool,
}

impl NodeLayout {
    pub fn pid_path(&self) -> PathBuf {
        self.home.join(NODE_PID)
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.join(NODE_LOG)
    }
}

/// A funded client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    pub path: PathBuf,
    pub address: Address,
}

impl ClientKey {
    pub fn load(&self) -> Result<SigningKey, KeyFileError> {
        read_key_file(&self.path)
    }
}

impl Layout {
    /// Every funded client's key, in client order (a load's senders).
    pub fn client_keys(&self) -> Result<Vec<SigningKey>, KeyFileError> {
        self.clients.iter().map(ClientKey::load).collect()
    }
}

/// A testnet directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
    pub chain_id: String,
    pub nodes: Vec<NodeLayout>,
    /// Sorted by their number (`client0.key`, `client1.key`, ...).
    pub clients: Vec<ClientKey>,
    pub admin_key: PathBuf,
}

impl Layout {
    /// Writes a new testnet into `dir`, which must not exist or be empty.
    pub fn generate(dir: &Path, spec: &LayoutSpec) -> Result<Layout, LayoutError> {
        check_spec(spec)?;
        if dir.exists() && !is_empty_dir(dir)? {
            return Err(LayoutError::NotEmpty {
                dir: dir.to_owned(),
            });
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let clients_dir = dir.join(CLIENTS_DIR);
        std::fs::create_dir_all(&clients_dir).map_err(io(&clients_dir))?;

        let admin = SigningKey::generate();
        let admin_key = dir.join(ADMIN_KEY);
        write_key_file(&admin_key, &admin)?;

        let clients = write_client_keys(&clients_dir, spec.clients)?;

        let node_keys: Vec<SigningKey> = (0..spec.nodes).map(|_| SigningKey::generate()).collect();
        let nodes: Vec<NodeLayout> = (0..spec.nodes)
            .map(|i| node_layout(dir, spec.base_port, i))
            .collect();
        let genesis = genesis(spec, &admin, &node_keys, &nodes, &clients, dir)?;
        let genesis_json = genesis.to_json();
        let genesis_path = dir.join(Home::GENESIS);
        write_file(&genesis_path, &genesis_json)?;

        for (node, key) in nodes.iter().zip(&node_keys) {
            std::fs::create_dir_all(&node.home).map_err(io(&node.home))?;
            let config = NodeConfig {
                api_addr: node.api_addr,
                p2p_listen: node.p2p_addr.clone(),
                data_dir: PathBuf::from("data"),
                ..NodeConfig::default()
            };
            write_file(&node.home.join(Home::CONFIG), &config.to_toml())?;
            write_key_file(&node.home.join(Home::KEY), key)?;
            write_file(&node.home.join(Home::GENESIS), &genesis_json)?;
        }
        Ok(Layout {
            dir: dir.to_owned(),
            chain_id: spec.chain_id.clone(),
            nodes,
            clients,
            admin_key,
        })
    }

    /// Reads back a directory [`Layout::generate`] wrote.
    pub fn open(dir: &Path) -> Result<Layout, LayoutError> {
        let not_a_testnet = |missing: PathBuf| LayoutError::NotATestnet {
            dir: dir.to_owned(),
            missing,
        };
        let genesis_path = dir.join(Home::GENESIS);
        if !genesis_path.is_file() {
            return Err(not_a_testnet(genesis_path));
        }
        let genesis = Genesis::load(&genesis_path).map_err(|e| LayoutError::Invalid {
            dir: dir.to_owned(),
            message: e.to_string(),
        })?;
        let mut nodes = Vec::with_capacity(genesis.validators.len());
        // The genesis validators' homes must be there; `add-node` writes more.
        for index in 0.. {
            let home = dir.join(format!("node{index}"));
            let config_path = home.join(Home::CONFIG);
            if !config_path.is_file() {
                if index < genesis.validators.len() {
                    return Err(not_a_testnet(config_path));
                }
                break;
            }
            let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
            let config = NodeConfig::parse(&text).map_err(|message| LayoutError::Invalid {
                dir: dir.to_owned(),
                message: format!("{}: {message}", config_path.display()),
            })?;
            nodes.push(NodeLayout {
                index,
                removed: home.join(REMOVED_MARKER).exists(),
                home,
                api_addr: config.api_addr,
                p2p_addr: config.p2p_listen,
            });
        }
        let admin_key = dir.join(ADMIN_KEY);
        let clients = read_clients(&dir.join(CLIENTS_DIR))?;
        Ok(Layout {
            dir: dir.to_owned(),
            chain_id: genesis.chain_id.to_string(),
            nodes,
            clients,
            admin_key,
        })
    }

    /// Opens `dir` if it holds a testnet, generates one if it does not exist or is
    /// empty, and refuses anything else. The flag says whether it was generated.
    pub fn open_or_generate(dir: &Path, spec: &LayoutSpec) -> Result<(Layout, bool), LayoutError> {
        if dir.exists() && !is_empty_dir(dir)? {
            Layout::open(dir).map(|layout| (layout, false))
        } else {
            Layout::generate(dir, spec).map(|layout| (layout, true))
        }
    }
}

/// Writes `count` new client keys into `clients_dir` (`client0.key`, ...).
pub fn write_client_keys(clients_dir: &Path, count: usize) -> Result<Vec<ClientKey>, KeyFileError> {
    (0..count)
        .map(|k| {
            let key = SigningKey::generate();
            let path = clients_dir.join(format!("client{k}.key"));
            write_key_file(&path, &key)?;
            Ok(ClientKey {
                path,
                address: Address::of(&key.public_key()),
            })
        })
        .collect()
}

fn check_spec(spec: &LayoutSpec) -> Result<(), LayoutError> {
    let bad = |reason| LayoutError::BadSpec {
        nodes: spec.nodes,
        base_port: spec.base_port,
        reason,
    };
    if !(ledger_min_validators()..=P2P_PORT_OFFSET as usize).contains(&spec.nodes) {
        return Err(bad("a testnet has 4 to 100 nodes"));
    }
    if spec.base_port == 0 || u32::from(spec.base_port) + 2 * u32::from(P2P_PORT_OFFSET) > 65_535 {
        return Err(bad("the ports base..base+199 must be valid ports"));
    }
    Ok(())
}

/// The genesis refuses fewer; saying so before generating keys is kinder.
fn ledger_min_validators() -> usize {
    4
}

/// Where node `index` of a testnet with `base_port` lives and listens.
pub fn node_layout(dir: &Path, base_port: u16, index: usize) -> NodeLayout {
    let offset = index as u16;
    NodeLayout {
        index,
        removed: false,
        home: dir.join(format!("node{index}")),
        api_addr: SocketAddr::from(([127, 0, 0, 1], base_port + offset)),
        p2p_addr: format!(
            "/ip4/127.0.0.1/tcp/{}",
            base_port + P2P_PORT_OFFSET + offset
        ),
    }
}

fn genesis(
    spec: &LayoutSpec,
    admin: &SigningKey,
    node_keys: &[SigningKey],
    nodes: &[NodeLayout],
    clients: &[ClientKey],
    dir: &Path,
) -> Result<Genesis, LayoutError> {
    let invalid = |message: String| LayoutError::Invalid {
        dir: dir.to_owned(),
        message,
    };
    let chain_id = ChainId::new(spec.chain_id.clone())
        .map_err(|_| invalid(format!("chain id {:?} is too long", spec.chain_id)))?;
    let validators = node_keys
        .iter()
        .zip(nodes)
        .map(|(key, node)| {
            Ok(ValidatorInfo {
                public_key: key.public_key(),
                p2p_addr: BoundedString::new(node.p2p_addr.clone())
                    .map_err(|_| invalid("p2p address too long".into()))?,
            })
        })
        .collect::<Result<Vec<_>, LayoutError>>()?;
    // The admin pays nothing for governance, but a funded admin can also send
    // transfers by hand.
    let admin_address = Address::of(&admin.public_key());
    let balances = std::iter::once(admin_address)
        .chain(clients.iter().map(|c| c.address))
        .map(|address| GenesisBalance {
            address,
            balance: CLIENT_BALANCE,
        })
        .collect::<Vec<_>>();
    let genesis = Genesis {
        chain_id,
        genesis_time_ms: node::shared::Shared::now_ms(),
        admin: admin.public_key(),
        validators: BoundedVec::new(validators)
            .map_err(|_| invalid("too many validators".into()))?,
        balances: BoundedVec::new(balances).map_err(|_| invalid("too many clients".into()))?,
        consensus: spec.consensus.clone(),
    };
    genesis.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(genesis)
}

fn read_clients(clients_dir: &Path) -> Result<Vec<ClientKey>, LayoutError> {
    if !clients_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut numbered = Vec::new();
    for entry in std::fs::read_dir(clients_dir).map_err(io(clients_dir))? {
        let path = entry.map_err(io(clients_dir))?.path();
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("client"))
            .and_then(|n| n.strip_suffix(".key"))
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(number) = number {
            numbered.push((number, path));
        }
    }
    numbered.sort();
    numbered
        .into_iter()
        .map(|(_, path)| {
            let key = read_key_file(&path)?;
            Ok(ClientKey {
                address: Address::of(&key.public_key()),
                path,
            })
        })
        .collect()
}

/// A base port whose API ports (`base..base+nodes`) and peer ports
/// (`base+100..base+100+nodes`) are free on 127.0.0.1 now, for a throwaway
/// testnet. Another process may still take one before the nodes bind it; the
/// range lies below Linux's ephemeral ports (32768 and up by default), so at least
/// the outgoing connections of the nodes and the tests never do.
pub fn free_base_port(nodes: usize) -> Option<u16> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..200).find_map(|_| {
        let base: u16 = rng.gen_range(20_000..32_500);
        let ports = (0..nodes as u16).flat_map(|i| [base + i, base + P2P_PORT_OFFSET + i]);
        // Hold every listener until all are checked, so no port is counted twice.
        let held: Option<Vec<_>> = ports
            .map(|port| std::net::TcpListener::bind(("127.0.0.1", port)).ok())
            .collect();
        held.map(|_| base)
    })
}

fn is_empty_dir(dir: &Path) -> Result<bool, LayoutError> {
    if !dir.is_dir() {
        return Ok(false);
    }
    Ok(std::fs::read_dir(dir).map_err(io(dir))?.next().is_none())
}

fn write_file(path: &Path, text: &str) -> Result<(), LayoutError> {
    std::fs::write(path, text).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> LayoutSpec {
        LayoutSpec {
            clients: 5,
            ..LayoutSpec::default()
        }
    }

    #[test]
    fn a_generated_testnet_loads_as_four_validator_homes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        let layout = Layout::generate(&dir, &small()).unwrap();

        let genesis = Genesis::load(&dir.join("genesis.json")).unwrap();
        assert_eq!(genesis.chain_id.as_str(), CHAIN_ID);
        assert_eq!(genesis.validators.len(), 4);
        assert_eq!(genesis.consensus, ConsensusParams::default());
        for (i, node) in layout.nodes.iter().enumerate() {
            let home = Home::load(&node.home).unwrap();
            assert_eq!(
                genesis.validators[i].public_key,
                home.key.public_key(),
                "node{i}'s key is validator {i}"
            );
            assert_eq!(home.genesis, genesis);
            assert_eq!(
                home.config.api_addr.to_string(),
                format!("127.0.0.1:{}", 8000 + i)
            );
            let p2p = format!("/ip4/127.0.0.1/tcp/{}", 8100 + i);
            assert_eq!(home.config.p2p_listen, p2p);
            assert_eq!(genesis.validators[i].p2p_addr.as_str(), p2p);
            assert_eq!(home.data_dir(), node.home.join("data"));
        }
        let admin = read_key_file(&dir.join("admin.key")).unwrap();
        assert_eq!(genesis.admin, admin.public_key());
        assert_eq!(layout.clients.len(), 5);
        for (k, client) in layout.clients.iter().enumerate() {
            assert_eq!(client.path, dir.join(format!("clients/client{k}.key")));
            let key = client.load().unwrap();
            assert_eq!(client.address, Address::of(&key.public_key()));
            assert!(genesis
                .balances
                .iter()
                .any(|b| b.address == client.address && b.balance == CLIENT_BALANCE));
        }
    }

    #[test]
    fn an_existing_testnet_is_reopened_as_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = LayoutSpec {
            nodes: 5,
            base_port: 9100,
            ..small()
        };
        let written = Layout::generate(tmp.path(), &spec).unwrap();
        let genesis_before = std::fs::read(tmp.path().join("genesis.json")).unwrap();
        // Other flags do not regenerate: the directory wins.
        let (opened, created) = Layout::open_or_generate(tmp.path(), &small()).unwrap();
        assert!(!created);
        assert_eq!(opened.nodes, written.nodes);
        assert_eq!(opened.clients, written.clients);
        assert_eq!(opened.chain_id, CHAIN_ID);
        assert_eq!(opened.nodes[4].api_url(), "http://127.0.0.1:9104");
        assert_eq!(
            std::fs::read(tmp.path().join("genesis.json")).unwrap(),
            genesis_before
        );
    }

    #[test]
    fn added_nodes_are_opened_and_removed_ones_marked() {
        let tmp = tempfile::tempdir().unwrap();
        Layout::generate(tmp.path(), &small()).unwrap();
        // What `testnet add-node` writes for node 4, and `remove-node --id 1` marks.
        let node4 = node_layout(tmp.path(), 8000, 4);
        std::fs::create_dir_all(&node4.home).unwrap();
        let config = NodeConfig {
            api_addr: node4.api_addr,
            p2p_listen: node4.p2p_addr.clone(),
            ..NodeConfig::default()
        };
        std::fs::write(node4.home.join(Home::CONFIG), config.to_toml()).unwrap();
        std::fs::write(tmp.path().join("node1").join(REMOVED_MARKER), "").unwrap();
        let opened = Layout::open(tmp.path()).unwrap();
        assert_eq!(opened.nodes.len(), 5);
        assert_eq!(opened.nodes[4], node4);
        assert_eq!(opened.nodes[4].api_url(), "http://127.0.0.1:8004");
        let removed: Vec<bool> = opened.nodes.iter().map(|n| n.removed).collect();
        assert_eq!(removed, [false, true, false, false, false]);
        // A genesis validator's home is still required.
        std::fs::remove_file(tmp.path().join("node2").join(Home::CONFIG)).unwrap();
        assert!(matches!(
            Layout::open(tmp.path()),
            Err(LayoutError::NotATestnet { .. })
        ));
    }

    #[test]
    fn a_directory_that_is_not_a_testnet_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        let error = Layout::open_or_generate(tmp.path(), &small()).unwrap_err();
        assert!(matches!(error, LayoutError::NotATestnet { .. }), "{error}");
        assert!(error.to_string().contains("genesis.json"), "{error}");
        assert!(matches!(
            Layout::generate(tmp.path(), &small()),
            Err(LayoutError::NotEmpty { .. })
        ));
    }

    #[test]
    fn an_empty_directory_is_generated_into() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, created) = Layout::open_or_generate(tmp.path(), &small()).unwrap();
        assert!(created);
        assert!(tmp.path().join("node3/node.key").is_file());
    }

    #[test]
    fn a_free_base_port_has_every_port_free() {
        let base = free_base_port(4).unwrap();
        for port in [base, base + 3, base + 100, base + 103] {
            drop(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
        }
    }

    #[test]
    fn impossible_specs_are_refused_before_writing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        for spec in [
            LayoutSpec {
                nodes: 3,
                ..small()
            },
            LayoutSpec {
                base_port: 65_400,
                ..small()
            },
            LayoutSpec {
                base_port: 0,
                ..small()
            },
        ] {
            assert!(matches!(
                Layout::generate(&dir, &spec),
                Err(LayoutError::BadSpec { .. })
            ));
        }
        assert!(!dir.exists());
    }
}
