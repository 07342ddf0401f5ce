//! Running a local testnet's nodes as child processes (`rbft start --home DIR`).
//!
//! [`ChildProcess`] is one supervised child: its output goes to a log file, it is
//! stopped with SIGTERM, then SIGKILL after a grace period, and it is stopped when
//! dropped, so an error or a panic in the tool leaves no orphan behind. [`Network`]
//! is the nodes of a [`Layout`]: start, wait until they commit, kill one, restart
//! it, stop them all.
//!
//! Children get their own process group, so a Ctrl-C in the terminal reaches only
//! the tool, which then stops every node in order (SIGTERM each, one shared grace
//! period, SIGKILL the rest). A tool killed with SIGKILL cannot do that: its nodes
//! keep running and `testnet up` on the same directory reports their ports in use.

use crate::layout::Layout;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use node::client::{Client, Timeouts};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a node has to stop after SIGTERM before it gets SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often waits look at the children and the nodes.
const POLL: Duration = Duration::from_millis(100);
/// How many lines of a node's log an error quotes.
const LOG_TAIL_LINES: usize = 8;

/// Why a process or a node could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot find the rbft binary (looked for {tried}); build it with `cargo build -p node` or set RBFT_BIN")]
    NoBinary { tried: String },
    #[error("cannot start {name} ({program}): {source}")]
    Spawn {
        name: String,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("node {node} exited ({status}) before reaching height {min_height}; see its log {}:\n{tail}", log.display())]
    Exited {
        node: usize,
        status: ExitStatus,
        min_height: u64,
        log: PathBuf,
        tail: String,
    },
    #[error("node {node} ({url}) did not reach height {min_height} within {timeout_s} s (last: {last}); see its log {}", log.display())]
    NotCommitting {
        node: usize,
        url: String,
        min_height: u64,
        timeout_s: u64,
        last: String,
        log: PathBuf,
    },
    #[error("node {node} is not running")]
    NotRunning { node: usize },
    #[error("interrupted")]
    Interrupted,
}

/// The `rbft` binary: `$RBFT_BIN`, else next to the running executable (or one
/// directory up, where a test executable in `target/debug/deps` finds it).
pub fn find_rbft_bin() -> Result<PathBuf, ProcError> {
    if let Some(bin) = std::env::var_os("RBFT_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(ProcError::NoBinary {
                tried: format!("RBFT_BIN={}", bin.display()),
            })
        };
    }
    let mut tried = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let name = format!("rbft{}", std::env::consts::EXE_SUFFIX);
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(&name);
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
    }
    Err(ProcError::NoBinary {
        tried: tried.join(", "),
    })
}

/// [`find_rbft_bin`], or else `rbft` beside `exe` (a test passes the `testnet`
/// binary cargo built for it, which sits in the same directory).
pub fn find_rbft_bin_or_beside(exe: &Path) -> Result<PathBuf, ProcError> {
    find_rbft_bin().or_else(|not_found| {
        let beside = exe.with_file_name(format!("rbft{}", std::env::consts::EXE_SUFFIX));
        if beside.is_file() {
            Ok(beside)
        } else {
            Err(not_found)
        }
    })
}

/// One supervised child process.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    exited: Option<ExitStatus>,
}

/// Why [`spawn_logged`] failed: the log could not be opened or written, or the
/// program could not be started.
#[derive(Debug)]
pub enum SpawnFailure {
    Log(std::io::Error),
    Start(std::io::Error),
}

/// Appends `banner` to `log`, then starts `command` with its stdout and stderr
/// appended there, stdin closed, in its own process group.
pub fn spawn_logged(mut command: Command, log: &Path, banner: &str) -> Result<Child, SpawnFailure> {
    let mut out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(SpawnFailure::Log)?;
    writeln!(out, "{banner}").map_err(SpawnFailure::Log)?;
    let err = out.try_clone().map_err(SpawnFailure::Log)?;
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(SpawnFailure::Start)
}

