//! `testnet`: local networks (`up`), the benchmark (`bench`) and the deterministic
//! simulator (`sim`), DESIGN.md section 9. None exists yet: the simulator arrives
//! with the consensus core and `up` and `bench` with the node. Until then this
//! binary says so and exits with a failure status, so nothing mistakes it for a
//! running network.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "testnet: the local testnet needs the rbft node, which is not built yet.\n\
         What exists today: the `rbft keygen` command, the crypto and ledger crates,\n\
         and their tests (`make test`) and benchmarks (`make bench`)."
    );
    ExitCode::FAILURE
}
