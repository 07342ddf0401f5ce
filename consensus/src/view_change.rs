//! VIEW-CHANGE and NEW-VIEW (DESIGN.md section 5.1): the messages, the checks anyone
//! holding the validator set can run on them, and the computation of Q from V.
//!
//! Everything here is a pure function of the messages and the configuration: the new
//! primary builds Q with [`select`], and every backup recomputes it with the same
//! function from the same V before it accepts a NEW-VIEW ([`check_new_view`]).

use crate::config::ReplicaConfig;
use crate::membership::Membership;
use crate::message::{Batch, Message, MessageKind, PrePrepare, Signed, SignedMessage};
use crate::output::StableCheckpoint;
use crate::types::{Digest, ReplicaId, SeqNo, View, MAX_LOG_WINDOW, MAX_VALIDATORS};
use crate::verify::{verify, Rejected};
use crypto::codec::{BoundedVec, Canonical};
use crypto::SigningKey;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most bytes a VIEW-CHANGE may take. A configuration whose largest honest
/// VIEW-CHANGE would not fit is refused ([`ReplicaConfig::validate`]).
pub const MAX_VIEW_CHANGE_LEN: usize = 64 << 20;
/// The most bytes a NEW-VIEW may take; configurations are checked the same way.
pub const MAX_NEW_VIEW_LEN: usize = 256 << 20;

const MAX_CERTIFICATES: usize = MAX_LOG_WINDOW as usize;

/// A prepared certificate (DESIGN.md section 5.1 step 1): the pre-prepare and `q - 1`
/// matching prepares from distinct backups of its view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedCertificate {
    pub pre_prepare: SignedMessage,
    pub prepares: BoundedVec<SignedMessage, MAX_VALIDATORS>,
}

/// `<v + 1, s, C, P, i>`: the sender's last stable checkpoint with its proof (C; `None`
/// is genesis, s = 0) and one prepared certificate for every height above s at which
/// it is prepared (P), in height order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChange {
    pub new_view: View,
    pub checkpoint: Option<StableCheckpoint>,
    pub prepared: BoundedVec<PreparedCertificate, MAX_CERTIFICATES>,
}

impl Canonical for ViewChange {
    const NAME: &'static str = "view change";
    const MAX_ENCODED_LEN: usize = MAX_VIEW_CHANGE_LEN;
}

/// A signed VIEW-CHANGE.
pub type SignedViewChange = Signed<MAX_VIEW_CHANGE_LEN>;

impl SignedViewChange {
    pub fn sign(key: &SigningKey, chain_id: &str, sender: ReplicaId, vc: &ViewChange) -> Self {
        Self::sign_bytes(
            key,
            chain_id,
            sender,
            MessageKind::ViewChange,
            vc.to_canonical_bytes(),
        )
    }
}

/// `<v + 1, V, Q>` from the primary of `v + 1`: V, at least `q` VIEW-CHANGE messages
/// for `v + 1` from distinct validators, and Q, its pre-prepares in `v + 1` for every
/// height from `min_s + 1` to `max_s`, in height order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewView {
    pub view: View,
    pub view_changes: BoundedVec<SignedViewChange, MAX_VALIDATORS>,
    pub pre_prepares: BoundedVec<SignedMessage, MAX_CERTIFICATES>,
}

impl Canonical for NewView {
    const NAME: &'static str = "new view";
    const MAX_ENCODED_LEN: usize = MAX_NEW_VIEW_LEN;
}

/// A signed NEW-VIEW.
pub type SignedNewView = Signed<MAX_NEW_VIEW_LEN>;

impl SignedNewView {
    pub fn sign(key: &SigningKey, chain_id: &str, sender: ReplicaId, nv: &NewView) -> Self {
        Self::sign_bytes(
            key,
            chain_id,
            sender,
            MessageKind::NewView,
            nv.to_canonical_bytes(),
        )
    }
}

