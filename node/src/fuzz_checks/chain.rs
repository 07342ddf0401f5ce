//! Transactions and blocks in their canonical encoding, the bytes their hashes and
//! signatures are over: forwarded by peers, carried in blocks, kept in the store.

use super::{canonical, text_round_trip};
use crate::wire::Certificate;
use ledger::{Block, BlockHeader, SignedTransaction, Transaction};

/// A signed transaction; one that decodes must also survive JSON, the form clients
/// and the API show it in.
pub fn transaction(bytes: &[u8]) {
    if let Some(tx) = canonical::<SignedTransaction>(bytes) {
        let _ = tx.hash();
        text_round_trip(
            "signed transaction",
            &tx,
            |tx| serde_json::to_string(tx).expect("a transaction is JSON"),
            |text| serde_json::from_str::<SignedTransaction>(text),
        );
    }
    let _ = canonical::<Transaction>(bytes);
}

/// A block, its header alone, and a commit certificate: the parts of a block
/// transfer.
pub fn block(bytes: &[u8]) {
    if let Some(block) = canonical::<Block>(bytes) {
        let _ = block.body_matches_header();
    }
    if let Some(header) = canonical::<BlockHeader>(bytes) {
        let _ = header.hash();
    }
    let _ = canonical::<Certificate>(bytes);
}
