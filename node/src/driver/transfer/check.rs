//! The checks a block transfer makes off the driver, on the blocking pool: what a
//! peer served must be the next blocks, chained, each with a valid commit
//! certificate, validly signed transactions and a body that matches its header
//! (see [`super`]).

use crate::wire::{Certificate, CertifiedBlock};
use consensus::{Membership, MembershipChange, Message, MessageKind, SeqNo, StableCheckpoint};
use crypto::{BatchItem, Canonical, Hash};
use ledger::{Block, ValidatorChange, ValidatorInfo, VerifiedTx};
use std::collections::BTreeSet;

/// Why blocks a peer served were refused (the peer is punished).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadBlocks {
    #[error("served block {got} where {expected} was asked for")]
    WrongHeight { expected: u64, got: u64 },
    #[error("served {got} blocks where at most {asked} were asked for")]
    TooMany { asked: u64, got: usize },
    #[error("block {height} does not name the block before it as its parent")]
    BrokenChain { height: u64 },
    #[error("block {height}'s transactions do not match its header")]
    BodyMismatch { height: u64 },
    #[error("block {height}: replica {replica} signs its certificate but is not in the validator set that orders height {height}")]
    NotAMember { height: u64, replica: u32 },
    #[error("block {height}: the certificate entry of replica {replica} is not a COMMIT")]
    NotACommit { height: u64, replica: u32 },
    #[error("block {height}: the COMMIT of replica {replica} is for another block, height or view (a signature over another block)")]
    OtherBlock { height: u64, replica: u32 },
    /// An honest certificate holds `q` COMMITs of distinct members; a repeated one
    /// only pads it.
    #[error("block {height}: replica {replica} signs its certificate more than once")]
    DuplicateSigner { height: u64, replica: u32 },
    #[error("block {height}: the certificate has {signers} distinct signers, {quorum} needed")]
    TooFewSigners {
        height: u64,
        signers: usize,
        quorum: usize,
    },
    #[error("block {height}: the COMMIT signature of replica {replica} does not verify")]
    BadCommitSignature { height: u64, replica: u32 },
    #[error("block {height} holds a badly signed transaction")]
    BadTxSignature { height: u64 },
    #[error("block {height} is not the block of the target checkpoint")]
    NotTheTarget { height: u64 },
    #[error("block {height}: its governance transactions make an invalid membership: {reason}")]
    BadMembership { height: u64, reason: String },
    /// The target checkpoint's proof, judged once the membership of its height is
    /// known, does not hold. Not the fault of the peer serving the blocks.
    #[error("the target checkpoint at {height} has no valid proof by the set of its height")]
    UnprovenTarget { height: u64 },
}

/// What the transfer task needs to check a checkpoint and blocks on its own: the
/// membership (roster and epochs) and the ledger's validator set as of the block
/// before the next one to check. Each block's certificate is checked against the
/// members and quorum of the epoch that orders its height; a block holding
/// governance transactions updates both (issue 7), so the blocks after it are
/// checked against the epochs it adds.
///
/// The membership of a height is final once the blocks up to `window + 1` below it
/// are known (a change takes effect past its switch height, at least `window`
/// above it), so a checkpoint further above `known_through` cannot be judged yet.
#[derive(Clone)]
pub struct Checker {
    pub membership: Membership,
    pub validators: Vec<ValidatorInfo>,
    pub chain_id: String,
    pub interval: u64,
    /// L, the log window.
    pub window: u64,
    /// The last height whose governance changes `membership` holds.
    pub known_through: u64,
}

/// A block whose certificate, transaction signatures and body were checked, and
/// that names the block before it in its chunk as its parent.
pub struct CheckedBlock {
    pub block: Block,
    pub hash: Hash,
    pub certificate: Certificate,
    pub txs: Vec<VerifiedTx>,
}

/// Consecutive checked blocks, as one peer served them.
pub struct CheckedChunk {
    pub blocks: Vec<CheckedBlock>,
}

impl Checker {
    /// A checker for a chain whose validators never change (`keys` from genesis on).
    pub fn fixed(keys: &[crypto::PublicKey], chain_id: &str, interval: u64, window: u64) -> Self {
        Checker {
            membership: Membership::new(keys, &[], interval, window)
                .expect("a fixed validator set is a valid membership"),
            validators: keys
                .iter()
                .map(|key| ValidatorInfo {
                    public_key: *key,
                    p2p_addr: crypto::BoundedString::new("").expect("empty fits"),
                })
                .collect(),
            chain_id: chain_id.to_owned(),
            interval,
            window,
            known_through: u64::MAX,
        }
    }

