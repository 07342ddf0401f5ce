//! `testnet hosts up | fault | down` and `testnet chaos`: the command line around
//! the library's [`hosts`](testnet::hosts) and [`chaos`](testnet::chaos).

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;
use testnet::chaos::{run_chaos, ChaosOptions, ChaosReport, Step};
use testnet::hosts::build::BuildSpec;
use testnet::hosts::faults::{Faults, BASIS_POINTS};
use testnet::hosts::{self, Hosts};
use testnet::layout::{Layout, CLIENT_BALANCE};
use testnet::procs::find_rbft_bin;

use crate::commands::{fail, interrupt_flag};

/// How long the nodes have to commit their first block.
const FIRST_BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// A fault to apply to a running network of hosts.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum FaultCommand {
    /// Split the hosts into groups that cannot reach each other: `0,1/2,3`.
    Partition { groups: String },
    /// Cut one host off from all the others.
    Isolate { host: usize },
    /// Drop this percentage of packets on every link (or on `--link A-B`); 0 ends it.
    Loss {
        percent: f64,
        #[arg(long)]
        link: Option<String>,
    },
    /// Cap every host's bandwidth, each way, to this many Mbit/s; 0 removes the cap.
    Cap { mbit: u32 },
    /// Remove every partition, loss and cap.
    Heal,
    /// kill -9 a host's node.
    Kill { host: usize },
    /// Ask the `hosts up` supervising a host's node to start it again.
    Restart { host: usize },
    /// kill -9 a host's node, delete its data directory and start it again.
    Wipe { host: usize },
}

fn spec(clients: usize, dns_names: bool) -> BuildSpec {
    BuildSpec {
        chain_id: "rbft-hosts".into(),
        clients,
        client_balance: CLIENT_BALANCE,
        params: Vec::new(),
        dns_names,
    }
}

/// Refuses a directory with something in it: the operators' commands build anew.
fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() && dir.read_dir().map_or(true, |mut d| d.next().is_some()) {
        return Err(format!(
            "{} exists and is not empty; the hosts are built anew each time: give a new directory",
            dir.display()
        ));
    }
    Ok(())
}

