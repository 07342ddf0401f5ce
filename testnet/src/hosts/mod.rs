//! Hosts on one machine: a network whose nodes each run in their own Linux network
//! namespace, with their own address on a bridge, as separate machines would
//! ([`netns`]); built by the operators' commands, not the loopback layout
//! ([`build`]); and faults between the hosts, applied and removed while it runs
//! ([`faults`]): partitions, loss, a bandwidth cap, and on the nodes themselves
//! kill -9, restart and a wiped data directory.
//!
//! `DIR/hosts.json` names the namespaces and addresses and `DIR/faults.json` the
//! faults in force, so `testnet hosts fault` and `testnet hosts down` can act on a
//! network another `testnet hosts up` runs.

pub mod build;
pub mod faults;
pub mod netns;

use crate::procs::{Network, ProcError};
use build::{BuildError, BuildSpec};
use faults::Faults;
use netns::{HostNet, NetnsError};
use std::path::{Path, PathBuf};

/// The namespaces and addresses of a network of hosts.
pub const HOSTS_FILE: &str = "hosts.json";
/// The faults in force.
pub const FAULTS_FILE: &str = "faults.json";
/// A marker in a node's home: `testnet hosts fault restart` asks the `up` that
/// supervises the node to start it again.
pub const RESTART_REQUEST: &str = "restart-request";

/// Why a network of hosts could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    #[error("cannot make the hosts' network: {0}")]
    Netns(#[from] NetnsError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("no host {host}: the network has hosts 0 to {}", hosts - 1)]
    NoHost { host: usize, hosts: usize },
}

/// A running network of hosts. Dropping it stops the nodes, then removes the
/// namespaces and the bridge (fields drop in order).
#[derive(Debug)]
pub struct Hosts {
    pub network: Network,
    pub faults: Faults,
    pub genesis_hash: String,
    pub net: HostNet,
    dir: PathBuf,
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), HostsError> {
    let text = serde_json::to_string_pretty(value).expect("plain data serialises");
    std::fs::write(path, text).map_err(|e| HostsError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, HostsError> {
    let file = |message: String| HostsError::File {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| file(e.to_string()))
}

impl Hosts {
    /// Makes `hosts` namespaces, builds the network in `dir` with the operators'
    /// commands and starts every node in its namespace. Whatever fails, nothing is
    /// left behind but the directory.
    pub fn up(dir: &Path, hosts: usize, bin: &Path, spec: &BuildSpec) -> Result<Hosts, HostsError> {
        let net = HostNet::create(hosts)?;
        let (layout, genesis_hash) = build::build(dir, &net, bin, spec)?;
        write_json(&dir.join(HOSTS_FILE), &net)?;
        let mut network = Network::new(layout, bin);
        for (i, host) in net.hosts.iter().enumerate() {
            network.set_netns(i, &host.netns);
        }
        let mut hosts = Hosts {
            network,
            faults: Faults::default(),
            genesis_hash,
            net,
            dir: dir.to_owned(),
        };
        hosts.set_faults(Faults::default())?;
        for i in 0..hosts.len() {
            hosts.network.start_node(i)?;
        }
        Ok(hosts)
    }

    pub fn len(&self) -> usize {
        self.net.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.net.hosts.is_empty()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn host(&self, i: usize) -> Result<(), HostsError> {
        if i < self.len() {
            Ok(())
        } else {
            Err(HostsError::NoHost {
                host: i,
                hosts: self.len(),
            })
        }
    }

    /// Puts `faults` in force in place of the current ones.
    pub fn set_faults(&mut self, faults: Faults) -> Result<(), HostsError> {
        faults.apply(&self.net)?;
        write_json(&self.dir.join(FAULTS_FILE), &faults)?;
        self.faults = faults;
        Ok(())
    }

    /// Changes the faults in force with `change`.
    pub fn change_faults(&mut self, change: impl FnOnce(&mut Faults)) -> Result<(), HostsError> {
        let mut faults = self.faults.clone();
        change(&mut faults);
        self.set_faults(faults)
    }

    /// kill -9 of host `i`'s node: a crash.
    pub fn kill(&mut self, i: usize) -> Result<(), HostsError> {
        self.host(i)?;
        self.network.kill_node(i);
        Ok(())
    }

    /// Starts host `i`'s node again (a no-op while it runs).
    pub fn restart(&mut self, i: usize) -> Result<(), HostsError> {
        self.host(i)?;
        Ok(self.network.start_node(i)?)
    }

    /// Starts again every node whose home holds a [`RESTART_REQUEST`] (and removes
    /// it). Returns the nodes started.
    pub fn serve_restart_requests(&mut self) -> Result<Vec<usize>, HostsError> {
        let mut started = Vec::new();
        for i in 0..self.len() {
            let request = self.network.layout.nodes[i].home.join(RESTART_REQUEST);
            if std::fs::remove_file(&request).is_ok() {
                self.network.forget_exited();
                self.restart(i)?;
                started.push(i);
            }
        }
        Ok(started)
    }

    /// Kills host `i`'s node, deletes its data directory (the ledger and the
    /// consensus state; the key, config and genesis stay) and starts it again: it
    /// must recover everything from its peers.
    pub fn wipe(&mut self, i: usize) -> Result<(), HostsError> {
        self.kill(i)?;
        wipe_data(&self.network.layout.nodes[i].home)?;
        self.restart(i)
    }
}

/// Deletes the data directory of the node whose home is `home`.
pub fn wipe_data(home: &Path) -> Result<(), HostsError> {
    let config = node::config::Home::load(home).map_err(|e| HostsError::File {
        path: home.to_owned(),
        message: e.to_string(),
    })?;
    let data = config.data_dir();
    match std::fs::remove_dir_all(&data) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HostsError::File {
            path: data,
            message: e.to_string(),
        }),
    }
}

/// The network and faults of a directory `testnet hosts up` runs, for
/// `testnet hosts fault` and `testnet hosts down`. The [`HostNet`] is kept when
/// dropped: the network belongs to the `up` that made it.
pub fn open(dir: &Path) -> Result<(HostNet, Faults), HostsError> {
    let mut net: HostNet = read_json(&dir.join(HOSTS_FILE))?;
    net.keep();
    let faults_path = dir.join(FAULTS_FILE);
    let faults = if faults_path.exists() {
        read_json(&faults_path)?
    } else {
        Faults::default()
    };
    Ok((net, faults))
}

/// Applies `faults` to the network of `dir` and records them there.
pub fn apply_in(dir: &Path, net: &HostNet, faults: &Faults) -> Result<(), HostsError> {
    faults.apply(net)?;
    write_json(&dir.join(FAULTS_FILE), faults)
}

/// kill -9 of the node of `home` through its pid file (a node another process
/// supervises). Returns whether one was running.
pub fn kill_by_pid_file(node: &crate::layout::NodeLayout) -> bool {
    match crate::membership::running_pid(node) {
        Some(pid) => {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            true
        }
        None => false,
    }
}

/// Asks the `testnet hosts up` supervising `node` to start it again.
pub fn request_restart(node: &crate::layout::NodeLayout) -> Result<(), HostsError> {
    let path = node.home.join(RESTART_REQUEST);
    std::fs::write(&path, b"").map_err(|e| HostsError::File {
        path,
        message: e.to_string(),
    })
}
