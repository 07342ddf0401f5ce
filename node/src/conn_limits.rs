//! The API listener's connection limits and why it refuses a connection
//! ([`crate::api::serve`] enforces them; `[api]` in the config sets them).

use std::time::Duration;

/// The API's connection limits (from `[api]` in the config).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub header_timeout: Duration,
    pub max_header_bytes: usize,
    /// A connection whose client takes no bytes for this long is closed
    /// ([`crate::api::stall`]).
    pub write_stall: Duration,
}

/// Why a connection was closed as soon as it was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` are open.
    Full,
    /// `max_connections_per_ip` are open from this address.
    PerIp,
}

impl Refusal {
    pub const ALL: [Refusal; 2] = [Refusal::Full, Refusal::PerIp];

    pub fn name(self) -> &'static str {
        match self {
            Refusal::Full => "full",
            Refusal::PerIp => "per_ip",
        }
    }
}
