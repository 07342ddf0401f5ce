//! The ledger's routes: blocks, commit certificates, transactions, accounts.

use super::error::ApiError;
use super::types::{
    AccountInfo, BlockInfo, BlockList, BlockSummary, CommitInfo, CommitSignature, TxInfo, TxStatus,
};
use super::{read, read_chain};
use crate::shared::Shared;
use crate::wire::Certificate;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use consensus::Message;
use crypto::{Canonical, Hash};
use ledger::{Address, Block, ChainReader};
use serde::Deserialize;
use std::sync::Arc;

/// `GET /blocks` answers this many blocks when `limit` is not given (and at most
/// `api.max_blocks_per_page`).
pub const DEFAULT_BLOCKS_PER_PAGE: usize = 20;

/// The length of a hash in hex.
const HASH_HEX_LEN: usize = 64;

/// How a client names a block: `/blocks/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockId {
    Height(u64),
    Hash(Hash),
}

/// An id of 64 characters is a hash, always: even when every character is a digit
/// (`/blocks/000…000` names the zero hash, which no block has, not height 0; a
/// client walking parents from a block must end at 404, not loop on genesis). No
/// height has 64 digits (2^64 - 1 has 20).
fn parse_block_id(text: &str) -> Result<BlockId, ApiError> {
    if text.len() == HASH_HEX_LEN {
        return parse_hash(text, "block hash").map(BlockId::Hash);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_height(text).map(BlockId::Height);
    }
    Err(ApiError::bad_request(format!(
        "{text:?} is neither a block height (decimal) nor a block hash (64 hex characters)"
    )))
}

fn parse_height(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|e| {
        ApiError::bad_request(format!(
            "{text:?} is not a block height (0 to 2^64 - 1): {e}"
        ))
    })
}

fn parse_hash(text: &str, what: &str) -> Result<Hash, ApiError> {
    text.parse()
        .map_err(|e| ApiError::bad_request(format!("{text:?} is not a {what}: {e}")))
}

fn block_info(block: Block) -> BlockInfo {
    let hash = block.hash();
    let tx_hashes = block.tx_hashes();
    let h = block.header;
    BlockInfo {
        hash,
        height: h.height,
        parent: h.parent,
        batch_digest: h.batch_digest,
        tx_root: h.tx_root,
        state_root: h.state_root,
        tx_count: h.tx_count,
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer,
        tx_hashes,
        transactions: block.txs.into_inner(),
    }
}

fn block_summary(block: &Block) -> BlockSummary {
    let h = &block.header;
    BlockSummary {
        hash: block.hash(),
        height: h.height,
        parent: h.parent,
        state_root: h.state_root,
        tx_count: h.tx_count,
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer,
    }
}

/// A block the store's index names must be in the store.
fn indexed_block(chain: &ChainReader, height: u64) -> Result<Block, ApiError> {
    chain
        .block(height)?
        .ok_or_else(|| ApiError::internal(format!("the store indexes block {height} but lacks it")))
}

/// `GET /blocks/latest`.
pub async fn latest_block(State(shared): State<Arc<Shared>>) -> Result<Json<BlockInfo>, ApiError> {
    read_chain(&shared, |_, chain| {
        let tip = chain.tip()?;
        indexed_block(chain, tip.height).map(block_info)
    })
    .await
    .map(Json)
}

/// `GET /blocks/{id}`.
pub async fn block(
    State(shared): State<Arc<Shared>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<BlockInfo>, ApiError> {
    let id = parse_block_id(&id?.0)?;
    let block = read_chain(&shared, move |_, chain| match id {
        BlockId::Height(height) => Ok(chain.block(height)?),
        BlockId::Hash(hash) => Ok(chain.block_by_hash(&hash)?),
    })
    .await?;
    match block {
        Some(block) => Ok(Json(block_info(block))),
        None => Err(ApiError::not_found(match id {
            BlockId::Height(height) => format!("no block at height {height}"),
            BlockId::Hash(hash) => format!("no block with hash {hash}"),
        })),
    }
}

/// The order of `GET /blocks`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Oldest first: `from` is the lowest height (default 0).
    #[default]
    Asc,
    /// Newest first: `from` is the highest height (default, and at most, the tip).
    Desc,
}

