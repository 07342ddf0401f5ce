//! What `rbft start` checks before it writes anything (the data directory, the
//! ledger): that the node can listen where its config says (an address this machine
//! has, a port that is free), and that every genesis validator can be dialled. A node
//! that fails here exits with the field named and leaves nothing behind.
//!
//! The listeners are bound and closed again at once; the node binds them for real
//! a moment later, once the store is open.

use crate::addr::{self, AddrError};
use crate::config::Home;
use crate::genesis_build::{self, GenesisAddrError};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a node refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{}: {error}", path.display())]
    ListenAddr { path: PathBuf, error: AddrError },
    #[error("{}: {field} = {addr}: cannot listen there: {}", path.display(), explain(source))]
    CannotListen {
        path: PathBuf,
        field: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    GenesisAddr {
        path: PathBuf,
        error: Box<GenesisAddrError>,
    },
}

/// Checks `home`'s listen addresses and its genesis's dial addresses.
pub fn check(home: &Home) -> Result<(), StartError> {
    let config_path = home.dir.join(Home::CONFIG);
    let (_, p2p) = addr::parse_listen("p2p_listen", &home.config.p2p_listen).map_err(|error| {
        StartError::ListenAddr {
            path: config_path.clone(),
            error,
        }
    })?;
    for (field, socket) in [("api_addr", home.config.api_addr), ("p2p_listen", p2p)] {
        std::net::TcpListener::bind(socket).map_err(|source| StartError::CannotListen {
            path: config_path.clone(),
            field,
            addr: socket,
            source,
        })?;
    }
    genesis_build::check_addresses(&home.genesis).map_err(|error| StartError::GenesisAddr {
        path: home.dir.join(Home::GENESIS),
        error: Box::new(error),
    })?;
    warn_if_listed_elsewhere(home);
    Ok(())
}

/// Peers dial the address the genesis lists for us; if our config says another,
/// one of the two is a mistake worth a line in the log (not a refusal: a validator
/// may have moved and be re-added with its new address).
fn warn_if_listed_elsewhere(home: &Home) {
    let Some(external) = &home.config.p2p_external_addr else {
        return;
    };
    let me = home.key.public_key();
    let listed = home.genesis.validators.iter().find(|v| v.public_key == me);
    if let Some(listed) = listed {
        if &*listed.p2p_addr != external.as_str() {
            tracing::warn!(
                genesis = %listed.p2p_addr,
                config = %external,
                "the genesis lists this validator at another address than config.toml's p2p_external_addr; peers dial the genesis's"
            );
        }
    }
}

fn explain(error: &std::io::Error) -> String {
    let hint = match error.kind() {
        std::io::ErrorKind::AddrNotAvailable => "this machine has no such address",
        std::io::ErrorKind::AddrInUse => "the port is in use (is another node running?)",
        std::io::ErrorKind::PermissionDenied => "not allowed (ports below 1024 need privileges)",
        _ => "",
    };
    if hint.is_empty() {
        error.to_string()
    } else {
        format!("{hint} ({error})")
    }
}
