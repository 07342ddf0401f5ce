//! Faults on the wires between hosts: which host's packets another host drops
//! (partitions), how many it drops at random (loss), and a bandwidth cap.
//!
//! Each host filters what it receives with its own nftables table (`inet rbft`,
//! an `input` hook), so a rule lives and dies with its namespace, and packets from
//! the bridge's address (this machine's tools reading the APIs) are never touched.
//! A partition drops everything from the other side; loss on the link A-B drops
//! that share of what A receives from B and of what B receives from A
//! (`numgen random mod 10000 < basis points`). [`Faults::apply`] rewrites every
//! host's table in one `nft -f` transaction each, so a change is never half made.
//!
//! The cap is a token bucket (`tc qdisc tbf`) on both ends of each host's veth:
//! what the host sends and what it receives are each limited to the rate.
//!
//! Latency is not covered: this kernel has no netem, and a delaying relay would
//! sit in front of TCP rather than delay packets; the cap's queue (50 ms at most)
//! is the only delay the hosts see.

use super::netns::{run, HostNet, NetnsError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Loss is given in basis points: 200 = 2%.
pub const BASIS_POINTS: u32 = 10_000;
/// The longest a capped link queues a packet before dropping it.
const CAP_LATENCY: &str = "50ms";

/// The faults in force, as a whole: applying it replaces what was there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// `(from, to)`: host `to` drops every packet from host `from`.
    pub blocked: BTreeSet<(usize, usize)>,
    /// `(from, to)` → basis points of the packets from `from` that `to` drops.
    pub loss: BTreeMap<String, u32>,
    /// The bandwidth cap per host and direction, in Mbit/s.
    pub cap_mbit: Option<u32>,
}

fn link_key(from: usize, to: usize) -> String {
    format!("{from}>{to}")
}

impl Faults {
    /// Splits the hosts into `groups`: no packet crosses from one group to another.
    /// Hosts in no group are cut off from every other host. Replaces the previous
    /// partition.
    pub fn partition(&mut self, hosts: usize, groups: &[Vec<usize>]) {
        let group_of = |h: usize| groups.iter().position(|g| g.contains(&h));
        self.blocked.clear();
        for from in 0..hosts {
            for to in 0..hosts {
                if from != to && (group_of(from).is_none() || group_of(from) != group_of(to)) {
                    self.blocked.insert((from, to));
                }
            }
        }
    }

    /// Cuts host `alone` off from every other host.
    pub fn isolate(&mut self, hosts: usize, alone: usize) {
        let rest: Vec<usize> = (0..hosts).filter(|&h| h != alone).collect();
        self.partition(hosts, &[vec![alone], rest]);
    }

    /// Ends every partition.
    pub fn heal_partitions(&mut self) {
        self.blocked.clear();
    }

    /// Drops `basis_points` in 10,000 of the packets on the link between `a` and
    /// `b`, both ways; 0 ends the loss.
    pub fn set_loss(&mut self, a: usize, b: usize, basis_points: u32) {
        for key in [link_key(a, b), link_key(b, a)] {
            if basis_points == 0 {
                self.loss.remove(&key);
            } else {
                self.loss.insert(key, basis_points.min(BASIS_POINTS));
            }
        }
    }

    /// [`Faults::set_loss`] on every link between the hosts.
    pub fn set_loss_everywhere(&mut self, hosts: usize, basis_points: u32) {
        for a in 0..hosts {
            for b in a + 1..hosts {
                self.set_loss(a, b, basis_points);
            }
        }
    }

    /// Whether any fault is in force.
    pub fn any(&self) -> bool {
        !self.blocked.is_empty() || !self.loss.is_empty() || self.cap_mbit.is_some()
    }

