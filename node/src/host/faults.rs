//! Bugs the simulator's own tests plant in the host core, to show that a seed
//! catches a fault in the code the node runs. Compiled only with the `test-faults`
//! feature, which the `rbft` binary is built without.

/// Which bugs are planted. All off by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostFaults {
    /// A commit leaves the pooled transactions it made stale in the pool.
    pub keep_stale: bool,
    /// A block's parent is the committed tip, even above speculative blocks.
    pub parent_is_tip: bool,
}
