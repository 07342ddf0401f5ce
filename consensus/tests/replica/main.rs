//! Table-driven tests of the replica (STYLE.md habit 10). Each test names the
//! DESIGN.md step or PBFT paper section it checks.

mod acceptance;
mod checkpoints;
mod cluster;
mod decode;
mod harness;
mod membership;
mod phases;
mod restart;
mod view_change;
