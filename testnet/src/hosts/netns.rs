//! The wires between the hosts: one Linux network namespace per host, each with
//! its own network stack and one interface (`eth0`, an end of a veth pair) whose
//! other end is a port of a bridge in the namespace that made them. The bridge
//! holds the first address of the hosts' /24 subnet, so the tool (and anyone on
//! this machine) reaches every host's API directly, as a machine on the same LAN
//! would.
//!
//! ```text
//!   this namespace          bridge PREFIXbr 10.A.B.1/24
//!                             |            |            |
//!                          PREFIXv0     PREFIXv1     PREFIXv2 ...
//!   host namespaces      PREFIXh0     PREFIXh1     PREFIXh2
//!                        eth0 10.A.B.10  eth0 .11    eth0 .12 ...
//! ```
//!
//! Each host also has a DNS name, `hI.PREFIX.test`, which every host resolves
//! through its own `/etc/hosts`: `ip netns exec` mounts `/etc/netns/NETNS/hosts`
//! there, and this module writes that file for each namespace. Cards can then
//! carry names instead of addresses, as they would between real machines.
//!
//! Names carry a prefix picked at random among those not in use, so that several
//! networks (tests running side by side) never meet. [`HostNet::remove`] deletes
//! the namespaces (which takes their veth ends and rules with them) and the bridge;
//! dropping a [`HostNet`] does so unless it was [`HostNet::keep`]-ed.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `ip netns exec` finds the files it mounts over `/etc` in a namespace.
const NETNS_ETC: &str = "/etc/netns";

/// The host part of the first host's address: hosts are 10.A.B.10, .11, ...
const FIRST_HOST: u8 = 10;
/// At most this many hosts fit the subnet after [`FIRST_HOST`].
pub const MAX_HOSTS: usize = 200;
/// How many random prefixes to try before giving up.
const PREFIX_TRIES: usize = 64;

/// Why the hosts' network could not be made or changed.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot run `{program}` ({source}); the hosts need iproute2 (`ip`, `tc`) and nftables (`nft`): `make deps` installs them")]
    Missing {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {stderr}{hint}")]
    Failed {
        command: String,
        stderr: String,
        hint: &'static str,
    },
    #[error("{hosts} hosts: between 1 and {MAX_HOSTS} fit one network")]
    TooMany { hosts: usize },
    #[error("no free name prefix and subnet found after {PREFIX_TRIES} tries; remove stale networks with `testnet hosts down`")]
    NoPrefix,
}

const ROOT_HINT: &str = " (network namespaces need root, or CAP_NET_ADMIN and CAP_SYS_ADMIN)";

/// Runs `program args...`, returning its stdout.
pub fn run(program: &str, args: &[&str]) -> Result<String, NetnsError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| NetnsError::Missing {
            program: program.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let hint = if stderr.contains("Operation not permitted") || stderr.contains("Permission denied")
    {
        ROOT_HINT
    } else {
        ""
    };
    Err(NetnsError::Failed {
        command: format!("{program} {}", args.join(" ")),
        stderr,
        hint,
    })
}

/// One host's end of the wires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostIf {
    /// The network namespace (`ip netns exec NETNS ...`).
    pub netns: String,
    /// The veth end on the bridge, in the namespace that made the network.
    pub veth: String,
    /// The host's address, on its `eth0`.
    pub ip: Ipv4Addr,
}

/// The namespaces, veths and bridge of one network of hosts.
#[derive(Debug, Serialize, Deserialize)]
pub struct HostNet {
    pub prefix: String,
    pub bridge: String,
    /// The bridge's address: where the hosts see this machine's tools come from.
    pub gateway: Ipv4Addr,
    pub hosts: Vec<HostIf>,
    /// More names than `hI.PREFIX.test`: (host, name), in every host's
    /// `/etc/hosts` too ([`HostNet::add_name`]).
    #[serde(default)]
    pub names: Vec<(usize, String)>,
    /// Whether dropping this leaves the network in place (`testnet hosts down`
    /// removes it later).
    #[serde(skip)]
    keep: bool,
}

