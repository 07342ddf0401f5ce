//! The HTTP API (DESIGN.md sections 8 and 9).

pub mod types;