/// The largest VIEW-CHANGE and NEW-VIEW an honest replica can send under `config`,
/// in bytes: `(view change, new view)`. Used to refuse configurations that would not
/// fit the envelopes, and by the node to size its frame limit.
pub fn largest_view_change_messages(
    validators: usize,
    log_window: u64,
    batch_max_txs: u32,
) -> (usize, usize) {
    let envelope = 5 + 1 + 5 + 64;
    let pre_prepare = 1 + 10 + 10 + 32 + (3 + batch_max_txs as usize * 32 + 5 + 10) + 32;
    let vote = 1 + 10 + 10 + 32 + 32 + envelope;
    let window = log_window as usize;
    let checkpoint = 10 + 32 + 3 + validators * vote;
    let certificate = pre_prepare + envelope + 3 + validators * vote;
    let view_change = 10 + 1 + checkpoint + 3 + window * certificate;
    let new_view =
        10 + 3 + validators * (view_change + envelope) + 3 + window * (pre_prepare + envelope);
    (view_change, new_view)
}

/// Why a VIEW-CHANGE is refused. Each names what a Byzantine sender got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadViewChange {
    #[error("envelope: {0}")]
    Envelope(Rejected),
    #[error("does not decode: {0}")]
    Decode(String),
    #[error("the checkpoint at {seq} is not proven by q valid checkpoints")]
    CheckpointProof { seq: SeqNo },
    #[error("prepared certificates are not in strictly increasing height order at {seq}")]
    CertificateOrder { seq: SeqNo },
    #[error("a certificate at {seq} is outside the window above the checkpoint")]
    CertificateOutsideWindow { seq: SeqNo },
    #[error("the pre-prepare of the certificate at {seq} is invalid: {reason}")]
    CertificatePrePrepare { seq: SeqNo, reason: String },
    #[error("the certificate at {seq} has {valid} valid matching prepares, {needed} needed")]
    ShortCertificate {
        seq: SeqNo,
        valid: usize,
        needed: usize,
    },
    #[error("the certificate at {seq} holds something other than distinct matching prepares")]
    PaddedCertificate { seq: SeqNo },
    #[error("{len} bytes, more than the {max} an honest view change can take")]
    TooLarge { len: usize, max: usize },
    #[error("{sender} is not a member of the epoch the view belongs to")]
    NotAMember { sender: ReplicaId },
}

/// Refuses a VIEW-CHANGE longer than the largest an honest replica can send under
/// `config`, before any of its signatures is checked.
pub fn check_view_change_size(
    len: usize,
    config: &ReplicaConfig,
    membership: &Membership,
) -> Result<(), BadViewChange> {
    let largest = membership.epochs().iter().map(|e| e.n()).max().unwrap_or(0);
    let (max, _) = largest_view_change_messages(largest, config.log_window, config.batch_max_txs);
    if len > max {
        return Err(BadViewChange::TooLarge { len, max });
    }
    Ok(())
}

/// Checks a VIEW-CHANGE's contents (its envelope was checked already): C proves its
/// checkpoint, and every certificate in P is a valid pre-prepare from the primary of
/// a view below `new_view`, at a height in `(s, s + L]`, with `q - 1` valid prepares
/// for the same view, height and digest from distinct backups of that view. Each
/// height's signers, primary and q are those of the epoch that orders it.
pub fn check_view_change(
    vc: &ViewChange,
    config: &ReplicaConfig,
    membership: &Membership,
) -> Result<(), BadViewChange> {
    let low = match &vc.checkpoint {
        Some(stable) => {
            let at_interval = stable.seq.0 % config.checkpoint_interval == 0;
            if !at_interval || !stable.is_proven_by(membership, &config.chain_id) {
                return Err(BadViewChange::CheckpointProof { seq: stable.seq });
            }
            stable.seq
        }
        None => SeqNo(0),
    };
    // Nothing above the last height of the VIEW-CHANGE's epoch is ordered in it.
    let window_top = SeqNo(low.0.saturating_add(config.log_window));
    let high = membership
        .end_of(low.next())
        .map_or(window_top, |end| end.min(window_top));
    let mut previous = low;
    for certificate in vc.prepared.iter() {
        let pp = certificate_pre_prepare(certificate, config, membership)?;
        let seq = pp.seq;
        let epoch = membership.at(seq);
        let q = epoch.q();
        if seq <= previous {
            return Err(BadViewChange::CertificateOrder { seq });
        }
        if seq > high {
            return Err(BadViewChange::CertificateOutsideWindow { seq });
        }
        previous = seq;
        let bad = |reason: &str| BadViewChange::CertificatePrePrepare {
            seq,
            reason: reason.to_string(),
        };
        if pp.view >= vc.new_view {
            return Err(bad("its view is not below the new view"));
        }
        if pp.batch.digest() != pp.digest {
            return Err(bad("its digest is not its batch's"));
        }
        if pp.batch.tx_hashes.len() > config.batch_max_txs as usize {
            return Err(bad("its batch holds more than batch_max_txs transactions"));
        }
        let primary = epoch.primary(pp.view);
        if certificate.pre_prepare.sender != primary {
            return Err(bad("not signed by the primary of its view"));
        }
        let valid = matching_prepares(certificate, &pp, primary, config, membership);
        if valid != certificate.prepares.len() {
            // Junk beside the prepares would only make the message larger.
            return Err(BadViewChange::PaddedCertificate { seq });
        }
        if valid < q - 1 {
            return Err(BadViewChange::ShortCertificate {
                seq,
                valid,
                needed: q - 1,
            });
        }
    }
    Ok(())
}