impl HostNet {
    /// Makes `hosts` namespaces on a new bridge.
    pub fn create(hosts: usize) -> Result<HostNet, NetnsError> {
        if hosts == 0 || hosts > MAX_HOSTS {
            return Err(NetnsError::TooMany { hosts });
        }
        let (prefix, subnet) = free_prefix()?;
        let [a, b] = subnet;
        let mut net = HostNet {
            bridge: format!("{prefix}br"),
            gateway: Ipv4Addr::new(10, a, b, 1),
            hosts: Vec::with_capacity(hosts),
            names: Vec::new(),
            prefix: prefix.clone(),
            keep: false,
        };
        // Whatever fails below, dropping `net` removes what was made so far.
        run("ip", &["link", "add", &net.bridge, "type", "bridge"])?;
        let gateway = format!("{}/24", net.gateway);
        run("ip", &["addr", "add", &gateway, "dev", &net.bridge])?;
        run("ip", &["link", "set", &net.bridge, "up"])?;
        for i in 0..hosts {
            let host = HostIf {
                netns: format!("{prefix}h{i}"),
                veth: format!("{prefix}v{i}"),
                ip: Ipv4Addr::new(10, a, b, FIRST_HOST + i as u8),
            };
            run("ip", &["netns", "add", &host.netns])?;
            net.hosts.push(host.clone());
            run(
                "ip",
                &[
                    "link",
                    "add",
                    &host.veth,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    &host.netns,
                ],
            )?;
            run(
                "ip",
                &["link", "set", &host.veth, "master", &net.bridge, "up"],
            )?;
            let addr = format!("{}/24", host.ip);
            run(
                "ip",
                &["-n", &host.netns, "addr", "add", &addr, "dev", "eth0"],
            )?;
            run("ip", &["-n", &host.netns, "link", "set", "eth0", "up"])?;
            run("ip", &["-n", &host.netns, "link", "set", "lo", "up"])?;
        }
        net.write_hosts_files()?;
        Ok(net)
    }

    /// Host `i`'s DNS name.
    pub fn dns_name(&self, i: usize) -> String {
        format!("h{i}.{}.test", self.prefix)
    }

    /// Gives host `i` one more name, which every host resolves from now on: a
    /// walkthrough's machine names (`val1.consortium.test`) stay private to this
    /// network, since each namespace reads its own `/etc/hosts`.
    pub fn add_name(&mut self, i: usize, name: &str) -> Result<(), NetnsError> {
        assert!(i < self.hosts.len(), "host {i} of {}", self.hosts.len());
        self.names.push((i, name.to_owned()));
        self.write_hosts_files()
    }

    fn hosts_file_dir(netns: &str) -> PathBuf {
        Path::new(NETNS_ETC).join(netns)
    }

    /// `/etc/netns/NETNS/hosts` for every host: localhost and every host's name.
    fn write_hosts_files(&self) -> Result<(), NetnsError> {
        let mut table = String::from("127.0.0.1 localhost\n");
        for (i, host) in self.hosts.iter().enumerate() {
            table.push_str(&format!("{} {}\n", host.ip, self.dns_name(i)));
        }
        for (i, name) in &self.names {
            table.push_str(&format!("{} {name}\n", self.hosts[*i].ip));
        }
        for host in &self.hosts {
            let dir = Self::hosts_file_dir(&host.netns);
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(dir.join("hosts"), &table))
                .map_err(|source| NetnsError::Missing {
                    program: format!("writing {}/hosts", dir.display()),
                    source,
                })?;
        }
        Ok(())
    }

    /// Leaves the network in place when this value is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Deletes every namespace and the bridge; what is already gone is skipped.
    /// Processes still running in a namespace lose its network, not their lives:
    /// stop them first.
    pub fn remove(&self) -> Result<(), NetnsError> {
        let mut first_error = None;
        for host in &self.hosts {
            let _ = std::fs::remove_dir_all(Self::hosts_file_dir(&host.netns));
            if let Err(e) = run("ip", &["netns", "del", &host.netns]) {
                if netns_exists(&host.netns) {
                    first_error.get_or_insert(e);
                }
            }
        }
        if link_exists(&self.bridge) {
            if let Err(e) = run("ip", &["link", "del", &self.bridge]) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// `ip netns exec NETNS program args...` in host `i`.
    pub fn exec(&self, i: usize, program: &str, args: &[&str]) -> Result<String, NetnsError> {
        let mut all = vec!["netns", "exec", self.hosts[i].netns.as_str(), program];
        all.extend_from_slice(args);
        run("ip", &all)
    }
}

impl Drop for HostNet {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = self.remove() {
                eprintln!("testnet: removing the hosts' network {}: {e}", self.prefix);
            }
        }
    }
}

fn netns_exists(name: &str) -> bool {
    std::path::Path::new("/run/netns").join(name).exists()
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// A prefix `rbXXXX` no namespace or link uses, and a subnet 10.A.B.0/24 no
/// address of this machine is in.
fn free_prefix() -> Result<(String, [u8; 2]), NetnsError> {
    let addresses = run("ip", &["-4", "-o", "addr", "show"])?;
    for _ in 0..PREFIX_TRIES {
        let id: u16 = rand::random();
        let prefix = format!("rb{id:04x}");
        // 10.200.0.0 to 10.249.255.0: away from the usual 10.0.x and 10.1.x.
        let subnet = [200 + (id >> 8) as u8 % 50, id as u8];
        let taken_subnet = format!(" 10.{}.{}.", subnet[0], subnet[1]);
        if netns_exists(&format!("{prefix}h0"))
            || link_exists(&format!("{prefix}br"))
            || addresses.contains(&taken_subnet)
        {
            continue;
        }
        return Ok((prefix, subnet));
    }
    Err(NetnsError::NoPrefix)
}
