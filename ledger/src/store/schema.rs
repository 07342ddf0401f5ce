//! The on-disk layout: column families, keys and the format version.

use crypto::Hash;

/// Bumped whenever the layout changes; a store with a higher version is refused
/// rather than misread. Version 2 added [`CF_ACCOUNT_TXS`] and [`CF_EVIDENCE`]; a
/// version 1 store gets its account index built when it opens
/// ([`super::account_txs`]).
pub const FORMAT_VERSION: u32 = 2;

/// Block height (big-endian u64) → canonical [`crate::Block`].
pub const CF_BLOCKS: &str = "blocks";
/// Block hash → height (big-endian u64).
pub const CF_BLOCK_HASHES: &str = "block_hashes";
/// Transaction hash → canonical [`crate::TxLocation`]; and, under
/// [`spans_key`], where each transaction of a block starts in the block's
/// canonical encoding.
pub const CF_TXS: &str = "txs";
/// Address (20 bytes) → canonical [`crate::Account`].
pub const CF_ACCOUNTS: &str = "accounts";
/// Block height → the block's commit certificate (bytes the consensus layer owns).
pub const CF_CERTIFICATES: &str = "certificates";
/// Metadata: the keys below.
pub const CF_META: &str = "meta";
/// The consensus log: keys and values the consensus driver owns.
pub const CF_CONSENSUS: &str = "consensus";

/// Address (20 bytes) ‖ height (big-endian u64) ‖ index in the block (big-endian
/// u32) → the transaction's hash: every committed transaction under its signer's
/// address and, for a transfer, its recipient's ([`super::account_txs`]).
pub const CF_ACCOUNT_TXS: &str = "account_txs";
/// Evidence id (big-endian u64, from 1) → a record of misbehaviour (bytes the node
/// owns; [`super::evidence`]).
pub const CF_EVIDENCE: &str = "evidence";

pub const ALL_CFS: [&str; 9] = [
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_TXS,
    CF_ACCOUNTS,
    CF_CERTIFICATES,
    CF_META,
    CF_CONSENSUS,
    CF_ACCOUNT_TXS,
    CF_EVIDENCE,
];

pub const META_FORMAT_VERSION: &[u8] = b"format_version";
pub const META_GENESIS_HASH: &[u8] = b"genesis_hash";
pub const META_TIP: &[u8] = b"tip";
pub const META_VALIDATORS: &[u8] = b"validators";

/// The largest commit certificate the store accepts.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

pub fn decode_height(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

pub fn decode_hash(bytes: &[u8]) -> Option<Hash> {
    Some(Hash(bytes.try_into().ok()?))
}

/// The key, in [`CF_TXS`], of the start offsets of the transactions of block
/// `height` within its canonical encoding (a big-endian `u32` each, in block order),
/// so one transaction is read without decoding the block. Thirteen bytes: never a
/// 32-byte transaction hash. Stores written before these keys lack them, and their
/// transactions are read by decoding the block.
pub fn spans_key(height: u64) -> [u8; 13] {
    let mut key = [0u8; 13];
    key[..5].copy_from_slice(b"spans");
    key[5..].copy_from_slice(&height.to_be_bytes());
    key
}

/// The start offsets [`spans_key`] stores for `block`, encoded.
pub fn tx_spans(block: &crate::Block, block_len: usize) -> Vec<u8> {
    use crypto::Canonical;
    let lens: Vec<usize> = block
        .txs
        .iter()
        .map(|tx| tx.to_canonical_bytes().len())
        .collect();
    // The transactions are the tail of the block's encoding.
    let mut offset = block_len - lens.iter().sum::<usize>();
    let mut spans = Vec::with_capacity(4 * lens.len());
    for len in lens {
        spans.extend_from_slice(&(offset as u32).to_be_bytes());
        offset += len;
    }
    spans
}