/// The certificate's pre-prepare, verified and decoded.
fn certificate_pre_prepare(
    certificate: &PreparedCertificate,
    config: &ReplicaConfig,
    membership: &Membership,
) -> Result<PrePrepare, BadViewChange> {
    let seq_unknown = SeqNo(0);
    match verify(
        &certificate.pre_prepare,
        membership.roster(),
        &config.chain_id,
    ) {
        Ok(verified) => match verified.message() {
            Message::PrePrepare(pp) => Ok(pp.clone()),
            _ => Err(BadViewChange::CertificatePrePrepare {
                seq: verified.message().seq(),
                reason: "not a pre-prepare".into(),
            }),
        },
        Err(rejected) => Err(BadViewChange::CertificatePrePrepare {
            seq: seq_unknown,
            reason: rejected.to_string(),
        }),
    }
}

/// Distinct backups (not `primary`) whose valid PREPARE matches the pre-prepare.
fn matching_prepares(
    certificate: &PreparedCertificate,
    pp: &PrePrepare,
    primary: ReplicaId,
    config: &ReplicaConfig,
    membership: &Membership,
) -> usize {
    let epoch = membership.at(pp.seq);
    let mut senders = BTreeSet::new();
    for signed in certificate.prepares.iter() {
        if !epoch.contains(signed.sender) {
            continue;
        }
        let Ok(verified) = verify(signed, membership.roster(), &config.chain_id) else {
            continue;
        };
        if let Message::Prepare(prepare) = verified.message() {
            let matches =
                prepare.view == pp.view && prepare.seq == pp.seq && prepare.digest == pp.digest;
            if matches && signed.sender != primary {
                senders.insert(signed.sender);
            }
        }
    }
    senders.len()
}

/// What V determines (DESIGN.md section 5.1 step 2): `min_s`, the highest checkpoint
/// proven in V, with its proof; and for every height from `min_s + 1` to `max_s`
/// the batch Q must order there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub checkpoint: Option<StableCheckpoint>,
    /// `(height, batch, digest)` in height order.
    pub entries: Vec<(SeqNo, Batch, Digest)>,
}

impl Selection {
    /// `min_s`.
    pub fn low(&self) -> SeqNo {
        self.checkpoint.as_ref().map_or(SeqNo(0), |c| c.seq)
    }

    /// `max_s` (`min_s` when Q is empty).
    pub fn high(&self) -> SeqNo {
        self.entries.last().map_or(self.low(), |(seq, _, _)| *seq)
    }
}

