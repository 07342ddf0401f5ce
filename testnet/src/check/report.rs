//! What the checker found: one [`Problem`] per thing wrong, each naming the node,
//! the height and what differs; the nodes that lag (a note unless heights must be
//! equal); and the totals, printed as one JSON line.

use super::decode::DecodeFault;
use super::fetch::FetchError;
use crypto::Hash;
use node::driver::transfer::BadBlocks;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Why a block a node served is not a good block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockFault {
    /// Asked for a block by hash, it served another.
    NotTheBlockAsked {
        served: Hash,
        served_height: u64,
    },
    Undecodable(DecodeFault),
    /// The header's transaction count or merkle root does not match the body.
    BodyMismatch,
    /// Transaction `index` of the block is not validly signed.
    BadTxSignature {
        tx: Hash,
        index: usize,
    },
    /// Its governance transactions make a validator set the membership refuses.
    BadMembership(String),
    /// The node's `/blocks` summary of it differs from its header.
    SummaryMismatch,
}

impl fmt::Display for BlockFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockFault::NotTheBlockAsked {
                served,
                served_height,
            } => write!(
                f,
                "asked for it by hash, served block {served} at height {served_height}"
            ),
            BlockFault::Undecodable(fault) => write!(f, "not a block: {fault}"),
            BlockFault::BodyMismatch => {
                f.write_str("its transactions do not match the header's count and merkle root")
            }
            BlockFault::BadTxSignature { tx, index } => {
                write!(f, "transaction {index} ({tx}) is not validly signed")
            }
            BlockFault::SummaryMismatch => f.write_str(
                "the node's /blocks summary of it differs from the header of the block with its hash",
            ),
            BlockFault::BadMembership(reason) => {
                write!(
                    f,
                    "its governance transactions make an invalid membership: {reason}"
                )
            }
        }
    }
}

/// Why a commit certificate does not prove its block.
// `PublicKey` keeps its decompressed point (192 bytes), so `WrongKey` is large; a
// report holds a handful of problems, so boxing would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum CertificateFault {
    /// The node answered `/blocks/{height}/commit` with an error (the client's
    /// message: status, code and the node's words).
    NotServed(String),
    Undecodable(DecodeFault),
    /// The certificate is for another block than the node's block at its height.
    OtherBlock {
        certified: Hash,
        block: Hash,
    },
    /// A signature does not verify under the key the chain gives that replica.
    BadSignature {
        replica: u32,
    },
    /// The node names replica `replica`'s key as `served`; the genesis and the
    /// membership changes of the chain make it `expected` (or no key at all).
    WrongKey {
        replica: u32,
        served: crypto::PublicKey,
        expected: Option<crypto::PublicKey>,
    },
    /// What the node's own block-transfer check refuses: an entry that is not a
    /// COMMIT of a member of the height's validator set for this block and view,
    /// or fewer distinct signers than that set's quorum.
    Refused(BadBlocks),
}

impl fmt::Display for CertificateFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateFault::NotServed(error) => write!(f, "not served: {error}"),
            CertificateFault::Undecodable(fault) => write!(f, "undecodable: {fault}"),
            CertificateFault::OtherBlock { certified, block } => {
                write!(
                    f,
                    "certifies block {certified}, but the node's block is {block}"
                )
            }
            CertificateFault::BadSignature { replica } => write!(
                f,
                "the COMMIT of replica {replica} does not verify under its validator key"
            ),
            CertificateFault::WrongKey {
                replica,
                served,
                expected: Some(expected),
            } => write!(
                f,
                "names {served} as replica {replica}'s key; the chain gives {expected}"
            ),
            CertificateFault::WrongKey {
                replica,
                served,
                expected: None,
            } => write!(
                f,
                "names {served} as replica {replica}'s key; the chain has no replica {replica}"
            ),
            CertificateFault::Refused(bad) => write!(f, "{bad}"),
        }
    }
}

