//! The README's "Run a network across machines", run as written: every code block
//! of that section, in order, each line given to `sh` on the machine the step
//! names, where every machine is a Linux network namespace with its own network
//! stack, its own address on a bridge, its own working directory and its own
//! `/etc/hosts` naming the others `val1.consortium.test` to
//! `val4.consortium.test` (a fifth, `keys.consortium.test`, holds the admin's and
//! the clients' keys).
//!
//! The only changes to the text are the two the README itself asks for: in step 1
//! each machine puts its own name in place of `val1`, and in step 4 `<hash>` is
//! the hash step 3 printed. What travels between machines (the cards, the genesis
//! file) is copied between their directories, as an operator would send it. The
//! shell variables of step 2 are set again before step 6 by step 2's assignment
//! lines, as the admin's shell would still have them. The nodes of step 5 run
//! under this test (the trailing `&` becomes the test's own child), so that it
//! stops them.
//!
//! If the README changes so that this no longer works, this test fails: the
//! walkthrough cannot drift from the code. Needs root (network namespaces): CI runs
//! as root. Without it the test fails and says why; it does not skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testnet::hosts::netns::HostNet;
use testnet::procs::find_rbft_bin_or_beside;

const SECTION: &str = "## Run a network across machines";
const VALIDATORS: usize = 4;
/// The fifth namespace: the admin's and the clients' machine.
const KEYS: usize = VALIDATORS;

fn machine_name(i: usize) -> String {
    format!("val{}.consortium.test", i + 1)
}

/// The `sh` code blocks of the README's walkthrough section, in order.
fn walkthrough_blocks() -> Vec<String> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md");
    let start = text
        .find(SECTION)
        .unwrap_or_else(|| panic!("README.md has no section {SECTION:?}"));
    let body = &text[start + SECTION.len()..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in body.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed code block in {SECTION:?}");
    blocks
}

/// One machine: a namespace and a working directory.
struct Machines {
    net: HostNet,
    root: PathBuf,
    path: String,
}

impl Machines {
    fn dir(&self, i: usize) -> PathBuf {
        self.root.join(format!("machine{}", i + 1))
    }

    fn command(&self, i: usize, script: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args([
                "netns",
                "exec",
                &self.net.hosts[i].netns,
                "sh",
                "-ec",
                script,
            ])
            .current_dir(self.dir(i))
            .env("PATH", &self.path);
        command
    }

    /// Runs `script` with `sh -e` on machine `i`, returning its stdout; panics with
    /// both outputs when it fails.
    fn sh(&self, i: usize, script: &str) -> String {
        let output = self
            .command(i, script)
            .output()
            .expect("ip netns exec runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "on {}: `{script}` failed ({}):\n{stdout}\n{stderr}",
            self.net.hosts[i].netns,
            output.status
        );
        println!("[machine {}] {}", i + 1, script.trim_end());
        print!("{stdout}");
        stdout
    }

    fn copy(&self, from: usize, file: &str, to: usize, as_file: &str) {
        let (src, dst) = (self.dir(from).join(file), self.dir(to).join(as_file));
        std::fs::copy(&src, &dst)
            .unwrap_or_else(|e| panic!("{} -> {}: {e}", src.display(), dst.display()));
    }
}