pub fn up(dir: &Path, nodes: usize, clients: usize, dns_names: bool) -> ExitCode {
    let interrupt = match interrupt_flag() {
        Ok(flag) => flag,
        Err(e) => return fail(e),
    };
    if let Err(e) = fresh_dir(dir) {
        return fail(e);
    }
    let bin = match find_rbft_bin() {
        Ok(bin) => bin,
        Err(e) => return fail(e),
    };
    eprintln!(
        "testnet: making {nodes} hosts and building their network with rbft init and rbft genesis"
    );
    let mut hosts = match Hosts::up(dir, nodes, &bin, &spec(clients, dns_names)) {
        Ok(hosts) => hosts,
        Err(e) => return fail(e),
    };
    hosts.network.set_interrupt(interrupt.clone());
    if let Err(e) = hosts.network.wait_for_first_block(FIRST_BLOCK_TIMEOUT) {
        return fail(e);
    }
    println!(
        "hosts of {} in {} (genesis {})",
        hosts.network.layout.chain_id,
        dir.display(),
        hosts.genesis_hash
    );
    for (i, host) in hosts.net.hosts.iter().enumerate() {
        println!(
            "  host {i}: namespace {}  address {}  name {}  API {}  log {}",
            host.netns,
            host.ip,
            hosts.net.dns_name(i),
            hosts.network.layout.nodes[i].api_url(),
            hosts.network.layout.nodes[i].log_path().display()
        );
    }
    println!(
        "faults: testnet hosts fault --dir {} (partition, isolate, loss, cap, heal, kill, restart, wipe)",
        dir.display()
    );
    println!("Ctrl-C stops every node and removes the namespaces.");
    while !interrupt.load(Ordering::SeqCst) {
        for (i, status) in hosts.network.exited() {
            eprintln!("testnet: host {i}'s node exited ({status})");
        }
        hosts.network.forget_exited();
        match hosts.serve_restart_requests() {
            Ok(started) => {
                for i in started {
                    eprintln!("testnet: host {i}'s node started again");
                }
            }
            Err(e) => eprintln!("testnet: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("testnet: stopping the nodes and removing the namespaces");
    ExitCode::SUCCESS
}

/// `0,1/2,3` as groups of hosts.
fn parse_groups(text: &str) -> Result<Vec<Vec<usize>>, String> {
    text.split('/')
        .map(|group| {
            group
                .split(',')
                .map(|h| {
                    h.trim().parse::<usize>().map_err(|_| {
                        format!("{h:?} in {text:?} is not a host number; write groups as 0,1/2,3")
                    })
                })
                .collect()
        })
        .collect()
}

/// `A-B` as two hosts.
fn parse_link(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--link {text:?}: expected two host numbers, A-B");
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

pub fn fault(dir: &Path, command: &FaultCommand) -> ExitCode {
    match apply_fault(dir, command) {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn apply_fault(dir: &Path, command: &FaultCommand) -> Result<String, String> {
    let (net, mut faults) = hosts::open(dir).map_err(|e| e.to_string())?;
    let n = net.hosts.len();
    let check = |host: usize| {
        if host < n {
            Ok(host)
        } else {
            Err(format!(
                "no host {host}: the network has hosts 0 to {}",
                n - 1
            ))
        }
    };
    let layout = || Layout::open(dir).map_err(|e| e.to_string());
    let said = match command {
        FaultCommand::Partition { groups } => {
            let groups = parse_groups(groups)?;
            for h in groups.iter().flatten() {
                check(*h)?;
            }
            faults.partition(n, &groups);
            format!("partitioned: {groups:?}")
        }
        FaultCommand::Isolate { host } => {
            faults.isolate(n, check(*host)?);
            format!("host {host} cut off")
        }
        FaultCommand::Loss { percent, link } => {
            if !(0.0..=100.0).contains(percent) {
                return Err(format!("loss {percent}%: give 0 to 100"));
            }
            let bp = (percent / 100.0 * f64::from(BASIS_POINTS)).round() as u32;
            match link {
                Some(link) => {
                    let (a, b) = parse_link(link)?;
                    faults.set_loss(check(a)?, check(b)?, bp);
                }
                None => faults.set_loss_everywhere(n, bp),
            }
            format!(
                "loss {percent}% on {}",
                link.as_deref().unwrap_or("every link")
            )
        }
        FaultCommand::Cap { mbit } => {
            faults.cap_mbit = (*mbit > 0).then_some(*mbit);
            format!(
                "cap: {}",
                faults
                    .cap_mbit
                    .map_or("none".into(), |m| format!("{m} Mbit/s"))
            )
        }
        FaultCommand::Heal => {
            faults = Faults::default();
            "healed: no partition, loss or cap".into()
        }
        FaultCommand::Kill { host } => {
            let layout = layout()?;
            let killed = hosts::kill_by_pid_file(&layout.nodes[check(*host)?]);
            return Ok(if killed {
                format!("host {host}'s node killed")
            } else {
                format!("host {host}'s node was not running")
            });
        }
        FaultCommand::Restart { host } => {
            let layout = layout()?;
            hosts::request_restart(&layout.nodes[check(*host)?]).map_err(|e| e.to_string())?;
            return Ok(format!(
                "asked `testnet hosts up` to start host {host}'s node"
            ));
        }
        FaultCommand::Wipe { host } => {
            let layout = layout()?;
            let node = &layout.nodes[check(*host)?];
            hosts::kill_by_pid_file(node);
            // The supervisor may restart it at once; the data goes before we ask.
            std::thread::sleep(Duration::from_millis(200));
            hosts::wipe_data(&node.home).map_err(|e| e.to_string())?;
            hosts::request_restart(node).map_err(|e| e.to_string())?;
            return Ok(format!(
                "host {host}'s node killed, its data deleted, restart asked"
            ));
        }
    };
    hosts::apply_in(dir, &net, &faults).map_err(|e| e.to_string())?;
    Ok(said)
}

pub fn down(dir: &Path) -> ExitCode {
    let (net, _) = match hosts::open(dir) {
        Ok(opened) => opened,
        Err(e) => return fail(e),
    };
    if let Ok(layout) = Layout::open(dir) {
        for node in &layout.nodes {
            hosts::kill_by_pid_file(node);
        }
    }
    match net.remove() {
        Ok(()) => {
            println!("removed the namespaces and bridge of {}", net.prefix);
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// What `testnet chaos` runs.
pub struct ChaosArgs<'a> {
    pub minutes: u64,
    pub rate: u64,
    pub loss_percent: f64,
    pub nodes: usize,
    pub dir: Option<&'a Path>,
    pub json: bool,
}

pub fn chaos(args: &ChaosArgs) -> ExitCode {
    let interrupt = match interrupt_flag() {
        Ok(flag) => flag,
        Err(e) => return fail(e),
    };
    let tmp;
    let dir = match args.dir {
        Some(dir) => {
            if let Err(e) = fresh_dir(dir) {
                return fail(e);
            }
            dir
        }
        None => match tempfile::Builder::new().prefix("rbft-chaos-").tempdir() {
            Ok(made) => {
                tmp = made;
                tmp.path()
            }
            Err(e) => return fail(format!("cannot create a temporary directory: {e}")),
        },
    };
    let bin = match find_rbft_bin() {
        Ok(bin) => bin,
        Err(e) => return fail(e),
    };
    let senders = (args.rate as usize).clamp(10, 1000);
    let mut hosts = match Hosts::up(dir, args.nodes, &bin, &spec(senders, false)) {
        Ok(hosts) => hosts,
        Err(e) => return fail(e),
    };
    hosts.network.set_interrupt(interrupt);
    let options = ChaosOptions {
        rate: args.rate,
        loss_basis_points: (args.loss_percent / 100.0 * f64::from(BASIS_POINTS)).round() as u32,
        steps: Step::cycle(),
        duration: Some(Duration::from_secs(args.minutes * 60)),
        progress: true,
        ..ChaosOptions::default()
    };
    eprintln!(
        "chaos: {} hosts in {}, {} tx/s, {}% loss, {} min",
        args.nodes,
        dir.display(),
        args.rate,
        args.loss_percent,
        args.minutes
    );
    match run_chaos(&mut hosts, &options) {
        Ok(report) => {
            print_report(&report, args.json);
            if report.check_ok && report.lost == 0 && report.converged {
                ExitCode::SUCCESS
            } else {
                fail("the chaos run found a bad ledger, lost transfers or no convergence")
            }
        }
        Err(e) => fail(e),
    }
}

fn print_report(report: &ChaosReport, json: bool) {
    for heal in &report.heals {
        println!(
            "  {:>5} s {:<16} hosts {:?} at height {}: commits resumed after {}, caught up after {}",
            heal.at_s,
            heal.fault,
            heal.hosts,
            heal.height,
            ms(heal.resumed_after_ms),
            ms(heal.caught_up_after_ms)
        );
    }
    println!(
        "faults {:?}; {} accepted, {} committed, {} lost, {} duplicated; tip {} ({}), {} divergent heights; longest resume {}",
        report.faults,
        report.accepted,
        report.committed,
        report.lost,
        report.duplicated,
        report.tip,
        if report.converged { "every node" } else { "NOT converged" },
        report.divergent_heights,
        ms(report.longest_resume_ms)
    );
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("plain data serialises")
        );
    }
}

fn ms(value: Option<u64>) -> String {
    value.map_or("never".into(), |ms| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_links_parse_or_name_the_bad_part() {
        assert_eq!(
            parse_groups("0,1/2,3").unwrap(),
            vec![vec![0, 1], vec![2, 3]]
        );
        assert_eq!(parse_groups("2").unwrap(), vec![vec![2]]);
        let bad = parse_groups("0,x/2").unwrap_err();
        assert!(bad.contains("\"x\""), "{bad}");
        assert_eq!(parse_link("1-3").unwrap(), (1, 3));
        assert!(parse_link("13").unwrap_err().contains("A-B"));
        assert!(parse_link("1-z").is_err());
    }
}