/// One thing wrong with the network's ledgers.
// Large through `CertificateFault` (see there).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Problem {
    /// A node could not be read (it is left out of the other checks).
    Fetch(FetchError),
    /// The genesis given makes no validator set.
    InvalidGenesis { reason: String },
    /// No node was given to check.
    NoNodes,
    ChainIdMismatch {
        node: String,
        expected: String,
        found: String,
    },
    /// `what` is `genesis hash` (from `/status`) or `block 0`.
    GenesisMismatch {
        node: String,
        what: &'static str,
        expected: Hash,
        found: Hash,
    },
    /// Nodes hold different blocks at `height`: each hash with its nodes.
    Fork {
        height: u64,
        hashes: Vec<(Hash, Vec<String>)>,
    },
    /// Nodes' blocks at `height` carry different state roots: each with its nodes.
    StateRootDiffers {
        height: u64,
        roots: Vec<(Hash, Vec<String>)>,
    },
    /// The node's block at `height` does not name its block at `height - 1`.
    BrokenChain {
        node: String,
        height: u64,
        parent: Hash,
        previous: Hash,
    },
    BadBlock {
        node: String,
        height: u64,
        fault: BlockFault,
    },
    /// No node holding this block served it.
    BodyUnavailable { height: u64, hash: Hash },
    BadCertificate {
        node: String,
        height: u64,
        fault: CertificateFault,
    },
    /// Only with `equal_heights`: the node is `behind` heights below the highest.
    UnequalHeight {
        node: String,
        height: u64,
        behind: u64,
    },
    SupplyMismatch {
        node: String,
        height: u64,
        expected: u128,
        found: u128,
    },
    /// The node kept committing while its balances were read, so they were never
    /// all read at one height.
    SupplyUnsettled {
        node: String,
        from_height: u64,
        to_height: u64,
    },
    /// A transaction reported committed is in no node's chain.
    MissingTx { tx: Hash },
    /// A transaction is in a chain more than once: at these heights, on these nodes.
    DuplicatedTx {
        tx: Hash,
        heights: Vec<u64>,
        nodes: Vec<String>,
    },
}

fn groups(list: &[(Hash, Vec<String>)]) -> String {
    list.iter()
        .map(|(hash, nodes)| format!("{hash} on {}", nodes.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Fetch(error) => write!(f, "unreadable node {error}"),
            Problem::InvalidGenesis { reason } => write!(f, "the genesis is invalid: {reason}"),
            Problem::NoNodes => f.write_str("no node to check"),
            Problem::ChainIdMismatch {
                node,
                expected,
                found,
            } => write!(f, "{node}: chain id {found:?}, the genesis says {expected:?}"),
            Problem::GenesisMismatch {
                node,
                what,
                expected,
                found,
            } => write!(f, "{node}: {what} {found}, the genesis file gives {expected}"),
            Problem::Fork { height, hashes } => {
                write!(f, "fork at height {height}: {}", groups(hashes))
            }
            Problem::StateRootDiffers { height, roots } => {
                write!(f, "state roots differ at height {height}: {}", groups(roots))
            }
            Problem::BrokenChain {
                node,
                height,
                parent,
                previous,
            } => write!(
                f,
                "{node}: block {height} names parent {parent}, but its block {} is {previous}",
                height - 1
            ),
            Problem::BadBlock {
                node,
                height,
                fault,
            } => write!(f, "{node}: block {height}: {fault}"),
            Problem::BodyUnavailable { height, hash } => write!(
                f,
                "block {hash} at height {height}: no node holding it served it"
            ),
            Problem::BadCertificate {
                node,
                height,
                fault,
            } => write!(f, "{node}: commit certificate of block {height}: {fault}"),
            Problem::UnequalHeight {
                node,
                height,
                behind,
            } => write!(
                f,
                "{node}: at height {height}, {behind} behind the highest node"
            ),
            Problem::SupplyMismatch {
                node,
                height,
                expected,
                found,
            } => write!(
                f,
                "{node}: balances at height {height} add up to {found}, the genesis supply is {expected}"
            ),
            Problem::SupplyUnsettled {
                node,
                from_height,
                to_height,
            } => write!(
                f,
                "{node}: kept committing (height {from_height} to {to_height}) while its balances were read; check a quiet network"
            ),
            Problem::MissingTx { tx } => {
                write!(f, "transaction {tx} was reported committed but is in no node's chain")
            }
            Problem::DuplicatedTx { tx, heights, nodes } => write!(
                f,
                "transaction {tx} is committed more than once, at heights {heights:?}, on {}",
                nodes.join(", ")
            ),
        }
    }
}

