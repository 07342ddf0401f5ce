//! `testnet add-node` and `testnet remove-node` (issue 7): grow and shrink a running
//! local testnet.
//!
//! - `add-node` writes node N (N = the nodes the directory holds: a key, a config
//!   with API `base + N` and peers on `base + 100 + N`, the genesis), submits the
//!   AddValidator signed by `DIR/admin.key` to the first node still in, waits until
//!   it commits, then starts `rbft start --home DIR/nodeN` in the background, its
//!   output in `DIR/nodeN/node.log` and its pid in `DIR/nodeN/node.pid`.
//! - `remove-node --id I` submits the RemoveValidator for node I's key to another
//!   node, waits until it commits and then until I is no longer in `/validators`
//!   (the removal has taken effect), marks `DIR/nodeI/removed`, and stops node I's
//!   process (the one its pid file names, if it is still that node).
//!
//! `testnet up` on the directory starts every node not marked removed, and on
//! Ctrl-C stops the nodes `add-node` started too (through their pid files).

use crate::layout::{node_layout, Layout, LayoutError, NodeLayout, NODE_PID, REMOVED_MARKER};
use crate::procs::{spawn_logged, SpawnFailure, STOP_GRACE};
use crypto::keyfile::{read_key_file, write_key_file, KeyFileError};
use crypto::{BoundedString, PublicKey, SigningKey};
use ledger::{TxKind, ValidatorInfo};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::client::{Client, ClientError, Timeouts};
use node::config::{Home, NodeConfig};
use node::governance::{self, GovernanceError};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How long the governance transaction has to commit.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a removal has to take effect (its switch height to pass).
pub const REMOVAL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a started node has to answer on its API.
const API_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// Why a node could not be added or removed.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the testnet already has {nodes} nodes; ports allow at most 100")]
    Full { nodes: usize },
    #[error("no node {id} in {dir} (it has {nodes})")]
    NoSuchNode {
        id: usize,
        dir: PathBuf,
        nodes: usize,
    },
    #[error("node {id} was already removed")]
    AlreadyRemoved { id: usize },
    #[error("no other node is left to submit to")]
    NoNodeLeft,
    #[error("governance: {0}")]
    Governance(#[from] GovernanceError),
    #[error("node {id} is still in {url}/validators after {waited_s} s")]
    StillMember {
        id: usize,
        url: String,
        waited_s: u64,
    },
    #[error("{url}: {source}")]
    Client {
        url: String,
        #[source]
        source: ClientError,
    },
    #[error("cannot start node {id} ({program}): {source}")]
    Spawn {
        id: usize,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("node {id} exited at once; see {}", log.display())]
    ExitedAtOnce { id: usize, log: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MembershipError + '_ {
    move |source| MembershipError::Io {
        path: path.to_owned(),
        source,
    }
}

fn client(node: &NodeLayout) -> Client {
    Client::with_timeouts(
        &node.api_url(),
        Timeouts {
            connect: Duration::from_secs(1),
            call: Duration::from_secs(5),
        },
    )
}

/// What `add-node` did.
#[derive(Debug, Clone)]
pub struct AddedNode {
    pub node: NodeLayout,
    pub public_key: PublicKey,
    /// The height the AddValidator committed at.
    pub height: u64,
    pub pid: u32,
}

/// `testnet add-node`: see the module documentation.
pub fn add_node(dir: &Path, rbft_bin: &Path) -> Result<AddedNode, MembershipError> {
    let layout = Layout::open(dir)?;
    let index = layout.nodes.len();
    if index >= usize::from(crate::layout::P2P_PORT_OFFSET) {
        return Err(MembershipError::Full { nodes: index });
    }
    let submit_to = layout
        .nodes
        .iter()
        .find(|n| !n.removed)
        .ok_or(MembershipError::NoNodeLeft)?;
    let base_port = layout.nodes[0].api_addr.port();
    let node = node_layout(dir, base_port, index);
    let key = SigningKey::generate();
    write_home(&layout, &node, &key)?;
    let validator = ValidatorInfo {
        public_key: key.public_key(),
        p2p_addr: BoundedString::new(node.p2p_addr.clone())
            .expect("a 127.0.0.1 multiaddress is short"),
    };
    let committed = submit_and_wait(&layout, submit_to, TxKind::AddValidator { validator });
    let height = match committed {
        Ok(height) => height,
        Err(e) => {
            // Not authorised: the directory must not look like a node of the chain.
            let _ = std::fs::remove_dir_all(&node.home);
            return Err(e);
        }
    };
    let mut child = spawn_detached(rbft_bin, &node)?;
    let pid = child.id();
    wait_for_api(&node, &mut child)?;
    // Dropping a `Child` neither waits for nor stops it: the node runs on.
    drop(child);
    Ok(AddedNode {
        node,
        public_key: key.public_key(),
        height,
        pid,
    })
}

fn write_home(layout: &Layout, node: &NodeLayout, key: &SigningKey) -> Result<(), MembershipError> {
    std::fs::create_dir_all(&node.home).map_err(io(&node.home))?;
    let config = NodeConfig {
        api_addr: node.api_addr,
        p2p_listen: node.p2p_addr.clone(),
        data_dir: PathBuf::from("data"),
        ..NodeConfig::default()
    };
    let config_path = node.home.join(Home::CONFIG);
    std::fs::write(&config_path, config.to_toml()).map_err(io(&config_path))?;
    write_key_file(&node.home.join(Home::KEY), key)?;
    let genesis = layout.dir.join(Home::GENESIS);
    std::fs::copy(&genesis, node.home.join(Home::GENESIS)).map_err(io(&genesis))?;
    Ok(())
}

fn submit_and_wait(layout: &Layout, to: &NodeLayout, kind: TxKind) -> Result<u64, MembershipError> {
    let admin = governance::read_admin_key(&layout.admin_key)?;
    let client = client(to);
    let hash = governance::submit(&client, &admin, kind)?;
    Ok(governance::wait_committed(&client, &hash, COMMIT_TIMEOUT)?)
}

/// Starts `rbft start --home` for `node` in its own process group, not supervised
/// by this process (which exits); records its pid.
fn spawn_detached(rbft_bin: &Path, node: &NodeLayout) -> Result<Child, MembershipError> {
    let log = node.log_path();
    let mut command = Command::new(rbft_bin);
    command.arg("start").arg("--home").arg(&node.home);
    let banner = format!("--- testnet add-node: starting node {} ---", node.index);
    let child = spawn_logged(command, &log, &banner).map_err(|failure| match failure {
        SpawnFailure::Log(source) => io(&log)(source),
        SpawnFailure::Start(source) => MembershipError::Spawn {
            id: node.index,
            program: rbft_bin.to_owned(),
            source,
        },
    })?;
    let pid_path = node.pid_path();
    std::fs::write(&pid_path, format!("{}\n", child.id())).map_err(io(&pid_path))?;
    Ok(child)
}

/// Waits until the node answers on its API. Its exit is read from the child
/// itself: right after the fork `/proc/PID/cmdline` is still this tool's.
fn wait_for_api(node: &NodeLayout, child: &mut Child) -> Result<(), MembershipError> {
    let client = client(node);
    let deadline = Instant::now() + API_TIMEOUT;
    loop {
        if child.try_wait().ok().flatten().is_some() {
            return Err(MembershipError::ExitedAtOnce {
                id: node.index,
                log: node.log_path(),
            });
        }
        match client.health() {
            Ok(_) => return Ok(()),
            Err(source) if Instant::now() >= deadline => {
                return Err(MembershipError::Client {
                    url: node.api_url(),
                    source,
                })
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// What `remove-node` did.
#[derive(Debug, Clone)]
pub struct RemovedNode {
    pub id: usize,
    pub public_key: PublicKey,
    /// The height the RemoveValidator committed at.
    pub height: u64,
    /// Whether a running process of the node was stopped.
    pub stopped: bool,
}

/// `testnet remove-node --id I`: see the module documentation.
pub fn remove_node(dir: &Path, id: usize) -> Result<RemovedNode, MembershipError> {
    let layout = Layout::open(dir)?;
    let node = layout
        .nodes
        .get(id)
        .ok_or_else(|| MembershipError::NoSuchNode {
            id,
            dir: dir.to_owned(),
            nodes: layout.nodes.len(),
        })?;
    if node.removed {
        return Err(MembershipError::AlreadyRemoved { id });
    }
    let public_key = read_key_file(&node.home.join(Home::KEY))?.public_key();
    let submit_to = layout
        .nodes
        .iter()
        .find(|n| !n.removed && n.index != id)
        .ok_or(MembershipError::NoNodeLeft)?;
    let height = submit_and_wait(&layout, submit_to, TxKind::RemoveValidator { public_key })?;
    wait_until_out(submit_to, id, &public_key)?;
    let marker = node.home.join(REMOVED_MARKER);
    std::fs::write(&marker, format!("removed at height {height}\n")).map_err(io(&marker))?;
    let stopped = stop_node_process(node);
    Ok(RemovedNode {
        id,
        public_key,
        height,
        stopped,
    })
}

/// Waits until `key` is no longer among the validators `node` reports in force.
fn wait_until_out(node: &NodeLayout, id: usize, key: &PublicKey) -> Result<(), MembershipError> {
    let client = client(node);
    let deadline = Instant::now() + REMOVAL_TIMEOUT;
    loop {
        let info = client
            .validators()
            .map_err(|source| MembershipError::Client {
                url: node.api_url(),
                source,
            })?;
        if !info.validators.iter().any(|v| v.public_key == *key) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(MembershipError::StillMember {
                id,
                url: node.api_url(),
                waited_s: REMOVAL_TIMEOUT.as_secs(),
            });
        }
        std::thread::sleep(POLL * 5);
    }
}

/// The pid a node's pid file names, if that process is still this node (`rbft
/// start --home` of its home directory: a pid may have been reused).
pub fn running_pid(node: &NodeLayout) -> Option<u32> {
    let text = std::fs::read_to_string(node.home.join(NODE_PID)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_node_process(pid, &node.home).then_some(pid)
}

fn is_node_process(pid: u32, home: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    // A zombie (exited, not yet reaped) has an empty command line.
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let home = home.as_os_str().as_encoded_bytes();
    args.windows(3)
        .any(|w| w[0] == b"start" && w[1] == b"--home" && w[2] == home)
}

/// Stops the node's process (SIGTERM, SIGKILL after the grace period) if its pid
/// file names a running process of this node. Returns whether one was stopped.
pub fn stop_node_process(node: &NodeLayout) -> bool {
    let Some(pid) = running_pid(node) else {
        return false;
    };
    let target = Pid::from_raw(pid as i32);
    let _ = kill(target, Signal::SIGTERM);
    let deadline = Instant::now() + STOP_GRACE;
    while is_node_process(pid, &node.home) {
        if Instant::now() >= deadline {
            let _ = kill(target, Signal::SIGKILL);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_process_of_that_home_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("node4");
        // Our own process is not `rbft start --home node4`.
        assert!(!is_node_process(std::process::id(), &home));
        assert!(!is_node_process(u32::MAX - 1, &home));
        let node = node_layout(tmp.path(), 9000, 4);
        std::fs::create_dir_all(&node.home).unwrap();
        std::fs::write(node.pid_path(), format!("{}\n", std::process::id())).unwrap();
        assert_eq!(running_pid(&node), None);
        assert!(!stop_node_process(&node));
    }
}
