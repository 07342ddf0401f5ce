//! The HTTP client the CLI and the testnet use. Built in its own change.
