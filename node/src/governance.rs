//! Governance from the client side (issue 7): sign an AddValidator or RemoveValidator
//! with the admin key, submit it to a node, and wait until it commits. The `rbft
//! validator` commands and `testnet add-node` / `remove-node` use it.

use crate::api::types::{TxInfo, TxStatus};
use crate::client::{Client, ClientError};
use crypto::{Hash, SigningKey};
use ledger::{Address, ChainId, Transaction, TxKind};
use std::path::Path;
use std::time::Duration;

/// Why a governance transaction did not get submitted or committed.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    #[error("admin key: {0}")]
    Key(#[from] crypto::keyfile::KeyFileError),
    #[error("the node reports an invalid chain id {0:?}")]
    BadChainId(String),
    /// The node answered 4xx: the code says why (`not_admin`, `already_validator`,
    /// `not_validator`, `stale_nonce`...).
    #[error("the node refused the transaction: {message} ({code})")]
    Refused { code: String, message: String },
    #[error("{0}")]
    Client(ClientError),
    #[error("transaction {hash} was dropped: {reason}")]
    Dropped { hash: Hash, reason: String },
    #[error("transaction {hash} did not commit within {waited_s} s")]
    Timeout { hash: Hash, waited_s: u64 },
}

impl From<ClientError> for GovernanceError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Server {
                status: 400..=499,
                code,
                message,
                ..
            } => GovernanceError::Refused { code, message },
            other => GovernanceError::Client(other),
        }
    }
}

/// Reads an admin key file.
pub fn read_admin_key(path: &Path) -> Result<SigningKey, GovernanceError> {
    Ok(crypto::keyfile::read_key_file(path)?)
}

/// Signs `kind` with `admin` at the admin account's next nonce (pooled ones
/// counted) and submits it; returns its hash once the node admitted it.
pub fn submit(client: &Client, admin: &SigningKey, kind: TxKind) -> Result<Hash, GovernanceError> {
    let status = client.status()?;
    let chain_id = ChainId::new(status.chain_id.clone())
        .map_err(|_| GovernanceError::BadChainId(status.chain_id.clone()))?;
    let nonce = client
        .account(&Address::of(&admin.public_key()))?
        .pending_nonce;
    let signed = Transaction {
        chain_id,
        signer: admin.public_key(),
        nonce,
        kind,
    }
    .sign(admin);
    Ok(client.submit(&signed)?)
}

/// Waits until the transaction `hash` is committed and returns its height.
pub fn wait_committed(
    client: &Client,
    hash: &Hash,
    timeout: Duration,
) -> Result<u64, GovernanceError> {
    match client.wait_settled(hash, timeout)? {
        Some(TxInfo {
            status: TxStatus::Committed,
            height: Some(height),
            ..
        }) => Ok(height),
        Some(TxInfo {
            status: TxStatus::Dropped,
            reason,
            ..
        }) => Err(GovernanceError::Dropped {
            hash: *hash,
            reason: reason.unwrap_or_else(|| "no reason given".into()),
        }),
        _ => Err(GovernanceError::Timeout {
            hash: *hash,
            waited_s: timeout.as_secs(),
        }),
    }
}
