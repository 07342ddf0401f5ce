//! What a node answers the `rbft` command line and the testnet's client
//! (`node::client`): JSON bodies of every route the client reads, error bodies, and
//! the events of `GET /events`. A node the operator points the client at may be
//! hostile too.

use super::text_round_trip;
use crate::api::evidence::{EvidenceInfo, EvidenceList};
use crate::api::history::AccountTxs;
use crate::api::types::{
    AccountInfo, BlockInfo, BlockList, CheckpointInfo, CommitInfo, ErrorBody, GenesisInfo, Health,
    StatusInfo, Submitted, SubmittedMany, TxInfo, ValidatorsInfo,
};
use crate::events::Event;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// Decodes `bytes` as a `T` as the client does; what decodes must decode again, to
/// the same value, from its own encoding.
fn answer<T: DeserializeOwned + Serialize + PartialEq + Debug>(what: &str, bytes: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        text_round_trip(
            what,
            &value,
            |value| serde_json::to_string(value).expect("an answer is JSON"),
            |text| serde_json::from_str::<T>(text),
        );
    }
}

/// An answer body, tried as each type the client reads.
pub fn api_answer(bytes: &[u8]) {
    answer::<Health>("health", bytes);
    answer::<StatusInfo>("status", bytes);
    answer::<TxInfo>("transaction", bytes);
    answer::<BlockInfo>("block", bytes);
    answer::<BlockList>("block list", bytes);
    answer::<CommitInfo>("commit certificate", bytes);
    answer::<CheckpointInfo>("checkpoint", bytes);
    answer::<GenesisInfo>("genesis", bytes);
    answer::<ValidatorsInfo>("validators", bytes);
    answer::<AccountInfo>("account", bytes);
    answer::<AccountTxs>("account history", bytes);
    answer::<EvidenceList>("evidence list", bytes);
    answer::<EvidenceInfo>("evidence record", bytes);
    answer::<Submitted>("submitted", bytes);
    answer::<SubmittedMany>("submitted many", bytes);
    answer::<ErrorBody>("error", bytes);
    answer::<Event>("event", bytes);
}
