//! The PBFT/RBFT replica as a deterministic state machine (DESIGN.md sections 3-6).
//!
//! This crate never touches a socket, a clock, a random number generator, a thread
//! or a disk: it takes verified messages, ticks and execution results, and returns
//! messages to send, state to persist first, blocks to execute and timers. The
//! normal case is built in the consensus-core issue; this file only fixes the
//! crate's place in the workspace (DESIGN.md section 1).
#![forbid(unsafe_code)]