/// Computes Q's batches from V (all of whose messages are valid, and for `view`).
///
/// For each height in `(min_s, max_s]`, the batch of the prepared certificate with
/// the highest view (ties, which only more than f faulty replicas could produce, go
/// to the smallest digest so the choice stays deterministic); where no certificate
/// exists, an empty batch from the new primary. The empty batch's timestamp is that
/// of the nearest selected batch above it (there always is one: `max_s` has a
/// certificate), so timestamps never run ahead of the heights after them.
/// `proposer` is the primary of `view` (it proposes the empty batches).
pub fn select(proposer: ReplicaId, view_changes: &[ViewChange]) -> Selection {
    let checkpoint = view_changes
        .iter()
        .filter_map(|vc| vc.checkpoint.as_ref())
        .max_by_key(|c| c.seq)
        .cloned();
    let low = checkpoint.as_ref().map_or(SeqNo(0), |c| c.seq);
    let mut best: BTreeMap<SeqNo, (View, Digest, Batch)> = BTreeMap::new();
    for vc in view_changes {
        for certificate in vc.prepared.iter() {
            let Ok(Message::PrePrepare(pp)) =
                Message::from_canonical_bytes(&certificate.pre_prepare.payload)
            else {
                continue;
            };
            if pp.seq <= low {
                continue;
            }
            let candidate = (pp.view, pp.digest, pp.batch);
            match best.get(&pp.seq) {
                Some((view, digest, _))
                    if (*view, std::cmp::Reverse(*digest))
                        >= (candidate.0, std::cmp::Reverse(candidate.1)) => {}
                _ => {
                    best.insert(pp.seq, candidate);
                }
            }
        }
    }
    let Some(high) = best.keys().next_back().copied() else {
        return Selection {
            checkpoint,
            entries: Vec::new(),
        };
    };
    let mut entries = Vec::new();
    let mut seq = low.next();
    while seq <= high {
        let batch = match best.get(&seq) {
            Some((_, _, batch)) => batch.clone(),
            None => {
                let (_, (_, _, above)) = best.range(seq..).next().expect("max_s has a certificate");
                Batch {
                    tx_hashes: BoundedVec::empty(),
                    proposer,
                    timestamp_ms: above.timestamp_ms,
                }
            }
        };
        let digest = batch.digest();
        entries.push((seq, batch, digest));
        seq = seq.next();
    }
    Selection {
        checkpoint,
        entries,
    }
}

/// Why a NEW-VIEW is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadNewView {
    #[error("envelope: {0}")]
    Envelope(Rejected),
    #[error("does not decode: {0}")]
    Decode(String),
    #[error("sent by {sender}, but the primary of {view} is {primary}")]
    NotFromPrimary {
        sender: ReplicaId,
        view: View,
        primary: ReplicaId,
    },
    #[error("V holds a view change from {sender} that is invalid: {reason}")]
    BadViewChange {
        sender: ReplicaId,
        reason: BadViewChange,
    },
    #[error("V holds a view change for {got}, not {view}")]
    WrongViewInV { view: View, got: View },
    #[error("V holds {senders} distinct senders, q is {q}")]
    ShortV { senders: usize, q: usize },
    #[error("Q does not follow from V at {seq}: {reason}")]
    QMismatch { seq: SeqNo, reason: String },
}

/// A NEW-VIEW whose every check passed: the view-change messages of V, decoded, and
/// Q's pre-prepares in height order.
#[derive(Debug, Clone)]
pub struct CheckedNewView {
    pub view: View,
    pub selection: Selection,
    pub pre_prepares: Vec<(SignedMessage, PrePrepare)>,
}

/// Checks a NEW-VIEW from `sender` (its envelope was verified by the caller): sent by
/// the primary of its view; V holds at least `q` valid VIEW-CHANGEs for that view
/// from distinct validators, every embedded signature checked; and Q is exactly the
/// pre-prepares of that view the primary must sign for [`select`]'s batches, in
/// order.
///
/// The view belongs to the epoch that orders the heights above V's highest
/// checkpoint (`min_s`): its members sign V, its q counts them, and its primary of
/// the view signs the NEW-VIEW (DESIGN.md section 6).
pub fn check_new_view(
    nv: &NewView,
    sender: ReplicaId,
    config: &ReplicaConfig,
    membership: &Membership,
) -> Result<CheckedNewView, BadNewView> {
    check_new_view_with(nv, sender, config, membership, true)
}