impl ChildProcess {
    /// Starts `command` with its stdout and stderr appended to `log` (with a line
    /// saying when it started), stdin closed, in its own process group.
    pub fn spawn(name: &str, command: Command, log: &Path) -> Result<ChildProcess, ProcError> {
        let program = PathBuf::from(command.get_program());
        let banner = format!(
            "--- testnet: starting {name} at {} ms since the epoch ---",
            node::shared::Shared::now_ms()
        );
        let child = spawn_logged(command, log, &banner).map_err(|failure| match failure {
            SpawnFailure::Log(source) => ProcError::Io {
                path: log.to_owned(),
                source,
            },
            SpawnFailure::Start(source) => ProcError::Spawn {
                name: name.to_owned(),
                program,
                source,
            },
        })?;
        Ok(ChildProcess {
            name: name.to_owned(),
            child,
            exited: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has exited (reaped once, remembered).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            // An error here means the child was already reaped: nothing to wait for.
            if let Ok(status) = self.child.try_wait() {
                self.exited = status;
            }
        }
        self.exited
    }

    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// Sends `signal` unless the child has been reaped (whose pid may be reused).
    fn signal(&mut self, signal: Signal) {
        if self.is_running() {
            // ESRCH: it exited between the check and the signal; nothing to do.
            let _ = kill(Pid::from_raw(self.pid() as i32), signal);
        }
    }

    /// Asks the child to stop (SIGTERM) without waiting.
    pub fn terminate(&mut self) {
        self.signal(Signal::SIGTERM);
    }

    /// Waits until the child exits or `deadline`; `None` if still running.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child at once (SIGKILL, a crash) and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        self.signal(Signal::SIGKILL);
        self.reap()
    }

    fn reap(&mut self) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let status = self.child.wait().expect("waiting for our own child");
        self.exited = Some(status);
        status
    }

    /// Stops the child: SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> ExitStatus {
        self.terminate();
        match self.wait_until(Instant::now() + grace) {
            Some(status) => status,
            None => self.kill(),
        }
    }

    /// The peak resident set size (VmHWM) in KiB, while the child runs (Linux).
    pub fn peak_rss_kib(&mut self) -> Option<u64> {
        if !self.is_running() {
            return None;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        parse_vm_hwm_kib(&status)
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.is_running() {
            self.stop(STOP_GRACE);
        }
    }
}

/// Stops many children together: SIGTERM to each, one shared grace period, then
/// SIGKILL to those still running. Returns their exit statuses in order.
pub fn stop_all(children: &mut [&mut ChildProcess], grace: Duration) -> Vec<ExitStatus> {
    for child in children.iter_mut() {
        child.terminate();
    }
    let deadline = Instant::now() + grace;
    children
        .iter_mut()
        .map(|child| match child.wait_until(deadline) {
            Some(status) => status,
            None => child.kill(),
        })
        .collect()
}

/// `VmHWM:   123456 kB` from `/proc/PID/status`.
pub fn parse_vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The last `lines` lines of a log, for an error message.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("  ({} cannot be read)", path.display());
    };
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The running nodes of a testnet.
#[derive(Debug)]
pub struct Network {
    pub layout: Layout,
    bin: PathBuf,
    nodes: Vec<Option<ChildProcess>>,
    /// The network namespace each node runs in (`ip netns exec NS rbft start`);
    /// `None`: the namespace of this process.
    netns: Vec<Option<String>>,
    interrupt: Option<Arc<AtomicBool>>,
}

impl Network {
    /// A network of `layout` with no node running yet.
    pub fn new(layout: Layout, rbft_bin: &Path) -> Network {
        let nodes = layout.nodes.iter().map(|_| None).collect();
        let netns = layout.nodes.iter().map(|_| None).collect();
        Network {
            layout,
            bin: rbft_bin.to_owned(),
            nodes,
            netns,
            interrupt: None,
        }
    }

    /// Starts every node; on an error the ones already started are stopped (drop).
    pub fn start(layout: Layout, rbft_bin: &Path) -> Result<Network, ProcError> {
        let mut network = Network::new(layout, rbft_bin);
        for i in 0..network.nodes.len() {
            network.start_node(i)?;
        }
        Ok(network)
    }

