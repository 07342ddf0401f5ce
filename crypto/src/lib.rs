//! Cryptographic building blocks for rbft, and the canonical encoding.
//!
//! - [`Hash`]: a 32-byte SHA-256 digest, hex in `Display`, `FromStr` and JSON.
//! - [`SigningKey`], [`PublicKey`], [`Signature`]: ed25519 (ed25519-dalek) with
//!   domain-separated signing ([`Domain`]) and strict verification
//!   (`verify_strict`), plus [`verify_batch`] for admitting many signatures at once.
//! - `stand_in` (feature `stand-in`): a deterministic stand-in for ed25519 that a
//!   thread can put in force, for the simulator.
//! - `memo` (feature `memo`): a per-thread memo of the signatures a thread found
//!   valid, for the simulator.
//! - [`merkle_root`]: a binary merkle root over a list of hashes.
//! - [`keyfile`]: reading and writing key files.
//! - [`codec`]: the one canonical binary encoding (postcard) used for the wire, the
//!   disk and everything that is signed or hashed. It lives here, in the bottom
//!   crate, because both `ledger` and `consensus` need it and neither may depend on
//!   the other (DESIGN.md section 1).
#![forbid(unsafe_code)]

pub mod codec;
mod fixed_bytes;
mod hash;
pub mod keyfile;
mod keys;
#[cfg(feature = "memo")]
pub mod memo;
mod merkle;
#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use codec::{BoundedBytes, BoundedString, BoundedVec, Canonical, DecodeError, TooMany};
pub use hash::{sha256, Hash, HashParseError, Sha256};
pub use keys::{
    verify_batch, BatchItem, Domain, KeyParseError, PublicKey, Signature, SignatureError,
    SigningKey,
};
pub use merkle::merkle_root;
