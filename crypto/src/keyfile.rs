//! Key files: the 32-byte ed25519 seed as 64 hex characters and a newline, readable
//! only by its owner (mode 0600).

use crate::keys::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("key file {path} does not exist")]
    NotFound { path: PathBuf },
    #[error("key file {path} already exists; refusing to overwrite a key")]
    AlreadyExists { path: PathBuf },
    #[error("key file {path} is malformed: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The longest file we read as a key: 64 hex characters plus generous whitespace.
const MAX_KEY_FILE_BYTES: u64 = 1024;

/// Writes `key` to a new file at `path` with mode 0600. Never overwrites.
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            KeyFileError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    writeln!(file, "{}", hex::encode(key.seed())).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads a key file written by [`write_key_file`].
pub fn read_key_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            KeyFileError::NotFound {
                path: path.to_owned(),
            }
        } else {
            KeyFileError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let malformed = |reason: String| KeyFileError::Malformed {
        path: path.to_owned(),
        reason,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_KEY_FILE_BYTES {
        return Err(malformed(format!(
            "{len} bytes; a key file holds 64 hex characters"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            malformed("not UTF-8 text".into())
        } else {
            io(e)
        }
    })?;
    let seed = crate::fixed_bytes::from_hex::<32>(text.trim()).map_err(malformed)?;
    Ok(SigningKey::from_seed(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = SigningKey::generate();
        write_key_file(&path, &key).unwrap();
        assert_eq!(read_key_file(&path).unwrap().seed(), key.seed());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        write_key_file(&path, &SigningKey::generate()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let first = SigningKey::generate();
        write_key_file(&path, &first).unwrap();
        let err = write_key_file(&path, &SigningKey::generate()).unwrap_err();
        assert!(matches!(err, KeyFileError::AlreadyExists { .. }), "{err}");
        assert_eq!(read_key_file(&path).unwrap().seed(), first.seed());
    }

    #[test]
    fn missing_and_malformed_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.key");
        assert!(matches!(
            read_key_file(&missing),
            Err(KeyFileError::NotFound { .. })
        ));
        for (name, contents) in [
            ("short", b"abcd\n".to_vec()),
            ("nothex", "zz".repeat(32).into_bytes()),
            ("binary", vec![0xff; 64]),
            ("huge", vec![b'a'; 4096]),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).unwrap();
            let err = read_key_file(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::Malformed { .. }),
                "{name}: {err}"
            );
            assert!(
                err.to_string().contains(name),
                "error names the file: {err}"
            );
        }
    }
}
