//! `rbft start --home DIR`: runs a validator until Ctrl-C or SIGTERM.

use std::path::Path;

/// Runs the node of `home` until it is told to stop. Built in its own change.
pub fn start(home: &Path) -> Result<(), String> {
    Err(format!(
        "rbft start {}: the node is not built yet",
        home.display()
    ))
}
