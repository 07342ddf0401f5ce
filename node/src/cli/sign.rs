//! `rbft tx sign`: a signed transfer written as JSON without contacting a node, so
//! a key can stay on a machine that has no network (issue 19); and reading such a
//! file back for `rbft tx submit`. The file holds exactly the body `POST /txs`
//! takes (one `SignedTransaction`).

use super::args::TransferArgs;
use super::CliResult;
use clap::Args;
use crypto::SigningKey;
use ledger::{Address, ChainId, SignedTransaction, Transaction, TxKind, VerifiedTx};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The largest signed-transaction file read: a transfer is well under 1 KB.
const MAX_FILE_BYTES: u64 = 64 * 1024;

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    transfer: TransferArgs,
    /// The sender's next nonce (`rbft account ADDR` shows the pending one).
    #[arg(long, value_name = "N")]
    nonce: u64,
    /// The chain id of the genesis (`rbft status` shows it).
    #[arg(long = "chain-id", value_name = "ID", value_parser = parse_chain_id)]
    chain_id: ChainId,
    /// Where to write the signed transaction (default: stdout); an existing file
    /// is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Why a signed-transaction file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TxFileError {
    #[error("{} exists; a signed transaction is never overwritten: choose another --out", path.display())]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is larger than {MAX_FILE_BYTES} bytes: not a signed transaction", path.display())]
    TooLarge { path: PathBuf },
    #[error("{} is not a signed transaction (as `rbft tx sign` writes): {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Checked before anything is sent: a node would refuse it anyway.
    #[error("{}: the signature does not match the transaction (was the file edited?)", path.display())]
    BadSignature { path: PathBuf },
}

fn parse_chain_id(text: &str) -> Result<ChainId, String> {
    let invalid = || format!("{text:?} is not a chain id: use 1 to 64 of A-Z a-z 0-9 . _ -");
    if !ledger::is_valid_chain_id(text) {
        return Err(invalid());
    }
    ChainId::new(text).map_err(|_| invalid())
}

/// `rbft tx sign`: reads the key, signs, writes the JSON. Nothing touches the
/// network.
pub fn sign(args: SignArgs, json: bool) -> CliResult {
    let transfer = &args.transfer;
    let key = crypto::keyfile::read_key_file(&transfer.key).map_err(|e| e.to_string())?;
    let signed = sign_transfer(
        &key,
        args.chain_id,
        args.nonce,
        transfer.to,
        transfer.amount,
    );
    let hash = signed.hash();
    let text = serde_json::to_string_pretty(&signed).expect("a transaction serialises to JSON");
    let Some(out) = args.out else {
        println!("{text}");
        return Ok(());
    };
    write_new(&out, &text).map_err(|e| e.to_string())?;
    if json {
        let line = serde_json::json!({ "hash": hash, "file": out.display().to_string() });
        println!("{line}");
    } else {
        println!("signed {hash}");
        println!(
            "wrote {}; send it with `rbft tx submit {}`",
            out.display(),
            out.display()
        );
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> Result<(), TxFileError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => TxFileError::Exists {
                path: path.to_owned(),
            },
            _ => TxFileError::Write {
                path: path.to_owned(),
                source,
            },
        })?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| TxFileError::Write {
            path: path.to_owned(),
            source,
        })
}

/// Reads a signed transaction written by `rbft tx sign` (`-`: stdin) and checks
/// its signature.
pub fn read_signed(path: &Path) -> Result<SignedTransaction, TxFileError> {
    let read_error = |source| TxFileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(TxFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    let signed: SignedTransaction =
        serde_json::from_slice(&bytes).map_err(|source| TxFileError::Json {
            path: path.to_owned(),
            source,
        })?;
    match VerifiedTx::verify(signed) {
        Some(verified) => Ok(verified.into_signed()),
        None => Err(TxFileError::BadSignature {
            path: path.to_owned(),
        }),
    }
}

/// A transfer of `amount` to `to`, signed by `key`: `tx send` and `tx sign` both
/// sign with this.
pub(super) fn sign_transfer(
    key: &SigningKey,
    chain_id: ChainId,
    nonce: u64,
    to: Address,
    amount: u64,
) -> SignedTransaction {
    Transaction {
        chain_id,
        signer: key.public_key(),
        nonce,
        kind: TxKind::Transfer { to, amount },
    }
    .sign(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::SigningKey;
    use ledger::Address;

    fn signed() -> SignedTransaction {
        let key = SigningKey::from_seed([3; 32]);
        sign_transfer(
            &key,
            ChainId::new("sign-test").unwrap(),
            4,
            Address([9; 20]),
            12,
        )
    }

    #[test]
    fn a_written_transaction_reads_back_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.json");
        let tx = signed();
        write_new(&path, &serde_json::to_string_pretty(&tx).unwrap()).unwrap();
        let back = read_signed(&path).unwrap();
        assert_eq!(back, tx);
        assert!(matches!(
            write_new(&path, "{}"),
            Err(TxFileError::Exists { .. })
        ));
        assert_eq!(read_signed(&path).unwrap(), tx);
    }

    #[test]
    fn each_bad_file_is_refused_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let mut forged = serde_json::to_value(signed()).unwrap();
        forged["tx"]["kind"]["transfer"]["amount"] = 1_000.into();
        let cases = [
            (
                at("forged.json", &forged.to_string()),
                "the signature does not match",
            ),
            (
                at("garbage.json", "not json"),
                "is not a signed transaction",
            ),
            (
                at("big.json", &" ".repeat(MAX_FILE_BYTES as usize + 1)),
                "is larger than",
            ),
            (dir.path().join("missing.json"), "cannot read"),
        ];
        for (path, expected) in cases {
            let error = read_signed(&path).unwrap_err().to_string();
            assert!(error.contains(expected), "{}: {error}", path.display());
        }
    }

    #[test]
    fn chain_ids_follow_the_genesis_rule() {
        assert!(parse_chain_id("rbft-test.1_a").is_ok());
        assert!(parse_chain_id("").is_err());
        assert!(parse_chain_id("has space").is_err());
        assert!(parse_chain_id(&"c".repeat(65)).is_err());
    }
}
