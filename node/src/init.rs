//! `rbft init --home DIR`: one operator's node on one machine. Writes the node key
//! (mode 0600; it never leaves the machine and is never overwritten), `config.toml`
//! (where the node listens for peers and serves its API) and the validator card
//! (public key and the address peers dial) that goes to whoever builds the genesis.
//!
//! Every option is checked before anything is written, and a failure part-way
//! removes what this run wrote: a home is initialised whole or not at all.

use crate::addr::{self, AddrError};
use crate::card::ValidatorCard;
use crate::config::{Home, NodeConfig};
use crypto::keyfile::{self, KeyFileError};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The options of `rbft init`, as typed.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Where to listen for peers: `IP:PORT` or a multiaddress.
    pub listen: String,
    /// Where peers dial: `HOST[:PORT]` or a multiaddress; `None`: the listen
    /// address (which must then not be a wildcard such as 0.0.0.0).
    pub external_address: Option<String>,
    /// Where the HTTP API listens.
    pub api: String,
}

/// What `rbft init` wrote.
#[derive(Debug)]
pub struct Initialised {
    pub card: ValidatorCard,
    pub key_path: PathBuf,
    pub config_path: PathBuf,
    pub card_path: PathBuf,
}

/// Why a home could not be initialised; nothing of this run is left on disk.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Addr(#[from] AddrError),
    #[error("--api: {text:?} is not an address: {reason}; expected IP:PORT")]
    BadApi { text: String, reason: String },
    #[error("--external-address is needed: peers cannot dial the wildcard {listen}; give the IP address or DNS name of this machine they can reach")]
    NeedExternalAddress { listen: String },
    #[error("{} already exists; this home is initialised (a key is never overwritten)", path.display())]
    AlreadyInitialised { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyFileError),
}

/// Initialises `home` (created if missing) with a new key.
pub fn init(home: &Path, options: &InitOptions) -> Result<Initialised, InitError> {
    let (listen, listen_socket) = addr::parse_listen("--listen", &options.listen)?;
    let api: SocketAddr = options
        .api
        .trim()
        .parse()
        .map_err(|e: std::net::AddrParseError| InitError::BadApi {
            text: options.api.clone(),
            reason: e.to_string(),
        })?;
    let external = match &options.external_address {
        Some(text) => addr::parse_dial("--external-address", text, Some(listen_socket.port()))?,
        None if listen_socket.ip().is_unspecified() => {
            return Err(InitError::NeedExternalAddress {
                listen: listen.to_string(),
            })
        }
        None => listen.clone(),
    };
    let key_path = home.join(Home::KEY);
    let config_path = home.join(Home::CONFIG);
    let card_path = home.join(Home::CARD);
    for path in [&key_path, &config_path, &card_path] {
        if path.exists() {
            return Err(InitError::AlreadyInitialised { path: path.clone() });
        }
    }
    std::fs::create_dir_all(home).map_err(|source| InitError::Io {
        path: home.to_owned(),
        source,
    })?;

    let key = crypto::SigningKey::generate();
    let card = ValidatorCard::new(key.public_key(), external.clone());
    let config = NodeConfig {
        api_addr: api,
        p2p_listen: listen.to_string(),
        p2p_external_addr: Some(external.to_string()),
        ..NodeConfig::default()
    };
    let mut written = Written::default();
    let result: Result<(), InitError> = (|| {
        keyfile::write_key_file(&key_path, &key)?;
        written.0.push(key_path.clone());
        write_new(&config_path, &config.to_toml())?;
        written.0.push(config_path.clone());
        write_new(&card_path, &format!("{}\n", card.to_json()))?;
        written.0.push(card_path.clone());
        Ok(())
    })();
    result?;
    written.0.clear();
    Ok(Initialised {
        card,
        key_path,
        config_path,
        card_path,
    })
}

/// Files this run wrote, removed on drop unless the run succeeded and cleared it.
#[derive(Default)]
struct Written(Vec<PathBuf>);

impl Drop for Written {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes a new file (never replacing one) and syncs it.
fn write_new(path: &Path, text: &str) -> Result<(), InitError> {
    let io = |source| InitError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(listen: &str, external: Option<&str>) -> InitOptions {
        InitOptions {
            listen: listen.into(),
            external_address: external.map(Into::into),
            api: "127.0.0.1:8000".into(),
        }
    }

    #[test]
    fn init_writes_a_loadable_config_a_key_and_a_matching_card() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("node");
        let done = init(&home, &options("0.0.0.0:8100", Some("node1.example.org"))).unwrap();
        let key = keyfile::read_key_file(&done.key_path).unwrap();
        assert_eq!(done.card.public_key, key.public_key());
        assert_eq!(
            done.card.p2p_addr.to_string(),
            "/dns/node1.example.org/tcp/8100"
        );
        let card = ValidatorCard::load(&done.card_path).unwrap();
        assert_eq!(card, done.card);
        let text = std::fs::read_to_string(&done.config_path).unwrap();
        let config = NodeConfig::parse(&text).unwrap();
        assert_eq!(config.p2p_listen, "/ip4/0.0.0.0/tcp/8100");
        assert_eq!(
            config.p2p_external_addr.as_deref(),
            Some("/dns/node1.example.org/tcp/8100")
        );
    }

    #[test]
    fn a_second_init_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let first = init(dir.path(), &options("127.0.0.1:8100", None)).unwrap();
        let seed = keyfile::read_key_file(&first.key_path).unwrap().seed();
        let err = init(dir.path(), &options("127.0.0.1:9100", None)).unwrap_err();
        assert!(matches!(err, InitError::AlreadyInitialised { .. }), "{err}");
        assert_eq!(
            keyfile::read_key_file(&first.key_path).unwrap().seed(),
            seed
        );
    }

    #[test]
    fn bad_options_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for (listen, external, field) in [
            ("0.0.0.0:8100", None, "--external-address"),
            ("nonsense", None, "--listen"),
            ("127.0.0.1:8100", Some("0.0.0.0:1"), "--external-address"),
            ("127.0.0.1:8100", Some("a b"), "--external-address"),
        ] {
            let home = dir.path().join("home");
            let err = init(&home, &options(listen, external)).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
            assert!(!home.exists(), "{listen} {external:?}: nothing written");
        }
        let mut bad_api = options("127.0.0.1:8100", None);
        bad_api.api = "localhost".into();
        let err = init(&dir.path().join("home"), &bad_api).unwrap_err();
        assert!(err.to_string().contains("--api"), "{err}");
    }

    #[test]
    fn a_failed_write_leaves_no_part_of_the_home() {
        let dir = tempfile::tempdir().unwrap();
        // A dangling link where the card goes: it does not "exist", so the key and
        // the config are written, then the card cannot be created, and both must go.
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join(Home::CARD))
            .unwrap();
        let err = init(dir.path(), &options("127.0.0.1:8100", None)).unwrap_err();
        assert!(matches!(err, InitError::Io { .. }), "{err}");
        assert!(err.to_string().contains(Home::CARD), "{err}");
        assert!(!dir.path().join(Home::KEY).exists());
        assert!(!dir.path().join(Home::CONFIG).exists());
    }
}
