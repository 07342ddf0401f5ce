//! `GET /accounts/{address}/txs`: an account's committed transactions, newest
//! first, in pages, read from the ledger's account index
//! (`ledger::store::account_txs`), which each block's own write keeps.
//!
//! A page names the next one with a cursor, `HEIGHT.INDEX` of its last
//! transaction; `?before=CURSOR` continues strictly after it, so pages neither
//! repeat nor skip entries while new blocks commit.

use super::error::ApiError;
use super::read_chain;
use crate::shared::Shared;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use crypto::Hash;
use ledger::store::{ChainPosition, MAX_ACCOUNT_TXS_PAGE};
use ledger::{Address, TxKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Entries a page holds when `limit` is not given.
pub const DEFAULT_ACCOUNT_TXS_PAGE: usize = 20;

/// The most entries a page holds (`limit` above it is lowered to it).
pub const MAX_PAGE: usize = 100;

const _: () = assert!(MAX_PAGE < MAX_ACCOUNT_TXS_PAGE);

/// `GET /accounts/{address}/txs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTxs {
    pub address: Address,
    /// Newest first.
    pub txs: Vec<AccountTxEntry>,
    /// The cursor of the next page (`?before=`), when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One committed transaction touching the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTxEntry {
    pub hash: Hash,
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
    /// The timestamp of its block.
    pub timestamp_ms: u64,
    /// `transfer`, `add_validator` or `remove_validator`.
    pub kind: String,
    /// The signer's address.
    pub from: Address,
    /// A transfer's recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<u64>,
    pub nonce: u64,
}

/// The query of `GET /accounts/{address}/txs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountTxsQuery {
    before: Option<String>,
    limit: Option<usize>,
}

/// A cursor's text: `HEIGHT.INDEX`.
pub fn cursor(position: ChainPosition) -> String {
    format!("{}.{}", position.height, position.index)
}

fn parse_cursor(text: &str) -> Result<ChainPosition, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{text:?} is not a cursor (HEIGHT.INDEX, as a page's \"next\" gives it)"
        ))
    };
    let (height, index) = text.split_once('.').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(height) || !digits(index) {
        return Err(bad());
    }
    Ok(ChainPosition {
        height: height.parse().map_err(|_| bad())?,
        index: index.parse().map_err(|_| bad())?,
    })
}

/// `GET /accounts/{address}/txs?before=&limit=`.
pub async fn account_txs(
    State(shared): State<Arc<Shared>>,
    address: Result<Path<String>, PathRejection>,
    query: Result<Query<AccountTxsQuery>, QueryRejection>,
) -> Result<Json<AccountTxs>, ApiError> {
    let text = address?.0;
    let address: Address = text
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{text:?}: {e}")))?;
    let Query(query) = query?;
    let before = query.before.as_deref().map(parse_cursor).transpose()?;
    let limit = match query.limit {
        Some(0) => return Err(ApiError::bad_request("limit must be at least 1")),
        Some(limit) => limit.min(MAX_PAGE),
        None => DEFAULT_ACCOUNT_TXS_PAGE,
    };
    read_chain(&shared, move |_, chain| {
        // One more than asked: whether there is a next page.
        let mut found = chain.account_txs(&address, before, limit + 1)?;
        let more = found.len() > limit;
        found.truncate(limit);
        let hashes: Vec<Hash> = found.iter().map(|t| t.hash).collect();
        let bodies: HashMap<Hash, ledger::SignedTransaction> = chain
            .transactions(&hashes, limit)?
            .txs
            .into_iter()
            .map(|(tx, _)| (tx.hash(), tx))
            .collect();
        let mut txs = Vec::with_capacity(found.len());
        for entry in &found {
            let signed = bodies.get(&entry.hash).ok_or_else(|| {
                ApiError::internal(format!(
                    "the account index names {}, which the chain does not hold",
                    entry.hash
                ))
            })?;
            let tx = &signed.tx;
            let (kind, to, amount) = match &tx.kind {
                TxKind::Transfer { to, amount } => ("transfer", Some(*to), Some(*amount)),
                TxKind::AddValidator { .. } => ("add_validator", None, None),
                TxKind::RemoveValidator { .. } => ("remove_validator", None, None),
            };
            txs.push(AccountTxEntry {
                hash: entry.hash,
                height: entry.position.height,
                index: entry.position.index,
                timestamp_ms: entry.timestamp_ms,
                kind: kind.to_owned(),
                from: tx.sender(),
                to,
                amount,
                nonce: tx.nonce,
            });
        }
        let next = match found.last() {
            Some(last) if more => Some(cursor(last.position)),
            _ => None,
        };
        Ok(AccountTxs { address, txs, next })
    })
    .await
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_malformed_ones_are_refused() {
        let position = ChainPosition {
            height: 12,
            index: 3,
        };
        assert_eq!(parse_cursor(&cursor(position)).unwrap(), position);
        for bad in [
            "",
            "12",
            "12.",
            ".3",
            "a.3",
            "12.3.4",
            "-1.0",
            "12.99999999999",
            "1 .2",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }
}