    /// Takes `layout` (the same testnet, with nodes `testnet add-node` wrote since):
    /// the new nodes can be started and stopped like the others.
    pub fn adopt(&mut self, layout: Layout) {
        let nodes = layout.nodes.len().max(self.nodes.len());
        self.nodes.resize_with(nodes, || None);
        self.netns.resize_with(nodes, || None);
        self.layout = layout;
    }

    /// Node `i` runs in the network namespace `netns` from its next start on (a
    /// host of [`crate::hosts`]).
    pub fn set_netns(&mut self, i: usize, netns: &str) {
        self.netns[i] = Some(netns.to_owned());
    }

    /// Waits give up with [`ProcError::Interrupted`] once `flag` is set (Ctrl-C).
    pub fn set_interrupt(&mut self, flag: Arc<AtomicBool>) {
        self.interrupt = Some(flag);
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A client of node `i`'s API, with short timeouts.
    pub fn client(&self, i: usize) -> Client {
        Client::with_timeouts(
            &self.layout.nodes[i].api_url(),
            Timeouts {
                connect: Duration::from_secs(1),
                call: Duration::from_secs(5),
            },
        )
    }

    /// Starts node `i` (`rbft start --home DIR/nodeI`); a no-op if it runs.
    pub fn start_node(&mut self, i: usize) -> Result<(), ProcError> {
        if let Some(child) = &mut self.nodes[i] {
            if child.is_running() {
                return Ok(());
            }
        }
        let node = &self.layout.nodes[i];
        // `ip netns exec` enters the namespace and execs the node in its place, so
        // the child's pid is the node's.
        let mut command = match &self.netns[i] {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]).arg(&self.bin);
                command
            }
            None => Command::new(&self.bin),
        };
        command.arg("start").arg("--home").arg(&node.home);
        let child = ChildProcess::spawn(&format!("node {i}"), command, &node.log_path())?;
        // `testnet remove-node` stops a node through its pid file, whoever started it.
        let pid_path = node.pid_path();
        std::fs::write(&pid_path, format!("{}\n", child.pid())).map_err(|source| {
            ProcError::Io {
                path: pid_path.clone(),
                source,
            }
        })?;
        self.nodes[i] = Some(child);
        Ok(())
    }

    /// Stops node `i` cleanly (SIGTERM, then SIGKILL after [`STOP_GRACE`]).
    pub fn stop_node(&mut self, i: usize) -> Option<ExitStatus> {
        self.nodes[i].take().map(|mut child| child.stop(STOP_GRACE))
    }

    /// Kills node `i` (SIGKILL): a crash.
    pub fn kill_node(&mut self, i: usize) -> Option<ExitStatus> {
        self.nodes[i].take().map(|mut child| child.kill())
    }

    pub fn restart_node(&mut self, i: usize) -> Result<(), ProcError> {
        self.stop_node(i);
        self.start_node(i)
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].as_ref().map(|c| c.pid())
    }

    /// Whether node `i` was started and has not exited.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i].as_mut().is_some_and(|c| c.is_running())
    }

    /// Nodes that were started and have exited on their own since, with their status.
    pub fn exited(&mut self) -> Vec<(usize, ExitStatus)> {
        self.nodes
            .iter_mut()
            .enumerate()
            .filter_map(|(i, c)| c.as_mut().and_then(|c| c.exit_status()).map(|s| (i, s)))
            .collect()
    }

    /// Forgets nodes that have exited (after [`Network::exited`] reported them).
    pub fn forget_exited(&mut self) {
        for slot in &mut self.nodes {
            if slot.as_mut().is_some_and(|c| !c.is_running()) {
                *slot = None;
            }
        }
    }

    /// The peak RSS of each running node, in MiB.
    pub fn peak_rss_mib(&mut self) -> Vec<Option<u64>> {
        self.nodes
            .iter_mut()
            .map(|c| {
                c.as_mut()
                    .and_then(|c| c.peak_rss_kib())
                    .map(|kib| kib / 1024)
            })
            .collect()
    }

    /// Waits until every running node reports a height of at least `min_height`.
    pub fn wait_for_height(&mut self, min_height: u64, timeout: Duration) -> Result<(), ProcError> {
        let deadline = Instant::now() + timeout;
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_some() {
                self.wait_node_height(i, min_height, deadline, timeout)?;
            }
        }
        Ok(())
    }

    /// Waits until every node has committed a block. A new chain has none and
    /// commits nothing until a transaction arrives, so on a chain still at height 0
    /// the admin sends one unit to the first client (a smoke test of the whole
    /// path: API, admission, forwarding, ordering, execution, commit).
    pub fn wait_for_first_block(&mut self, timeout: Duration) -> Result<(), ProcError> {
        let deadline = Instant::now() + timeout;
        let client = self.client(0);
        let height = loop {
            match client.status() {
                Ok(status) => break status.height,
                // A node that exited is reported by the wait below, with its log.
                Err(_) if Instant::now() < deadline && self.is_running(0) => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(_) => break 0,
            }
        };
        if height == 0 && self.is_running(0) {
            if let Err(e) = self.send_first_transfer(&client) {
                eprintln!("testnet: the first transfer was not accepted yet: {e}");
            }
        }
        self.wait_for_height(1, deadline.saturating_duration_since(Instant::now()))
    }

    fn send_first_transfer(&self, client: &Client) -> Result<(), String> {
        let admin =
            crypto::keyfile::read_key_file(&self.layout.admin_key).map_err(|e| e.to_string())?;
        let to = self
            .layout
            .clients
            .first()
            .map(|c| c.address)
            .unwrap_or_else(|| ledger::Address::of(&admin.public_key()));
        let account = client
            .account(&ledger::Address::of(&admin.public_key()))
            .map_err(|e| e.to_string())?;
        let tx = ledger::Transaction {
            chain_id: ledger::ChainId::new(&self.layout.chain_id).map_err(|e| e.to_string())?,
            signer: admin.public_key(),
            nonce: account.pending_nonce,
            kind: ledger::TxKind::Transfer { to, amount: 1 },
        }
        .sign(&admin);
        client.submit(&tx).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Waits until node `i` reports a height of at least `min_height`, failing early
    /// when it exits.
    pub fn wait_node_height(
        &mut self,
        i: usize,
        min_height: u64,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), ProcError> {
        let client = self.client(i);
        let log = self.layout.nodes[i].log_path();
        loop {
            if self
                .interrupt
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst))
            {
                return Err(ProcError::Interrupted);
            }
            let child = self.nodes[i]
                .as_mut()
                .ok_or(ProcError::NotRunning { node: i })?;
            if let Some(status) = child.exit_status() {
                return Err(ProcError::Exited {
                    node: i,
                    status,
                    min_height,
                    tail: log_tail(&log, LOG_TAIL_LINES),
                    log,
                });
            }
            let last = match client.status() {
                Ok(status) if status.height >= min_height => return Ok(()),
                Ok(status) => format!("height {}", status.height),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(ProcError::NotCommitting {
                    node: i,
                    url: client.url().to_owned(),
                    min_height,
                    timeout_s: timeout.as_secs(),
                    last,
                    log,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops every running node together; see [`stop_all`].
    pub fn stop(&mut self) -> Vec<(usize, ExitStatus)> {
        let indices: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].is_some())
            .collect();
        let mut children: Vec<&mut ChildProcess> =
            self.nodes.iter_mut().filter_map(|c| c.as_mut()).collect();
        let statuses = stop_all(&mut children, STOP_GRACE);
        for slot in &mut self.nodes {
            *slot = None;
        }
        indices.into_iter().zip(statuses).collect()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn alive(pid: u32) -> bool {
        // Signal 0 checks existence; a reaped child is gone.
        kill(Pid::from_raw(pid as i32), None).is_ok()
    }

    fn sleeper(log: &Path) -> ChildProcess {
        let mut command = Command::new("sleep");
        command.arg("600");
        ChildProcess::spawn("sleeper", command, log).unwrap()
    }

    #[test]
    fn stop_sends_sigterm_and_reaps() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = sleeper(&tmp.path().join("log"));
        let pid = child.pid();
        assert!(child.is_running());
        let status = child.stop(Duration::from_secs(5));
        assert_eq!(status.signal(), Some(Signal::SIGTERM as i32));
        assert!(!alive(pid));
        let log = std::fs::read_to_string(tmp.path().join("log")).unwrap();
        assert!(log.contains("starting sleeper"), "{log}");
    }

    #[test]
    fn a_child_that_ignores_sigterm_is_killed_after_the_grace_period() {
        let tmp = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        // The shell ignores TERM and stays (no `exec`), so only SIGKILL ends it.
        command
            .arg("-c")
            .arg("trap '' TERM; echo ready; while true; do sleep 0.05; done");
        let log = tmp.path().join("log");
        let mut child = ChildProcess::spawn("stubborn", command, &log).unwrap();
        // Let the shell install its trap.
        let ready = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&log).unwrap().contains("ready") {
            assert!(Instant::now() < ready, "the shell never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        let status = child.stop(Duration::from_millis(300));
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    }

    #[test]
    fn dropping_a_child_stops_it() {
        let tmp = tempfile::tempdir().unwrap();
        let child = sleeper(&tmp.path().join("log"));
        let pid = child.pid();
        drop(child);
        assert!(!alive(pid));
    }

    #[test]
    fn stop_all_stops_every_child_within_one_grace_period() {
        let tmp = tempfile::tempdir().unwrap();
        let mut a = sleeper(&tmp.path().join("a"));
        let mut b = sleeper(&tmp.path().join("b"));
        let pids = [a.pid(), b.pid()];
        let statuses = stop_all(&mut [&mut a, &mut b], Duration::from_secs(5));
        assert_eq!(statuses.len(), 2);
        assert!(pids.iter().all(|pid| !alive(*pid)));
    }

    #[test]
    fn an_exited_child_is_reported_and_not_signalled() {
        let tmp = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        command.arg("-c").arg("echo bye; exit 3");
        let mut child = ChildProcess::spawn("quick", command, &tmp.path().join("log")).unwrap();
        let status = child
            .wait_until(Instant::now() + Duration::from_secs(5))
            .unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(child.stop(Duration::from_secs(1)).code(), Some(3));
        assert!(log_tail(&tmp.path().join("log"), 1).contains("bye"));
    }

    #[test]
    fn peak_rss_is_read_from_proc_status() {
        let sample = "Name:\trbft\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_vm_hwm_kib(sample), Some(51_200));
        assert_eq!(parse_vm_hwm_kib("Name: x\n"), None);
        let tmp = tempfile::tempdir().unwrap();
        let mut child = sleeper(&tmp.path().join("log"));
        assert!(child.peak_rss_kib().is_some_and(|kib| kib > 0));
    }

    #[test]
    fn a_node_that_exits_at_once_is_reported_with_its_log() {
        // A fake `rbft` that fails like a node with a bad home directory.
        let tmp = tempfile::tempdir().unwrap();
        let fake = tmp.path().join("rbft");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho \"rbft: cannot open $3\" >&2\nexit 1\n",
        )
        .unwrap();
        let mut permissions = std::fs::metadata(&fake).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&fake, permissions).unwrap();
        let spec = crate::layout::LayoutSpec {
            clients: 1,
            base_port: 40_000,
            ..Default::default()
        };
        let layout = Layout::generate(&tmp.path().join("net"), &spec).unwrap();
        let mut network = Network::start(layout, &fake).unwrap();
        let error = network
            .wait_for_height(1, Duration::from_secs(10))
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ProcError::Exited { node: 0, .. }), "{text}");
        assert!(text.contains("node0/node.log"), "{text}");
        assert!(text.contains("rbft: cannot open"), "{text}");
        // The others fail the same way, each in its own time.
        let deadline = Instant::now() + Duration::from_secs(10);
        while network.exited().len() < 4 {
            assert!(Instant::now() < deadline, "every fake node exits");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