    /// The nftables script that makes host `to`'s table what these faults say.
    pub fn ruleset(&self, net: &HostNet, to: usize) -> String {
        let mut rules = String::new();
        for (from, host) in net.hosts.iter().enumerate() {
            if from == to {
                continue;
            }
            if self.blocked.contains(&(from, to)) {
                let _ = writeln!(rules, "    ip saddr {} drop", host.ip);
            } else if let Some(bp) = self.loss.get(&link_key(from, to)) {
                let _ = writeln!(
                    rules,
                    "    ip saddr {} numgen random mod {BASIS_POINTS} < {bp} drop",
                    host.ip
                );
            }
        }
        // Declaring the table first makes the delete succeed on a host without one.
        format!(
            "table inet rbft\ndelete table inet rbft\ntable inet rbft {{\n  chain input {{\n    type filter hook input priority 0; policy accept;\n{rules}  }}\n}}\n"
        )
    }

    /// Makes every host's rules and caps what these faults say.
    pub fn apply(&self, net: &HostNet) -> Result<(), NetnsError> {
        for i in 0..net.hosts.len() {
            let script = self.ruleset(net, i);
            let path = std::env::temp_dir().join(format!("{}-h{i}.nft", net.prefix));
            std::fs::write(&path, script).map_err(|source| NetnsError::Missing {
                program: format!("writing {}", path.display()),
                source,
            })?;
            let applied = net.exec(i, "nft", &["-f", &path.to_string_lossy()]);
            let _ = std::fs::remove_file(&path);
            applied?;
        }
        self.apply_cap(net)
    }

    fn apply_cap(&self, net: &HostNet) -> Result<(), NetnsError> {
        for (i, host) in net.hosts.iter().enumerate() {
            match self.cap_mbit {
                Some(mbit) => {
                    let rate = format!("{mbit}mbit");
                    // A burst of at least one MTU per timer tick at this rate.
                    let burst = format!("{}kb", (mbit / 8).max(32));
                    let tbf = [
                        "qdisc",
                        "replace",
                        "dev",
                        "",
                        "root",
                        "tbf",
                        "rate",
                        &rate,
                        "burst",
                        &burst,
                        "latency",
                        CAP_LATENCY,
                    ];
                    let mut inside = tbf;
                    inside[3] = "eth0";
                    net.exec(i, "tc", &inside)?;
                    let mut outside = tbf;
                    outside[3] = &host.veth;
                    run("tc", &outside)?;
                }
                None => {
                    // Back to the default qdisc; there may be no tbf to delete.
                    let _ = net.exec(i, "tc", &["qdisc", "del", "dev", "eth0", "root"]);
                    let _ = run("tc", &["qdisc", "del", "dev", &host.veth, "root"]);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_blocks_both_ways_across_groups_only() {
        let mut faults = Faults::default();
        faults.partition(4, &[vec![0, 1], vec![2, 3]]);
        for (a, b) in [(0, 2), (0, 3), (1, 2), (1, 3)] {
            assert!(faults.blocked.contains(&(a, b)) && faults.blocked.contains(&(b, a)));
        }
        assert!(!faults.blocked.contains(&(0, 1)));
        assert!(!faults.blocked.contains(&(2, 3)));
        assert_eq!(faults.blocked.len(), 8);
        faults.isolate(4, 0);
        assert_eq!(faults.blocked.len(), 6, "0 to and from each of 3");
        assert!(!faults.blocked.contains(&(1, 2)));
        faults.heal_partitions();
        assert!(!faults.any());
    }

    #[test]
    fn loss_is_per_link_both_ways_and_zero_ends_it() {
        let mut faults = Faults::default();
        faults.set_loss_everywhere(4, 200);
        assert_eq!(faults.loss.len(), 12);
        faults.set_loss(1, 2, 0);
        assert_eq!(faults.loss.len(), 10);
        assert_eq!(faults.loss.get("2>1"), None);
        assert_eq!(faults.loss.get("3>1"), Some(&200));
        faults.set_loss(0, 1, 20_000);
        assert_eq!(faults.loss.get("0>1"), Some(&BASIS_POINTS));
    }
}