/// The query of `GET /blocks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocksQuery {
    from: Option<u64>,
    limit: Option<usize>,
    #[serde(default)]
    order: Order,
}

/// `GET /blocks?from=&limit=&order=`.
pub async fn blocks(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<BlocksQuery>, QueryRejection>,
) -> Result<Json<BlockList>, ApiError> {
    let Query(query) = query?;
    let limit = match query.limit {
        Some(0) => return Err(ApiError::bad_request("limit must be at least 1")),
        Some(limit) => limit,
        None => DEFAULT_BLOCKS_PER_PAGE,
    }
    .min(shared.config.api.max_blocks_per_page);
    read_chain(&shared, move |_, chain| {
        let tip = chain.tip()?.height;
        match query.order {
            Order::Asc => blocks_up(chain, query.from.unwrap_or(0), limit, tip),
            Order::Desc => blocks_down(chain, query.from.map_or(tip, |f| f.min(tip)), limit),
        }
    })
    .await
    .map(Json)
}

/// Up to `limit` blocks from `from` upwards.
fn blocks_up(
    chain: &ChainReader,
    from: u64,
    limit: usize,
    tip: u64,
) -> Result<BlockList, ApiError> {
    let blocks: Vec<BlockSummary> = chain
        .blocks(from, limit)?
        .iter()
        .map(block_summary)
        .collect();
    let next = match blocks.last() {
        Some(last) if last.height < tip => Some(last.height + 1),
        _ => None,
    };
    Ok(BlockList { blocks, next })
}

/// Up to `limit` blocks from `from` (at most the tip) downwards.
fn blocks_down(chain: &ChainReader, from: u64, limit: usize) -> Result<BlockList, ApiError> {
    // `limit` is at least 1 and at most `api.max_blocks_per_page`.
    let lowest = from.saturating_sub(limit as u64 - 1);
    let count = (from - lowest + 1) as usize;
    let blocks: Vec<BlockSummary> = chain
        .blocks(lowest, count)?
        .iter()
        .rev()
        .map(block_summary)
        .collect();
    let next = match blocks.last() {
        Some(last) if last.height > 0 => Some(last.height - 1),
        _ => None,
    };
    Ok(BlockList { blocks, next })
}

/// `GET /blocks/{height}/commit`.
pub async fn block_commit(
    State(shared): State<Arc<Shared>>,
    height: Result<Path<String>, PathRejection>,
) -> Result<Json<CommitInfo>, ApiError> {
    let height = parse_height(&height?.0)?;
    read_chain(&shared, move |shared, chain| {
        let Some(block) = chain.block(height)? else {
            return Err(ApiError::not_found(format!("no block at height {height}")));
        };
        if height == 0 {
            return Err(ApiError::not_found(
                "block 0 is the genesis block: it is not committed by consensus and has no commit certificate",
            ));
        }
        let bytes = chain.certificate(height)?.ok_or_else(|| {
            ApiError::internal(format!("the store holds block {height} but not its certificate"))
        })?;
        commit_info(shared.membership().roster(), &block, &bytes)
    })
    .await
    .map(Json)
}

/// The stored certificate of `block`, in JSON. The store wrote these bytes itself,
/// so bytes that do not decode are a broken store (500), not bad input.
fn commit_info(
    roster: &[crypto::PublicKey],
    block: &Block,
    bytes: &[u8],
) -> Result<CommitInfo, ApiError> {
    let height = block.header.height;
    let certificate = Certificate::from_canonical_bytes(bytes).map_err(|e| {
        ApiError::internal(format!(
            "the certificate of block {height} does not decode: {e}"
        ))
    })?;
    let mut signatures = Vec::with_capacity(certificate.commits.len());
    for signed in certificate.commits.iter() {
        let message = Message::from_canonical_bytes(&signed.payload).map_err(|e| {
            ApiError::internal(format!("a COMMIT of block {height} does not decode: {e}"))
        })?;
        if !matches!(message, Message::Commit(_)) {
            return Err(ApiError::internal(format!(
                "the certificate of block {height} holds a {:?}, not a COMMIT",
                message.kind()
            )));
        }
        // Senders are roster ids: stable across membership changes.
        let public_key = roster.get(signed.sender.index()).ok_or_else(|| {
            ApiError::internal(format!(
                "the certificate of block {height} is signed by {}, who is not on the roster",
                signed.sender
            ))
        })?;
        signatures.push(CommitSignature {
            replica: signed.sender.0,
            public_key: *public_key,
            payload: hex::encode(&*signed.payload),
            signature: signed.signature,
        });
    }
    Ok(CommitInfo {
        height,
        block_hash: block.hash(),
        view: certificate.view,
        batch_digest: block.header.batch_digest,
        signatures,
    })
}

