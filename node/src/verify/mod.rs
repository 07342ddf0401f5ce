//! `rbft block verify`: anyone holding a trusted genesis file checks a block a node
//! serves without trusting that node (issue 19).
//!
//! From the genesis the walk goes up block by block to the height asked for, each
//! block fetched with its commit certificate (`GET /blocks/{height}` and
//! `/blocks/{height}/commit`), and each checked as a state transfer checks it:
//! - block 0 is the block the genesis file makes (so the node runs this chain);
//! - the hash the node gives is the hash of the header it serves;
//! - the header names the block below as its parent;
//! - the transactions match the header's count and merkle root, and each is
//!   validly signed;
//! - the certificate is for this block (height and hash), and the node's own
//!   checker ([`Checker::check_certificate`]) finds every entry a COMMIT for this
//!   block, hash and batch digest in one view, from a member of the validator set
//!   that orders this height, no member twice, a quorum of them, and every
//!   signature valid under the key the genesis and the chain give that member (the
//!   keys the node prints beside the signatures are ignored);
//! - the governance transactions of each block update the set, exactly as the
//!   node follows them ([`Checker::record_changes`], DESIGN.md section 6), so the
//!   set in force at the height asked for is the one derived from the genesis.
//!
//! A stable checkpoint (`GET /checkpoints/latest`) is checked the same way
//! ([`verify_checkpoint`]): its block, then its signed CHECKPOINTs by the set of
//! its height.
//!
//! Walking every block is what makes the set at the height trustworthy: a block
//! that was skipped could hide a membership change. Each refusal is a
//! [`VerifyError`] naming the height and the problem.

pub mod decode;

use crate::api::types::{BlockInfo, CheckpointInfo, CommitInfo};
use crate::client::{Client, ClientError};
use crate::driver::transfer::{BadBlocks, Checker};
use consensus::SeqNo;
use crypto::Hash;
use ledger::{Block, Genesis, VerifiedTx};
use serde::Serialize;

/// Where the blocks and certificates come from: a node's API ([`Client`]), or, in
/// tests, a wrapper that tampers with what a node served.
pub trait Source {
    /// `GET /blocks/{height}`.
    fn block(&self, height: u64) -> Result<BlockInfo, ClientError>;
    /// `GET /blocks/{height}/commit`.
    fn commit(&self, height: u64) -> Result<CommitInfo, ClientError>;
}

impl Source for Client {
    fn block(&self, height: u64) -> Result<BlockInfo, ClientError> {
        Client::block(self, &height.to_string())
    }

    fn commit(&self, height: u64) -> Result<CommitInfo, ClientError> {
        Client::commit(self, height)
    }
}

/// Why a block does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the genesis file does not make a valid validator set: {0}")]
    BadGenesis(#[from] consensus::MembershipError),
    #[error("fetching {what}: {source}")]
    Fetch {
        what: String,
        #[source]
        source: ClientError,
    },
    #[error("asked for block {asked}, the node served block {served}")]
    WrongHeight { asked: u64, served: u64 },
    #[error("block {height}: {fault}")]
    Undecodable {
        height: u64,
        fault: decode::DecodeFault,
    },
    #[error(
        "the node runs another chain: its block 0 is {served}, the genesis file makes {expected}"
    )]
    OtherGenesis { served: Hash, expected: Hash },
    #[error("block {height}: the node calls it {claimed}, but its header hashes to {computed}")]
    WrongHash {
        height: u64,
        claimed: Hash,
        computed: Hash,
    },
    #[error("block {height}: the certificate served is for block {certified_hash} at height {certified_height}, not for {hash}")]
    CertificateOfOtherBlock {
        height: u64,
        hash: Hash,
        certified_height: u64,
        certified_hash: Hash,
    },
    #[error("the checkpoint names block {checkpoint} at height {height}, but the block there is {block}")]
    CheckpointOfOtherBlock {
        height: u64,
        block: Hash,
        checkpoint: Hash,
    },
    #[error("the checkpoint at {height} is not proven: signed by replicas {signers:?}, the set of its height is {members:?} with quorum {quorum} (or a signature, a signer or a message is wrong)")]
    UnprovenCheckpoint {
        height: u64,
        signers: Vec<u32>,
        members: Vec<u32>,
        quorum: usize,
    },
    /// The checks a state transfer makes: parent, transactions, certificate.
    #[error("{0}")]
    Refused(#[from] BadBlocks),
}

/// What was checked, for the report `rbft block verify` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub height: u64,
    pub hash: Hash,
    pub genesis_hash: Hash,
    pub chain_id: String,
    pub parent: Hash,
    pub tx_count: u32,
    pub tx_root: Hash,
    /// The blocks below `height` checked on the way (parent, body, certificate).
    pub blocks_below: u64,
    /// Heights of the blocks whose governance transactions changed the set.
    pub membership_changes: Vec<u64>,
    /// The set that orders `height`: its first height, members and quorum.
    pub set_since: u64,
    pub members: Vec<u32>,
    pub quorum: usize,
    /// The certificate (absent for block 0, which the genesis makes).
    pub view: Option<u64>,
    pub signers: Vec<u32>,
}

/// Verifies block `height` as served by `source`, from `genesis` on.
pub fn verify(
    genesis: &Genesis,
    source: &impl Source,
    height: u64,
) -> Result<Verified, VerifyError> {
    walk(genesis, source, height).map(|(verified, _)| verified)
}