/// **Test-only fault.** [`check_new_view`] without its last step: Q is taken as sent,
/// not recomputed from V, so a Byzantine new primary can re-order committed heights.
/// Tests and the simulator use it to show the check is load-bearing.
#[cfg(feature = "test-faults")]
#[doc(hidden)]
pub fn check_new_view_skipping_q(
    nv: &NewView,
    sender: ReplicaId,
    config: &ReplicaConfig,
    membership: &Membership,
) -> Result<CheckedNewView, BadNewView> {
    check_new_view_with(nv, sender, config, membership, false)
}

fn check_new_view_with(
    nv: &NewView,
    sender: ReplicaId,
    config: &ReplicaConfig,
    membership: &Membership,
    check_q: bool,
) -> Result<CheckedNewView, BadNewView> {
    let mut senders = BTreeSet::new();
    let mut view_changes = Vec::new();
    for signed in nv.view_changes.iter() {
        check_view_change_size(signed.payload.len(), config, membership).map_err(|reason| {
            BadNewView::BadViewChange {
                sender: signed.sender,
                reason,
            }
        })?;
        let vc = crate::verify::open_view_change(signed, membership.roster(), &config.chain_id)
            .map(crate::verify::VerifiedViewChange::into_view_change)
            .map_err(BadViewChange::Envelope)
            .and_then(|vc| check_view_change(&vc, config, membership).map(|()| vc))
            .map_err(|reason| BadNewView::BadViewChange {
                sender: signed.sender,
                reason,
            })?;
        if vc.new_view != nv.view {
            return Err(BadNewView::WrongViewInV {
                view: nv.view,
                got: vc.new_view,
            });
        }
        senders.insert(signed.sender);
        view_changes.push(vc);
    }
    let low = view_changes
        .iter()
        .filter_map(|vc| vc.checkpoint.as_ref().map(|c| c.seq))
        .max()
        .unwrap_or(SeqNo(0));
    let epoch = membership.at(low.next());
    let primary = epoch.primary(nv.view);
    if sender != primary {
        return Err(BadNewView::NotFromPrimary {
            sender,
            view: nv.view,
            primary,
        });
    }
    if let Some(outsider) = senders.iter().find(|s| !epoch.contains(**s)) {
        return Err(BadNewView::BadViewChange {
            sender: *outsider,
            reason: BadViewChange::NotAMember { sender: *outsider },
        });
    }
    let q = epoch.q();
    if senders.len() < q {
        return Err(BadNewView::ShortV {
            senders: senders.len(),
            q,
        });
    }
    let selection = select(primary, &view_changes);
    let mut pre_prepares = Vec::new();
    for signed in nv.pre_prepares.iter() {
        let mismatch = |seq: SeqNo, reason: &str| BadNewView::QMismatch {
            seq,
            reason: reason.to_string(),
        };
        let verified = verify(signed, membership.roster(), &config.chain_id)
            .map_err(|e| mismatch(SeqNo(0), &e.to_string()))?;
        let Message::PrePrepare(pp) = verified.message().clone() else {
            return Err(mismatch(verified.message().seq(), "not a pre-prepare"));
        };
        if signed.sender != primary || pp.view != nv.view || pp.batch.digest() != pp.digest {
            return Err(mismatch(
                pp.seq,
                "not the new primary's pre-prepare for its view",
            ));
        }
        pre_prepares.push((signed.clone(), pp));
    }
    if check_q {
        if pre_prepares.len() != selection.entries.len() {
            let seq = selection.high().max(SeqNo(pre_prepares.len() as u64));
            return Err(BadNewView::QMismatch {
                seq,
                reason: format!(
                    "{} pre-prepares, V determines {}",
                    pre_prepares.len(),
                    selection.entries.len()
                ),
            });
        }
        for ((_, pp), (seq, _, digest)) in pre_prepares.iter().zip(&selection.entries) {
            if pp.seq != *seq || pp.digest != *digest {
                return Err(BadNewView::QMismatch {
                    seq: *seq,
                    reason: format!("V determines digest {}", digest.short()),
                });
            }
        }
    }
    Ok(CheckedNewView {
        view: nv.view,
        selection,
        pre_prepares,
    })
}
