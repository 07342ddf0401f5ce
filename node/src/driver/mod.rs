//! The task that owns the replica. Built in its own change.
