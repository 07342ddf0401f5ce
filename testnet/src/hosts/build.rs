//! A network of hosts built the way operators build one (README, "Run a network
//! across machines"): in each host's namespace `rbft init` makes the home, key and
//! card on that host's own address; the admin's key comes from `rbft keygen`; one
//! `rbft genesis build` turns the cards into the genesis; each host checks the file
//! against the announced hash with `rbft genesis check` before installing it. Only
//! the funded client keys of the load generator are written by the tool itself.
//!
//! Every host listens on the same ports, [`P2P_PORT`] and [`API_PORT`], on its own
//! address: separate machines would. The directory is a testnet directory
//! ([`crate::layout`]), so `testnet bench --dir` and `testnet check --dir` work on it.

use super::netns::{HostNet, NetnsError};
use crate::layout::{write_client_keys, Layout, ADMIN_KEY, CLIENTS_DIR};
use node::config::Home;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where every host listens for peers...
pub const P2P_PORT: u16 = 8100;
/// ...and serves its API.
pub const API_PORT: u16 = 8000;

/// Why the operators' steps failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Netns(#[from] NetnsError),
    #[error("`rbft {args}` failed: {stderr}")]
    Rbft { args: String, stderr: String },
    #[error("`rbft {args}` printed no JSON: {output}")]
    NotJson { args: String, output: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Key(#[from] crypto::keyfile::KeyFileError),
    #[error("{}: {message}", dir.display())]
    Layout { dir: PathBuf, message: String },
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub chain_id: String,
    /// Funded client keys for the load generator (`DIR/clients/`).
    pub clients: usize,
    pub client_balance: u64,
    /// `--param NAME=VALUE` of `rbft genesis build`.
    pub params: Vec<String>,
    /// Each host listens for peers on 0.0.0.0 and its card carries its DNS name
    /// (`--external-address`), as the README's walkthrough has operators of real
    /// machines do, so peers dial names.
    pub dns_names: bool,
}

/// Runs `rbft args...`, in host `host`'s namespace when given, and parses the JSON
/// it prints.
fn rbft(
    bin: &Path,
    net: &HostNet,
    host: Option<usize>,
    args: &[&str],
) -> Result<Value, BuildError> {
    let mut command = match host {
        Some(i) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &net.hosts[i].netns]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let output = command
        .args(args)
        .output()
        .map_err(|source| BuildError::Io {
            path: bin.to_owned(),
            source,
        })?;
    let shown = args.join(" ");
    if !output.status.success() {
        return Err(BuildError::Rbft {
            args: shown,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The JSON is the whole output, or its last line when a command says what it
    // did first.
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(&stdout)
        .or_else(|_| serde_json::from_str(last))
        .map_err(|_| BuildError::NotJson {
            args: shown,
            output: stdout.trim().to_owned(),
        })
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Builds the network's directory in `dir` (new or empty) over `net`'s hosts.
/// Returns the layout and the genesis hash.
pub fn build(
    dir: &Path,
    net: &HostNet,
    bin: &Path,
    spec: &BuildSpec,
) -> Result<(Layout, String), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // 1. Each operator, on its own machine.
    let mut cards = Vec::new();
    for (i, host) in net.hosts.iter().enumerate() {
        let home = dir.join(format!("node{i}"));
        // With names, as the README tells operators of real machines: listen on
        // every address, and tell peers the name to dial.
        let listen = if spec.dns_names {
            format!("0.0.0.0:{P2P_PORT}")
        } else {
            format!("{}:{P2P_PORT}", host.ip)
        };
        let api = format!("{}:{API_PORT}", host.ip);
        let home_str = path_str(&home);
        let mut args = vec![
            "init", "--home", &home_str, "--listen", &listen, "--api", &api, "--json",
        ];
        let name = format!("{}:{P2P_PORT}", net.dns_name(i));
        if spec.dns_names {
            args.extend(["--external-address", &name]);
        }
        rbft(bin, net, Some(i), &args)?;
        cards.push(path_str(&home.join("validator_card.json")));
    }
    // 2. The admin's key, and the load generator's funded clients.
    let admin_key = dir.join(ADMIN_KEY);
    let admin = rbft(
        bin,
        net,
        None,
        &["keygen", "--json", "--out", &path_str(&admin_key)],
    )?;
    let admin_public = admin["public_key"].as_str().unwrap_or_default().to_owned();
    let clients_dir = dir.join(CLIENTS_DIR);
    std::fs::create_dir_all(&clients_dir).map_err(io(&clients_dir))?;
    let clients = write_client_keys(&clients_dir, spec.clients)?;
    // 3. The genesis, from the cards.
    let genesis = dir.join(Home::GENESIS);
    let genesis_str = path_str(&genesis);
    let mut args: Vec<String> = [
        "genesis",
        "build",
        "--json",
        "--chain-id",
        &spec.chain_id,
        "--admin",
        &admin_public,
        "--out",
        &genesis_str,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for card in &cards {
        args.extend(["--card".to_owned(), card.clone()]);
    }
    // The admin is funded too: `Network::wait_for_first_block` starts a new chain
    // with a transfer from it.
    let admin_address = admin["address"].as_str().unwrap_or_default().to_owned();
    let funded =
        std::iter::once(admin_address).chain(clients.iter().map(|c| c.address.to_string()));
    for address in funded {
        args.extend([
            "--fund".to_owned(),
            format!("{address}={}", spec.client_balance),
        ]);
    }
    for param in &spec.params {
        args.extend(["--param".to_owned(), param.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let built = rbft(bin, net, None, &args)?;
    let hash = built["hash"].as_str().unwrap_or_default().to_owned();
    // 4. Each operator checks the file against the announced hash and installs it.
    for i in 0..net.hosts.len() {
        let home = dir.join(format!("node{i}"));
        rbft(
            bin,
            net,
            Some(i),
            &[
                "genesis",
                "check",
                "--json",
                &genesis_str,
                "--expect",
                &hash,
            ],
        )?;
        let installed = home.join(Home::GENESIS);
        std::fs::copy(&genesis, &installed).map_err(io(&installed))?;
    }
    let layout = Layout::open(dir).map_err(|e| BuildError::Layout {
        dir: dir.to_owned(),
        message: e.to_string(),
    })?;
    Ok((layout, hash))
}