/// Verifies the stable checkpoint `info` (`GET /checkpoints/latest`): its block
/// as [`verify`] does, then its proof, the signed CHECKPOINTs, by the set of its
/// height with the same rule the replicas use ([`Checker::judge`]: a quorum of
/// that set's members, each once, each signature valid, each for this height and
/// block). Height 0 is the genesis, which needs no proof.
pub fn verify_checkpoint(
    genesis: &Genesis,
    source: &impl Source,
    info: &CheckpointInfo,
) -> Result<Verified, VerifyError> {
    let height = info.height;
    let (verified, checker) = walk(genesis, source, height)?;
    if verified.hash != info.block_hash {
        return Err(VerifyError::CheckpointOfOtherBlock {
            height,
            block: verified.hash,
            checkpoint: info.block_hash,
        });
    }
    if height == 0 {
        return Ok(verified);
    }
    let stable =
        decode::checkpoint_of(info).map_err(|fault| VerifyError::Undecodable { height, fault })?;
    match checker.judge(&stable) {
        Some(true) => Ok(verified),
        _ => Err(VerifyError::UnprovenCheckpoint {
            height,
            signers: info.proof.iter().map(|s| s.replica).collect(),
            members: verified.members,
            quorum: verified.quorum,
        }),
    }
}

/// [`verify`], also returning the checker as it stands after the block.
fn walk(
    genesis: &Genesis,
    source: &impl Source,
    height: u64,
) -> Result<(Verified, Checker), VerifyError> {
    let mut checker = Checker::of_genesis(genesis)?;
    let expected = genesis.block(&genesis.initial_state()).hash();
    let (genesis_block, served) = fetch_block(source, 0)?;
    if served != expected {
        return Err(VerifyError::OtherGenesis { served, expected });
    }
    let mut last = genesis_block;
    let mut parent = served;
    let mut membership_changes = Vec::new();
    let mut certificate = None;
    for at in 1..=height {
        let (block, hash) = fetch_block(source, at)?;
        let (view, signers) = check_block(&checker, source, &block, hash, parent)?;
        if !ledger::changes_in(&block).is_empty() {
            membership_changes.push(at);
        }
        checker.record_changes(&block)?;
        checker.known_through = at;
        certificate = Some((view, signers));
        parent = hash;
        last = block;
    }
    let epoch = checker.membership.at(SeqNo(height));
    let (view, signers) = certificate.map_or((None, Vec::new()), |(v, s)| (Some(v), s));
    let verified = Verified {
        height,
        hash: parent,
        genesis_hash: genesis.hash(),
        chain_id: genesis.chain_id.to_string(),
        parent: last.header.parent,
        tx_count: last.header.tx_count,
        tx_root: last.header.tx_root,
        blocks_below: height.saturating_sub(1),
        membership_changes,
        set_since: epoch.first.0,
        members: epoch.members.iter().map(|m| m.0).collect(),
        quorum: epoch.q(),
        view,
        signers,
    };
    Ok((verified, checker))
}

/// Block `height` as served, with the hash its header gives (which must be the
/// hash the node names).
fn fetch_block(source: &impl Source, height: u64) -> Result<(Block, Hash), VerifyError> {
    let info = source.block(height).map_err(|source| VerifyError::Fetch {
        what: format!("block {height}"),
        source,
    })?;
    if info.height != height {
        return Err(VerifyError::WrongHeight {
            asked: height,
            served: info.height,
        });
    }
    let claimed = info.hash;
    let block =
        decode::block_of(info).map_err(|fault| VerifyError::Undecodable { height, fault })?;
    let computed = block.hash();
    if computed != claimed {
        return Err(VerifyError::WrongHash {
            height,
            claimed,
            computed,
        });
    }
    Ok((block, computed))
}

/// Checks `block` (whose header hashes to `hash`) on the block below (`parent`)
/// and its certificate against `checker`'s set. Returns the certificate's view
/// and signers.
fn check_block(
    checker: &Checker,
    source: &impl Source,
    block: &Block,
    hash: Hash,
    parent: Hash,
) -> Result<(u64, Vec<u32>), VerifyError> {
    let height = block.header.height;
    if block.header.parent != parent {
        return Err(BadBlocks::BrokenChain { height }.into());
    }
    if !block.body_matches_header() {
        return Err(BadBlocks::BodyMismatch { height }.into());
    }
    if VerifiedTx::verify_many(block.txs.to_vec())
        .iter()
        .any(Result::is_err)
    {
        return Err(BadBlocks::BadTxSignature { height }.into());
    }
    let info = source.commit(height).map_err(|source| VerifyError::Fetch {
        what: format!("the commit certificate of block {height}"),
        source,
    })?;
    if info.height != height || info.block_hash != hash {
        return Err(VerifyError::CertificateOfOtherBlock {
            height,
            hash,
            certified_height: info.height,
            certified_hash: info.block_hash,
        });
    }
    let certificate = decode::certificate_of(&info)
        .map_err(|fault| VerifyError::Undecodable { height, fault })?;
    checker.check_certificate(block, &certificate, hash)?;
    let signers = certificate.commits.iter().map(|s| s.sender.0).collect();
    Ok((certificate.view, signers))
}
