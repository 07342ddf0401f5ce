//! What the fuzz targets check, one function per door a stranger can knock on: the
//! bytes a peer, a client or a file hands the node, and the decoder that takes them.
//!
//! Each check decodes its input the way the node does, with the node's own functions,
//! and holds it to three rules (RELIABILITY.md, "Fuzzed decoders"):
//!
//! 1. **No panic.** Bad input is a typed error; the check ignores the error, so any
//!    panic is the decoder's.
//! 2. **Bounded allocation.** Enforced around the check, not in it: the fuzz targets
//!    and the replay test count every allocation (`fuzz/src/budget.rs`).
//! 3. **What decodes re-encodes.** A canonical encoding must give back the very
//!    bytes it came from; a text format (JSON, TOML), where spacing and order are
//!    free, must decode again to the same value: `decode(encode(decode(x))) ==
//!    decode(x)`.
//!
//! `fuzz/fuzz_targets/` wraps each check in a libFuzzer target of the same name, and
//! `node/tests/fuzz_replay.rs` runs every input of `fuzz/corpus/` and
//! `fuzz/regressions/` through the same checks in `make test`.

mod api;
mod chain;
mod client;
mod consensus;
mod fetch;
mod files;
mod frames;
pub mod seeds;

use crypto::Canonical;
use std::fmt::Debug;

/// A fuzz target: its name (the file in `fuzz/fuzz_targets/` and the folders of its
/// inputs) and its check.
pub struct Target {
    pub name: &'static str,
    pub check: fn(&[u8]),
}

/// Every target, in the order `make fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "frames",
        check: frames::frames,
    },
    Target {
        name: "peer_message",
        check: consensus::peer_message,
    },
    Target {
        name: "consensus_payload",
        check: consensus::consensus_payload,
    },
    Target {
        name: "fetch_request",
        check: fetch::fetch_request,
    },
    Target {
        name: "fetch_response",
        check: fetch::fetch_response,
    },
    Target {
        name: "transaction",
        check: chain::transaction,
    },
    Target {
        name: "block",
        check: chain::block,
    },
    Target {
        name: "submit_body",
        check: api::submit_body,
    },
    Target {
        name: "api_answer",
        check: client::api_answer,
    },
    Target {
        name: "config",
        check: files::config,
    },
    Target {
        name: "genesis",
        check: files::genesis,
    },
    Target {
        name: "card",
        check: files::card,
    },
];

/// The check named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Decodes `bytes` canonically as a `T`; if it decodes, the value must encode to
/// exactly `bytes` again.
pub(crate) fn canonical<T: Canonical + Debug>(bytes: &[u8]) -> Option<T> {
    let value = T::from_canonical_bytes(bytes).ok()?;
    let again = value.to_canonical_bytes();
    assert!(
        again == bytes,
        "a {} decoded from {} bytes re-encodes to {} other bytes: {value:?}",
        T::NAME,
        bytes.len(),
        again.len()
    );
    Some(value)
}

/// Checks a value decoded from a text format: its encoding must decode to it again.
pub(crate) fn text_round_trip<T: PartialEq + Debug, E: Debug>(
    what: &str,
    value: &T,
    encode: impl FnOnce(&T) -> String,
    decode: impl FnOnce(&str) -> Result<T, E>,
) {
    let text = encode(value);
    match decode(&text) {
        Ok(again) => assert!(
            &again == value,
            "a {what} re-encoded as {text:?} decodes to another value: {again:?}, not {value:?}"
        ),
        Err(e) => panic!("a {what} re-encoded as {text:?} does not decode: {e:?}"),
    }
}
