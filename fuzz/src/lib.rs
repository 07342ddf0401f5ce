//! The fuzz targets' common part: each target is a thin wrapper that runs one of
//! `node::fuzz_checks` within the allocation budget.

pub mod budget;

/// Runs the check named `name` on `input` within the allocation budget.
pub fn run(name: &str, input: &[u8]) {
    let target = node::fuzz_checks::target(name).expect("every fuzz target has a check");
    budget::within_budget(target.check, input);
}