    /// A checker for a chain from `genesis` on: its validators first, then the
    /// sets the governance transactions of the blocks it is given make (a caller
    /// following a chain block by block reports each with
    /// [`Checker::record_changes`]).
    pub fn of_genesis(genesis: &ledger::Genesis) -> Result<Self, consensus::MembershipError> {
        let params = &genesis.consensus;
        let keys: Vec<crypto::PublicKey> =
            genesis.validators.iter().map(|v| v.public_key).collect();
        Ok(Checker {
            membership: Membership::new(&keys, &[], params.checkpoint_interval, params.log_window)?,
            validators: genesis.validators.to_vec(),
            chain_id: genesis.chain_id.to_string(),
            interval: params.checkpoint_interval,
            window: params.log_window,
            known_through: 0,
        })
    }

    /// Whether the set that orders `seq` is final for this checker.
    fn knows(&self, seq: SeqNo) -> bool {
        seq.0
            <= self
                .known_through
                .saturating_add(self.window)
                .saturating_add(1)
    }

    /// `Some(true)`: a checkpoint height with `q` valid matching CHECKPOINTs of the
    /// members of the epoch that orders it; `Some(false)`: not; `None`: too far
    /// above the blocks this checker has seen to tell (a change it has not seen
    /// may rule that height).
    pub fn judge(&self, stable: &StableCheckpoint) -> Option<bool> {
        if stable.seq.0 == 0 || stable.seq.0 % self.interval != 0 {
            return Some(false);
        }
        self.knows(stable.seq)
            .then(|| stable.is_proven_by(&self.membership, &self.chain_id))
    }

    /// A checkpoint this checker can tell is proven (see [`Checker::judge`]).
    pub fn holds(&self, stable: &StableCheckpoint) -> bool {
        self.judge(stable) == Some(true)
    }

    /// Checks blocks a peer served for the heights from `from` (at most `asked`):
    /// see the module documentation. `parent` is the hash of block `from - 1`
    /// where the caller knows it (the driver checks the first chunk against its
    /// tip).
    pub fn check_chunk(
        &mut self,
        served: Vec<CertifiedBlock>,
        from: u64,
        asked: u64,
        parent: Option<Hash>,
        target: &StableCheckpoint,
    ) -> Result<CheckedChunk, BadBlocks> {
        if served.len() as u64 > asked {
            return Err(BadBlocks::TooMany {
                asked,
                got: served.len(),
            });
        }
        let mut commit_items = Vec::new();
        let mut commit_signers = Vec::new();
        let mut txs = Vec::new();
        let mut tx_heights = Vec::new();
        let mut hashes = Vec::with_capacity(served.len());
        let mut previous = parent;
        for (expected, certified) in (from..).zip(&served) {
            let header = &certified.block.header;
            let height = header.height;
            if height != expected {
                return Err(BadBlocks::WrongHeight {
                    expected,
                    got: height,
                });
            }
            if previous.is_some_and(|p| p != header.parent) {
                return Err(BadBlocks::BrokenChain { height });
            }
            if !certified.block.body_matches_header() {
                return Err(BadBlocks::BodyMismatch { height });
            }
            let hash = certified.block.hash();
            if height == target.seq.0 && hash != target.block_hash {
                return Err(BadBlocks::NotTheTarget { height });
            }
            let items = self.certificate_items(&certified.block, &certified.certificate, hash)?;
            for (item, signed) in items.into_iter().zip(certified.certificate.commits.iter()) {
                commit_items.push(item);
                commit_signers.push((height, signed.sender.0));
            }
            self.record_changes(&certified.block)?;
            self.known_through = height;
            if height == target.seq.0 && self.judge(target) == Some(false) {
                return Err(BadBlocks::UnprovenTarget { height });
            }
            for tx in certified.block.txs.iter() {
                txs.push(tx.clone());
                tx_heights.push(height);
            }
            hashes.push(hash);
            previous = Some(hash);
        }
        let valid = crypto::verify_batch(&commit_items);
        if let Some(bad) = valid.iter().position(|ok| !ok) {
            let (height, replica) = commit_signers[bad];
            return Err(BadBlocks::BadCommitSignature { height, replica });
        }
        let mut verified = VerifiedTx::verify_many(txs).into_iter();
        let mut blocks = Vec::with_capacity(served.len());
        let mut tx_heights = tx_heights.into_iter();
        for (certified, hash) in served.into_iter().zip(hashes) {
            let count = certified.block.txs.len();
            let mut block_txs = Vec::with_capacity(count);
            for (tx, height) in verified.by_ref().take(count).zip(tx_heights.by_ref()) {
                block_txs.push(tx.map_err(|_| BadBlocks::BadTxSignature { height })?);
            }
            blocks.push(CheckedBlock {
                block: certified.block,
                hash,
                certificate: certified.certificate,
                txs: block_txs,
            });
        }
        Ok(CheckedChunk { blocks })
    }