/// The nodes the walkthrough started; killed when the test ends.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn the_readme_walkthrough_works_as_written_on_five_namespaced_machines() {
    let blocks = walkthrough_blocks();
    assert_eq!(
        blocks.len(),
        6,
        "steps 1 to 6, one code block each: {blocks:#?}"
    );
    let [init, keys, build, check, start, send] = <[String; 6]>::try_from(blocks).unwrap();
    assert!(init.contains("val1.consortium.test"), "{init}");
    assert!(check.contains("<hash>"), "{check}");

    let rbft = find_rbft_bin_or_beside(Path::new(env!("CARGO_BIN_EXE_testnet")))
        .expect("the rbft binary (build it: cargo build --workspace)");
    let bin_dir = rbft.parent().expect("rbft's directory").to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = tempfile::tempdir().expect("a temporary directory");
    let mut net = HostNet::create(VALIDATORS + 1).unwrap_or_else(|e| {
        panic!("the machines' network could not be made (this test needs root): {e}")
    });
    for i in 0..VALIDATORS {
        net.add_name(i, &machine_name(i)).expect("names");
    }
    net.add_name(KEYS, "keys.consortium.test").expect("names");
    let machines = Machines {
        net,
        root: root.path().to_owned(),
        path,
    };
    for i in 0..=VALIDATORS {
        std::fs::create_dir_all(machines.dir(i)).expect("a machine's directory");
    }

    // 1. Each operator makes a home and a card, and sends the card.
    for i in 0..VALIDATORS {
        let mine = init.replace("val1.consortium.test", &machine_name(i));
        let printed = machines.sh(i, &mine);
        let dial = format!("/dns/{}/tcp/8100", machine_name(i));
        assert!(printed.contains(&dial), "the card names {dial}: {printed}");
        machines.copy(
            i,
            "rbft-home/validator_card.json",
            KEYS,
            &format!("card{}.json", i + 1),
        );
    }
    // 2 and 3, in the admin's one shell: keys, then the genesis.
    let built = machines.sh(KEYS, &format!("{keys}{build}"));
    let hash = built
        .lines()
        .find_map(|line| line.strip_prefix("hash:"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|| panic!("step 3 prints the genesis hash: {built}"));
    assert_eq!(hash.len(), 64, "{hash}");

    // 4. Each operator receives the file, checks it against the hash, installs it.
    let check = check.replace("<hash>", &hash);
    for i in 0..VALIDATORS {
        machines.copy(KEYS, "genesis.json", i, "genesis.json");
        machines.sh(i, &check);
    }
    // A file that differs from the announced hash is refused by the same command.
    let forged = check.replace(&hash, &"0".repeat(64));
    assert!(
        !machines
            .command(0, &forged)
            .output()
            .unwrap()
            .status
            .success(),
        "`genesis check` accepts a hash that is not the file's"
    );

    // 5. Each operator starts its node.
    let start_line = start.trim();
    let foreground = start_line
        .strip_suffix('&')
        .unwrap_or_else(|| panic!("step 5 starts the node in the background: {start_line}"));
    let mut nodes = Nodes(Vec::new());
    for i in 0..VALIDATORS {
        let child = machines
            .command(i, &format!("exec {foreground}"))
            .stdin(Stdio::null())
            .spawn()
            .expect("rbft start runs");
        nodes.0.push(child);
    }
    for i in 0..VALIDATORS {
        let log = machines.dir(i).join("rbft.log");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("node started") {
                assert!(
                    text.contains(&hash),
                    "the start line names the genesis: {text}"
                );
                break;
            }
            if let Ok(Some(status)) = nodes.0[i].try_wait() {
                panic!("node {} exited ({status}):\n{text}", i + 1);
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not start in 60 s:\n{text}",
                i + 1
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // 6. A client sends a transaction through val2 and reads the balance at val4.
    let assignments: String = keys
        .lines()
        .filter(|line| {
            line.split_once('=')
                .is_some_and(|(name, _)| is_variable(name))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(assignments.lines().count(), 3, "ADMIN, ALICE, BOB: {keys}");
    let bob = machines.sh(KEYS, "rbft address --key bob.key");
    let bob = bob.trim();
    let (send_line, account_line) = send
        .trim()
        .split_once('\n')
        .expect("two commands in step 6");
    let sent = machines.sh(KEYS, &format!("{assignments}{send_line}\n"));
    assert!(
        sent.contains("committed"),
        "step 6 waits for the commit: {sent}"
    );
    // val4 may commit the block a moment after val2 answered.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let account = machines.sh(KEYS, &format!("{assignments}{account_line}\n"));
        assert!(
            account.contains(bob),
            "the account shown is Bob's: {account}"
        );
        if account
            .lines()
            .any(|line| line.starts_with("balance:") && line.split_whitespace().nth(1) == Some("5"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "val4 never showed Bob's 5: {account}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(nodes);
}

fn is_variable(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}
