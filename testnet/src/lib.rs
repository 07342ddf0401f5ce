//! The `testnet` tool's library: the deterministic simulator (`sim`). The local
//! network (`up`) and the benchmark (`bench`) arrive with the node.
#![forbid(unsafe_code)]

pub mod sim;
