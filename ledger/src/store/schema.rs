//! The on-disk layout: column families, keys and the format version.

use crypto::Hash;

/// Bumped whenever the layout changes incompatibly; a store with a higher version
/// is refused rather than misread.
pub const FORMAT_VERSION: u32 = 1;

/// Block height (big-endian u64) → canonical [`crate::Block`].
pub const CF_BLOCKS: &str = "blocks";
/// Block hash → height (big-endian u64).
pub const CF_BLOCK_HASHES: &str = "block_hashes";
/// Transaction hash → canonical [`crate::TxLocation`].
pub const CF_TXS: &str = "txs";
/// Address (20 bytes) → canonical [`crate::Account`].
pub const CF_ACCOUNTS: &str = "accounts";
/// Block height → the block's commit certificate (bytes the consensus layer owns).
pub const CF_CERTIFICATES: &str = "certificates";
/// Metadata: the keys below.
pub const CF_META: &str = "meta";
/// The consensus log: keys and values the consensus driver owns.
pub const CF_CONSENSUS: &str = "consensus";

pub const ALL_CFS: [&str; 7] = [
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_TXS,
    CF_ACCOUNTS,
    CF_CERTIFICATES,
    CF_META,
    CF_CONSENSUS,
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
