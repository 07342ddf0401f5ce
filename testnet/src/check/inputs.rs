//! What `testnet check` is given: a testnet directory (its nodes and genesis), or
//! API URLs with a genesis file; and a list of transactions seen committed.

use super::fetch::NodeApi;
use crate::layout::{Layout, LayoutError};
use crypto::Hash;
use ledger::{Genesis, GenesisError};
use std::path::{Path, PathBuf};

/// Why the checker's input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("genesis {path}: {source}")]
    Genesis {
        path: PathBuf,
        // Boxed: it names keys, which are large (see `ledger`'s crate doc).
        #[source]
        source: Box<GenesisError>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {text:?} is not a transaction hash (64 hex characters)")]
    TxHash {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{dir} has no node that is still a validator")]
    NoNodes { dir: PathBuf },
}

/// The nodes of a testnet directory (those not removed) and its genesis.
pub fn of_testnet_dir(dir: &Path) -> Result<(Vec<NodeApi>, Genesis), InputError> {
    let layout = Layout::open(dir)?;
    let nodes = NodeApi::of_layout(&layout);
    if nodes.is_empty() {
        return Err(InputError::NoNodes {
            dir: dir.to_owned(),
        });
    }
    let genesis = load_genesis(&dir.join(node::config::Home::GENESIS))?;
    Ok((nodes, genesis))
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: &Path) -> Result<Genesis, InputError> {
    Genesis::load(path).map_err(|source| InputError::Genesis {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// Transaction hashes in hex, one per line; blank lines and lines starting with
/// `#` are skipped.
pub fn read_tx_list(path: &Path) -> Result<Vec<Hash>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_tx_list(path, &text)
}

fn parse_tx_list(path: &Path, text: &str) -> Result<Vec<Hash>, InputError> {
    let mut hashes = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let hash = line.parse::<Hash>().map_err(|_| InputError::TxHash {
            path: path.to_owned(),
            line: number + 1,
            text: line.chars().take(80).collect(),
        })?;
        hashes.push(hash);
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tx_list_skips_blanks_and_comments_and_names_a_bad_line() {
        let path = Path::new("seen.txt");
        let good = format!(
            "# seen committed\n\n{}\n  {}  \n",
            "ab".repeat(32),
            "01".repeat(32)
        );
        let hashes = parse_tx_list(path, &good).unwrap();
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0].to_string(), "ab".repeat(32));

        let bad = format!("{}\nnot-a-hash\n", "ab".repeat(32));
        let error = parse_tx_list(path, &bad).unwrap_err();
        assert!(
            matches!(&error, InputError::TxHash { line: 2, text, .. } if text == "not-a-hash"),
            "{error}"
        );
    }

    #[test]
    fn a_genesis_that_does_not_parse_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("genesis.json");
        std::fs::write(&path, "{\"chain_id\": 5}").unwrap();
        let error = load_genesis(&path).unwrap_err();
        assert!(matches!(error, InputError::Genesis { .. }), "{error}");
        assert!(error.to_string().contains("genesis.json"), "{error}");
    }
}
