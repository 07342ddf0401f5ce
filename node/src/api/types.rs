//! The JSON bodies of the HTTP API (DESIGN.md section 9), shared by the server
//! (`crate::api`) and the client (`crate::client`). Hashes, keys, signatures and
//! addresses are hex strings; amounts, heights and nonces are JSON numbers.

use crypto::{Hash, PublicKey};
use ledger::{Address, SignedTransaction};
use serde::{Deserialize, Serialize};

/// Every error: `{"error": {"code": "...", "message": "..."}}` (DESIGN.md section 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `bad_request`, `not_found`,
    /// `stale_nonce`, `pool_full` (the OpenAPI document lists them all).
    pub code: String,
    pub message: String,
}

/// `POST /txs` takes one [`SignedTransaction`] or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SubmitBody {
    One(Box<SignedTransaction>),
    Many(Vec<SignedTransaction>),
}

/// `202` answer to one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submitted {
    pub hash: Hash,
}

/// `200` answer to an array: one result per transaction, in order. (When every
/// transaction was refused because the pool is full, the answer is `429` instead.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmittedMany {
    pub accepted: usize,
    pub rejected: usize,
    pub results: Vec<SubmitResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitResult {
    pub hash: Hash,
    /// `None` when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// Where a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In this node's pool.
    Pending,
    /// In a committed block.
    Committed,
    /// Was pooled, then dropped (`reason` says why).
    Dropped,
}

/// `GET /txs/{hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxInfo {
    pub hash: Hash,
    pub status: TxStatus,
    /// Present when pending or committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<SignedTransaction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_hash: Option<Hash>,
    /// Position in the block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Why it was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /blocks/...`: a block with its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockInfo {
    pub hash: Hash,
    pub height: u64,
    pub parent: Hash,
    pub batch_digest: Hash,
    pub tx_root: Hash,
    pub state_root: Hash,
    pub tx_count: u32,
    pub timestamp_ms: u64,
    pub proposer: PublicKey,
    /// The transactions' hashes, in block order.
    pub tx_hashes: Vec<Hash>,
    /// The transactions, in block order.
    pub transactions: Vec<SignedTransaction>,
}

/// `GET /blocks?from=&limit=&order=`: headers only, ascending heights (or
/// descending with `order=desc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockList {
    pub blocks: Vec<BlockSummary>,
    /// The height to ask for next (as `from`, in the same order), if there are
    /// more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSummary {
    pub hash: Hash,
    pub height: u64,
    pub parent: Hash,
    pub state_root: Hash,
    pub tx_count: u32,
    pub timestamp_ms: u64,
    pub proposer: PublicKey,
}

/// `GET /blocks/{height}/commit`: the commit certificate, anyone can check it
/// against the validator set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitInfo {
    pub height: u64,
    pub block_hash: Hash,
    pub view: u64,
    pub batch_digest: Hash,
    pub signatures: Vec<CommitSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSignature {
    /// The signer's position in the validator list, and its key.
    pub replica: u32,
    pub public_key: PublicKey,
    /// The signed COMMIT's canonical bytes (hex), so anyone can re-verify it.
    pub payload: String,
    pub signature: crypto::Signature,
}

/// `GET /accounts/{address}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub address: Address,
    pub balance: u64,
    /// The next nonce the committed state expects.
    pub nonce: u64,
    /// The next nonce counting this node's pooled transactions of the account.
    pub pending_nonce: u64,
}

/// `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusInfo {
    pub chain_id: String,
    pub genesis_hash: Hash,
    /// This node's roster id (null while its key is not on the roster of its
    /// ledger: a joining validator syncing its AddValidator), and its key.
    pub replica: Option<u32>,
    /// Whether this node orders the next height (a member of the epoch in force).
    pub member: bool,
    pub public_key: PublicKey,
    pub height: u64,
    pub tip_hash: Hash,
    pub view: u64,
    pub primary: u32,
    pub is_primary: bool,
    pub changing_view: bool,
    pub low_watermark: u64,
    pub high_watermark: u64,
    pub pool_size: usize,
    pub peers_connected: usize,
    pub validators: usize,
    /// Whether recovery (DESIGN.md section 5.2) runs, and the height it is bringing
    /// the ledger to (the tip when it runs none or has not chosen one yet).
    pub catching_up: bool,
    pub target_height: u64,
    pub uptime_ms: u64,
}

pub use crate::status::{ConsensusInfo, RecoveryInfo};

/// `GET /checkpoints/latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInfo {
    /// 0 and the genesis block hash when no checkpoint is stable yet.
    pub height: u64,
    pub block_hash: Hash,
    /// The replicas whose CHECKPOINTs prove it.
    pub signers: Vec<u32>,
    /// The proof itself (the C set, DESIGN.md section 4): the signed CHECKPOINTs,
    /// in signer order, so anyone holding the validator set of this height can
    /// check the checkpoint without trusting this node. Empty at genesis.
    pub proof: Vec<SignedCheckpoint>,
}

/// One CHECKPOINT of a stable checkpoint's proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The signer's roster id, and its key.
    pub replica: u32,
    pub public_key: PublicKey,
    /// The signed CHECKPOINT's canonical bytes (hex), signed in the
    /// `Checkpoint` domain of the chain id.
    pub payload: String,
    pub signature: crypto::Signature,
}

/// `GET /genesis`: the genesis document this node runs, and its hash (the
/// chain's identity, as in `/status`; `rbft genesis check` prints the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisInfo {
    pub hash: Hash,
    pub genesis: ledger::Genesis,
}

/// `GET /validators`: the membership (DESIGN.md section 6) as this node's ledger
/// records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorsInfo {
    /// The ledger's height; the set below orders the next one.
    pub height: u64,
    /// The first height the set in force orders (its epoch's first).
    pub since_height: u64,
    pub f: usize,
    pub quorum: usize,
    /// The validators in force for the next height, in ledger order.
    pub validators: Vec<ValidatorEntry>,
    /// Committed changes not in force yet, in order.
    pub pending: Vec<PendingMembership>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    /// The roster id (stable for ever, also across removal and re-addition).
    pub replica: u32,
    pub public_key: PublicKey,
    pub address: Address,
    pub p2p_addr: String,
    /// The first height from which it has ordered without interruption.
    pub since: u64,
}

/// A committed governance change waiting for its switch height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingMembership {
    /// The height of the block that holds the (last) change.
    pub authorised_at: u64,
    /// The first height the new set orders (the switch height plus one).
    pub from_height: u64,
    pub f: usize,
    pub quorum: usize,
    pub validators: Vec<ValidatorEntry>,
}

/// `GET /peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersInfo {
    pub peers: Vec<PeerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEntry {
    pub replica: u32,
    pub public_key: PublicKey,
    pub p2p_addr: String,
    pub connected: bool,
}

/// `GET /pool`: this node's transaction pool at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolInfo {
    pub txs: usize,
    pub bytes: usize,
    /// The pool's limits (`mempool.max_txs`, `mempool.max_bytes`).
    pub max_txs: usize,
    pub max_bytes: usize,
    /// Pooled transactions a proposal of this node holds.
    pub proposed: usize,
    /// Accounts with a pooled transaction.
    pub senders: usize,
    /// How long the oldest pooled transaction has waited (absent when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_age_ms: Option<u64>,
    /// Drop reasons remembered for `GET /txs/{hash}`.
    pub dropped_remembered: usize,
    /// Clients are refused (429 `pool_busy`) while the pool holds this many.
    pub admit_limit: usize,
    /// Transactions committed per second lately (block time), which
    /// `admit_limit` follows.
    pub drain_per_s: u64,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub ok: bool,
}
