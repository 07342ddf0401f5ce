//! The rbft node: what runs a validator (DESIGN.md section 8).
//!
//! - [`config`]: the home directory and `config.toml`;
//! - [`net`]: libp2p between validators (bounded frames, request-response);
//! - [`membership`]: the roster and epochs the ledger records, and whom to dial;
//! - [`wire`]: what the frames mean;
//! - [`driver`]: the task that owns the replica, persists, executes and commits;
//! - [`host`]: the code that answers the replica (proposals, speculative execution,
//!   commits), shared with the simulator; [`status`]: the replica's state as the
//!   driver publishes it; [`join`]: a validator added while the network runs,
//!   syncing as an observer until it is on the roster;
//! - [`edge`]: where peers' frames are decoded and checked before anything uses them;
//!   [`serve`]: answering peers' fetches of bodies, blocks and checkpoints;
//! - [`run`]: `rbft start`, which wires all of it together;
//! - [`mempool`] and [`admit`]: the bounded pool and admission to it;
//! - [`api`]: the HTTP API (its listener's limits in [`conn_limits`]),
//!   [`metrics`]: Prometheus, [`events`]: live events (`GET /events`);
//! - [`evidence`]: faults with the culprit's signed messages, kept and served;
//! - [`client`]: the HTTP client the CLI and the testnet use;
//! - [`verify`]: `rbft block verify`, a block checked from a trusted genesis;
//! - [`governance`]: signing, submitting and awaiting validator changes;
//! - the operator's path: [`init`] (a home and its validator card), [`card`],
//!   [`genesis_build`] (a genesis from the cards), [`addr`] (listen and dial
//!   addresses) and [`preflight`] (what `rbft start` checks before writing);
//! - [`fuzz_checks`]: what the fuzz targets of `fuzz/` hold every decoder reachable
//!   from outside to.
#![forbid(unsafe_code)]

pub mod addr;
pub mod admit;
pub mod api;
pub mod card;
pub mod client;
pub mod config;
pub mod conn_limits;
pub mod driver;
pub mod edge;
pub mod events;
pub mod evidence;
pub mod fuzz_checks;
pub mod genesis_build;
pub mod governance;
pub mod host;
pub mod init;
pub mod join;
pub mod membership;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod preflight;
pub mod run;
pub mod serve;
pub mod shared;
pub mod status;
pub mod verify;
pub mod wire;
