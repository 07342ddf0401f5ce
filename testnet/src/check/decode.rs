//! The API's JSON turned back into the ledger's blocks and the node's
//! certificates: the node's own decoder, which `rbft block verify` uses too.

pub use node::verify::decode::{block_of, certificate_of, DecodeFault};