/// `GET /txs/{hash}`: the chain first, then the pool, then the chain again, then
/// the pool's drop reasons. A block is durable before its transactions leave the
/// pool, so a transaction committing meanwhile is seen in one place or the other.
pub async fn tx(
    State(shared): State<Arc<Shared>>,
    hash: Result<Path<String>, PathRejection>,
) -> Result<Json<TxInfo>, ApiError> {
    let hash = parse_hash(&hash?.0, "transaction hash")?;
    let unknown = TxInfo {
        hash,
        status: TxStatus::Pending,
        transaction: None,
        height: None,
        block_hash: None,
        index: None,
        reason: None,
    };
    read_chain(&shared, move |shared, chain| {
        if let Some(committed) = committed_tx(chain, &hash, &unknown)? {
            return Ok(committed);
        }
        let pool = shared
            .mempool
            .lock()
            .map_err(|_| ApiError::internal("the mempool lock is poisoned"))?;
        if let Some(tx) = pool.get(&hash) {
            return Ok(TxInfo {
                status: TxStatus::Pending,
                transaction: Some(tx.signed().clone()),
                ..unknown
            });
        }
        if let Some(committed) = committed_tx(chain, &hash, &unknown)? {
            return Ok(committed);
        }
        if let Some(reason) = pool.dropped_reason(&hash) {
            return Ok(TxInfo {
                status: TxStatus::Dropped,
                reason: Some(reason.to_string()),
                ..unknown
            });
        }
        Err(ApiError::not_found(format!(
            "transaction {hash} is not committed, pending or recently dropped here"
        )))
    })
    .await
    .map(Json)
}

/// The committed transaction `hash`, if it is.
fn committed_tx(
    chain: &ChainReader,
    hash: &Hash,
    unknown: &TxInfo,
) -> Result<Option<TxInfo>, ApiError> {
    let Some(location) = chain.tx_location(hash)? else {
        return Ok(None);
    };
    let block = indexed_block(chain, location.height)?;
    let transaction = block
        .txs
        .get(location.index as usize)
        .cloned()
        .ok_or_else(|| ApiError::internal(format!("the index of {hash} points past its block")))?;
    Ok(Some(TxInfo {
        status: TxStatus::Committed,
        transaction: Some(transaction),
        height: Some(location.height),
        block_hash: Some(block.hash()),
        index: Some(location.index),
        ..unknown.clone()
    }))
}

/// `GET /accounts/{address}`.
pub async fn account(
    State(shared): State<Arc<Shared>>,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<AccountInfo>, ApiError> {
    let text = address?.0;
    let address: Address = text
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{text:?}: {e}")))?;
    read(&shared, move |shared, store| {
        let account = store.account(&address).unwrap_or_default();
        let pending_nonce = pending_nonce(shared, &address, account.nonce)?;
        Ok(AccountInfo {
            address,
            balance: account.balance,
            nonce: account.nonce,
            pending_nonce,
        })
    })
    .await
    .map(Json)
}

/// The next nonce after `committed` that no pooled transaction of `address` uses
/// (the pool admits nonces ahead of the committed one, with gaps).
fn pending_nonce(shared: &Shared, address: &Address, committed: u64) -> Result<u64, ApiError> {
    let pool = shared
        .mempool
        .lock()
        .map_err(|_| ApiError::internal("the mempool lock is poisoned"))?;
    Ok(pool.pending_nonce(address, committed))
}
