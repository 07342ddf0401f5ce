//! The `testnet` tool's library (DESIGN.md section 9):
//!
//! - [`layout`]: the directory of a local testnet (keys, genesis, configs);
//! - [`procs`]: its nodes as supervised child processes;
//! - [`probe`]: a `/health` prober for tests under attack or overload;
//! - [`membership`]: `add-node` and `remove-node`, validators added and removed;
//! - [`bench`]: the load generator and its measurements;
//! - [`byzantine_peer`]: a validator's key in a process that attacks the others
//!   over real libp2p (a test tool);
//! - [`catch_up_bench`]: how fast a node far behind catches up;
//! - [`chaos`]: load across namespaced hosts while faults come and go, then a check;
//! - [`check`]: `testnet check`, whether every node holds one valid ledger (the
//!   same blocks, valid commit certificates for the validator set of each height,
//!   the genesis supply, every committed transaction once);
//! - [`hosts`]: nodes in network namespaces, built by the operators' commands, with
//!   faults between them;
//! - [`sim`]: the deterministic simulator;
//! - [`sweep`]: every simulator suite over a range of fresh seeds.
#![forbid(unsafe_code)]

pub mod bench;
pub mod byzantine_peer;
pub mod catch_up_bench;
pub mod chaos;
pub mod check;
pub mod hosts;
pub mod layout;
pub mod membership;
pub mod module_graph;
pub mod probe;
pub mod procs;
pub mod sim;
pub mod sweep;