/// A node below the highest one (not a failure unless heights must be equal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    pub node: String,
    pub height: u64,
    pub behind: u64,
}

impl fmt::Display for Lag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at height {}, {} behind the highest node",
            self.node, self.height, self.behind
        )
    }
}

/// Everything the check found. `problems` empty = the network's ledgers agree.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Every node asked, and those that could be read.
    pub nodes: usize,
    pub nodes_read: usize,
    pub lowest_height: u64,
    pub highest_height: u64,
    /// Heights looked at: 0 to the highest node's height.
    pub heights_checked: u64,
    /// Heights at which two nodes hold different blocks (or state roots).
    pub divergent_heights: u64,
    /// Certificates judged (every node's, every height from 1), and the bad ones.
    pub certificates_checked: u64,
    pub bad_certificates: u64,
    pub supply_expected: u128,
    /// Each node read: the sum of its balances (none for a node whose balances
    /// could not be read at one height).
    pub supply_found: BTreeMap<String, Option<u128>>,
    /// Transactions reported committed that are in no node's chain.
    pub missing_txs: Vec<Hash>,
    /// Transactions committed more than once.
    pub duplicated_txs: Vec<Hash>,
    pub lagging: Vec<Lag>,
    pub problems: Vec<Problem>,
}

/// The JSON summary line.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    ok: bool,
    nodes: usize,
    nodes_read: usize,
    lowest_height: u64,
    highest_height: u64,
    heights_checked: u64,
    divergent_heights: u64,
    certificates_checked: u64,
    bad_certificates: u64,
    supply_expected: u128,
    supply_found: &'a BTreeMap<String, Option<u128>>,
    missing_txs: usize,
    duplicated_txs: usize,
    lagging: &'a [Lag],
    problems: usize,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The human lines: each problem, each lagging node, then a verdict.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.problems.iter().map(|p| format!("FAIL {p}")).collect();
        lines.extend(self.lagging.iter().map(|lag| format!("note {lag}")));
        lines.push(format!(
            "{}: {} of {} nodes read; heights 0 to {} checked, every node read holds 0 to {}; {} certificates checked",
            if self.ok() { "ok" } else { "FAILED" },
            self.nodes_read,
            self.nodes,
            self.highest_height,
            self.lowest_height,
            self.certificates_checked
        ));
        lines
    }

    /// The summary as one line of JSON.
    pub fn summary_json(&self) -> String {
        let summary = Summary {
            ok: self.ok(),
            nodes: self.nodes,
            nodes_read: self.nodes_read,
            lowest_height: self.lowest_height,
            highest_height: self.highest_height,
            heights_checked: self.heights_checked,
            divergent_heights: self.divergent_heights,
            certificates_checked: self.certificates_checked,
            bad_certificates: self.bad_certificates,
            supply_expected: self.supply_expected,
            supply_found: &self.supply_found,
            missing_txs: self.missing_txs.len(),
            duplicated_txs: self.duplicated_txs.len(),
            lagging: &self.lagging,
            problems: self.problems.len(),
        };
        serde_json::to_string(&summary).expect("the summary serialises")
    }
}
