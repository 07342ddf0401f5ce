//! The rbft ledger: what is ordered and what it does.
//!
//! - [`Transaction`]s (transfers and the admin's governance kinds), signed and
//!   checked once into [`VerifiedTx`].
//! - [`Block`]s: a header whose hash commits to the parent, the batch digest, the
//!   transactions and the state root; nothing in it depends on the view a block
//!   commits in (DESIGN.md section 7).
//! - The [`Genesis`] document with the consensus parameters of DESIGN.md section 10.
//! - [`execute`]: the pure state transition. It reads a [`StateView`] (committed state
//!   plus any speculative blocks on top) and returns a [`StateDelta`] holding the new
//!   accounts and state root; nothing is changed until the delta is applied.
//! - [`Store`]: the RocksDB ledger. One synced write batch per block, so a crash
//!   leaves either the whole block or none of it.
#![forbid(unsafe_code)]
// `PublicKey` keeps its decompressed curve point (192 bytes) so that verifying a
// signature never decompresses it again; errors that name a key are therefore large.
// They are returned on rare paths only, where the extra copy costs nothing measurable.
#![allow(clippy::result_large_err)]

mod account;
mod block;
pub mod execute;
mod genesis;
pub mod state;
pub mod store;
mod tx;

pub use account::{Account, Address, AddressParseError};
pub use block::{Block, BlockHeader, TxLocation, MAX_BLOCK_TXS};
pub use execute::{
    execute_batch, execute_block, BatchOutcome, BlockError, BlockExecutor, ExecEnv, TxError,
};
pub use genesis::{
    is_valid_chain_id, ChainId, ConsensusParams, Genesis, GenesisBalance, GenesisError,
    ValidatorInfo, MAX_VALIDATORS, MIN_VALIDATORS,
};
pub use state::{State, StateDelta, StateView, ValidatorChange};
pub use store::{
    changes_in, ChainReader, FoundTxs, HistoryEntry, Store, StoreError, Tip, MAX_CERTIFICATE_BYTES,
};
pub use tx::{SignedTransaction, Transaction, TxKind, VerifiedTx, TX_DOMAIN};
