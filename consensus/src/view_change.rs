//! VIEW-CHANGE and NEW-VIEW (DESIGN.md section 5.1): the messages, their size
//! bounds, and the typed reasons one is refused. The checks themselves, and the
//! computation of Q from V, are in `view_change_checks.rs`.

use crate::checkpoint::StableCheckpoint;
use crate::message::{MessageKind, Signed, SignedMessage};
use crate::types::{Digest, ReplicaId, SeqNo, View, MAX_LOG_WINDOW, MAX_VALIDATORS};
use crate::verify::Rejected;
use crypto::codec::{BoundedVec, Canonical};
use crypto::SigningKey;
use serde::{Deserialize, Serialize};

/// The most bytes a VIEW-CHANGE may take. A configuration whose largest honest
/// VIEW-CHANGE would not fit is refused ([`crate::ReplicaConfig::validate`]).
pub const MAX_VIEW_CHANGE_LEN: usize = 64 << 20;
/// The most bytes a NEW-VIEW may take; configurations are checked the same way.
pub const MAX_NEW_VIEW_LEN: usize = 256 << 20;

pub(crate) const MAX_CERTIFICATES: usize = MAX_LOG_WINDOW as usize;

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
    Envelope(#[source] Rejected),
    #[error("the checkpoint at {seq} is not proven by q valid checkpoints")]
    CheckpointProof { seq: SeqNo },
    #[error("prepared certificates are not in strictly increasing height order at {seq}")]
    CertificateOrder { seq: SeqNo },
    #[error("a certificate at {seq} is outside the window above the checkpoint")]
    CertificateOutsideWindow { seq: SeqNo },
    #[error("the pre-prepare of the certificate at {seq} is invalid: {reason}")]
    CertificatePrePrepare {
        seq: SeqNo,
        #[source]
        reason: BadCertificatePrePrepare,
    },
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

/// What is wrong with the pre-prepare of a prepared certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadCertificatePrePrepare {
    #[error("{0}")]
    Envelope(#[source] Rejected),
    #[error("not a pre-prepare")]
    NotAPrePrepare,
    #[error("its view is not below the new view")]
    ViewNotBelowNewView,
    #[error("its digest is not its batch's")]
    DigestMismatch,
    #[error("its batch holds more than batch_max_txs transactions")]
    TooManyTxs,
    #[error("not signed by the primary of its view")]
    NotFromPrimary,
}

/// Why a NEW-VIEW is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadNewView {
    #[error("envelope: {0}")]
    Envelope(#[source] Rejected),
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
    QMismatch {
        seq: SeqNo,
        #[source]
        reason: BadQ,
    },
}

/// How Q departs from what V determines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadQ {
    #[error("{0}")]
    Envelope(#[source] Rejected),
    #[error("not a pre-prepare")]
    NotAPrePrepare,
    #[error("not the new primary's pre-prepare for its view")]
    NotThePrimarysPrePrepare,
    #[error("{sent} pre-prepares, V determines {determined}")]
    Count { sent: usize, determined: usize },
    #[error("V determines digest {}", .determined.short())]
    Digest { determined: Digest },
}