    /// Checks `certificate` for `block` (whose hash is `hash`) alone: every entry a
    /// COMMIT of a member of the epoch ordering its height for this block and
    /// batch digest in the certificate's view, `q` distinct members, and every
    /// signature valid. [`Checker::check_chunk`] does the same for many blocks with
    /// one batch of signatures; `testnet check` judges each certificate on its own.
    pub fn check_certificate(
        &self,
        block: &Block,
        certificate: &Certificate,
        hash: Hash,
    ) -> Result<(), BadBlocks> {
        let items = self.certificate_items(block, certificate, hash)?;
        let valid = crypto::verify_batch(&items);
        // `certificate_items` gives one item per entry, in order.
        match valid
            .iter()
            .zip(certificate.commits.iter())
            .find(|(ok, _)| !**ok)
        {
            None => Ok(()),
            Some((_, signed)) => Err(BadBlocks::BadCommitSignature {
                height: block.header.height,
                replica: signed.sender.0,
            }),
        }
    }

    /// Records the membership change `block` makes, if it holds governance
    /// transactions (the ledger's set after it, as the consensus crate takes it).
    /// [`Checker::check_chunk`] calls it for every block it accepts; a caller that
    /// follows a chain with [`Checker::check_certificate`] calls it itself.
    pub fn record_changes(&mut self, block: &Block) -> Result<(), BadBlocks> {
        let changes = ledger::changes_in(block);
        if changes.is_empty() {
            return Ok(());
        }
        let height = block.header.height;
        self.validators = ValidatorChange::apply_all(&self.validators, &changes);
        let change = MembershipChange {
            height: SeqNo(height),
            validators: self.validators.iter().map(|v| v.public_key).collect(),
        };
        self.membership
            .record(&change)
            .map_err(|e| BadBlocks::BadMembership {
                height,
                reason: e.to_string(),
            })
    }

    /// The signatures to verify for `block`'s certificate (one per entry, in
    /// order), once every entry is a COMMIT of a member of the epoch ordering its
    /// height for this block, no member signs twice, and that epoch's `q` members
    /// sign. Each refusal names the entry's replica.
    fn certificate_items(
        &self,
        block: &Block,
        certificate: &Certificate,
        hash: Hash,
    ) -> Result<Vec<BatchItem>, BadBlocks> {
        let header = &block.header;
        let height = header.height;
        let domain = MessageKind::Commit.domain(&self.chain_id);
        let epoch = self.membership.at(SeqNo(height));
        let quorum = epoch.q();
        let mut signers = BTreeSet::new();
        let mut items = Vec::with_capacity(certificate.commits.len());
        for signed in certificate.commits.iter() {
            let replica = signed.sender.0;
            let key = epoch
                .contains(signed.sender)
                .then(|| self.membership.key_of(signed.sender))
                .flatten()
                .ok_or(BadBlocks::NotAMember { height, replica })?;
            let commit = match (signed.kind, Message::from_canonical_bytes(&signed.payload)) {
                (MessageKind::Commit, Ok(Message::Commit(commit))) => commit,
                _ => return Err(BadBlocks::NotACommit { height, replica }),
            };
            let matches = commit.seq == SeqNo(height)
                && commit.view.0 == certificate.view
                && commit.block_hash == hash
                && commit.digest == header.batch_digest;
            if !matches {
                return Err(BadBlocks::OtherBlock { height, replica });
            }
            if !signers.insert(signed.sender) {
                return Err(BadBlocks::DuplicateSigner { height, replica });
            }
            items.push(BatchItem::new(
                *key,
                domain,
                &signed.payload,
                signed.signature,
            ));
        }
        if signers.len() < quorum {
            return Err(BadBlocks::TooFewSigners {
                height,
                signers: signers.len(),
                quorum,
            });
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests;
