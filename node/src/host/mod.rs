//! The host core: the code that answers the replica (DESIGN.md section 3 steps 2
//! to 5), one implementation that the node's driver and the simulator
//! (`testnet sim`) both run, so a simulator seed exercises what runs in
//! production.
//!
//! - [`carry`]: the order in which a host carries out what a replica's step asks
//!   (persist, make durable, commit, send, answer), and the answers fed back in;
//!   each host says how through [`carry::Carrier`];
//! - [`Executor`] ([`speculative`]): the primary's proposals built from the pool,
//!   batches executed on a stack of speculative states above the committed ledger,
//!   the validator set in force at a height, and the check that what the replica
//!   commits is what was executed before it is written.
//! - [`pool`]: what the replica is told about the pool (`Input::TxsAvailable`),
//!   and the pool after a commit (its transactions out, the ones it made stale
//!   dropped).
//! - [`Ledger`] and [`LedgerWrite`] ([`ledger`]): the committed ledger under the
//!   stack, the RocksDB [`::ledger::Store`] in the node and an in-memory ledger in
//!   the simulator. The pool is the node's [`crate::mempool::Mempool`] in both.
//!
//! What stays with each host is how things travel and where they are kept: the
//! node persists the replica's log in RocksDB, fetches missing bodies and
//! transfers state over libp2p; the simulator keeps them in memory and delivers
//! them itself.

pub mod carry;
pub mod ledger;
pub mod pool;
pub mod speculative;

#[cfg(feature = "test-faults")]
pub mod faults;

pub use self::ledger::{Ledger, LedgerWrite};
pub use speculative::{CommitError, Committed, Executor, OutOfOrder, Proposal};
