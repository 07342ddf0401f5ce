//! The body of `POST /txs`, exactly as the API parses it.

use super::text_round_trip;
use crate::api::submit::{parse, Submission};
use crate::config::ApiSection;

/// A request body: one transaction or an array. JSON is not canonical (spacing, key
/// order), so what parses must parse again from its own encoding to the same value.
pub fn submit_body(bytes: &[u8]) {
    let max_txs = ApiSection::default().max_txs_per_request;
    let Ok(submission) = parse(bytes, max_txs) else {
        return;
    };
    let txs = match &submission {
        Submission::One(tx) => std::slice::from_ref(tx.as_ref()),
        Submission::Many(txs) => txs.as_slice(),
    };
    // Admission hashes every transaction: its canonical encoding must exist.
    for tx in txs {
        let _ = tx.hash();
    }
    text_round_trip(
        "POST /txs body",
        &submission,
        |submission| {
            match submission {
                Submission::One(tx) => serde_json::to_string(tx),
                Submission::Many(txs) => serde_json::to_string(txs),
            }
            .expect("transactions are JSON")
        },
        |text| parse(text.as_bytes(), max_txs).map_err(|e| format!("{e:?}")),
    );
}
