//! The rbft node: what runs a validator. Today: the mempool (DESIGN.md section 8).
//! The network, the driver of the replica, the HTTP API and the rest of the CLI
//! arrive with the node issue.
#![forbid(unsafe_code)]

pub mod mempool;
