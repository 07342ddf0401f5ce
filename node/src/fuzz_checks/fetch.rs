//! Request-response between validators: what a peer asks (transaction bodies,
//! blocks, the stable checkpoint) and what it answers (bodies, block-transfer
//! chunks of certified blocks, the checkpoint with its proof, or busy).

use super::canonical;
use crate::wire::{FetchRequest, FetchResponse};

/// A request, as `edge` decodes it before `serve` answers.
pub fn fetch_request(bytes: &[u8]) {
    let _ = canonical::<FetchRequest>(bytes);
}

/// An answer, as a fetch or a block transfer decodes it.
pub fn fetch_response(bytes: &[u8]) {
    let Some(response) = canonical::<FetchResponse>(bytes) else {
        return;
    };
    match response {
        FetchResponse::Txs(txs) => {
            for tx in txs.iter() {
                let _ = tx.hash();
            }
        }
        // What a transfer checks first, before any signature.
        FetchResponse::Blocks(blocks) => {
            for certified in blocks.iter() {
                let _ = (
                    certified.block.hash(),
                    certified.block.body_matches_header(),
                );
            }
        }
        FetchResponse::StableCheckpoint(_) | FetchResponse::Busy => {}
    }
}
