//! Every message as it travels between validators ([`Envelope`]), and opening the
//! envelopes of the families beside the normal case (VIEW-CHANGE, NEW-VIEW,
//! recovery, membership) into their `Verified…` types: a validator's signature in
//! the kind's domain over a payload that decodes canonically. As with
//! [`crate::Verified`], only these functions make one.

use crate::message::{MessageKind, SignedMessage};
use crate::recovery::{Recovery, SignedRecovery};
use crate::types::ReplicaId;
use crate::update::{SignedUpdate, Update};
use crate::verify::{open, open_kinded, Rejected};
use crate::view_change::{NewView, SignedNewView, SignedViewChange, ViewChange};
use crypto::codec::Canonical;
use crypto::PublicKey;
use serde::{Deserialize, Serialize};

/// Every message as it travels between validators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Envelope {
    Message(SignedMessage),
    ViewChange(SignedViewChange),
    NewView(SignedNewView),
    Recovery(SignedRecovery),
    Update(SignedUpdate),
}

impl Canonical for Envelope {
    const NAME: &'static str = "consensus envelope";
    const MAX_ENCODED_LEN: usize = 1 + SignedNewView::MAX_ENCODED_LEN;
}

impl Envelope {
    pub fn sender(&self) -> ReplicaId {
        match self {
            Envelope::Message(m) => m.sender,
            Envelope::ViewChange(m) => m.sender,
            Envelope::NewView(m) => m.sender,
            Envelope::Recovery(m) => m.sender,
            Envelope::Update(m) => m.sender,
        }
    }

    pub fn kind(&self) -> MessageKind {
        match self {
            Envelope::Message(m) => m.kind,
            Envelope::ViewChange(m) => m.kind,
            Envelope::NewView(m) => m.kind,
            Envelope::Recovery(m) => m.kind,
            Envelope::Update(m) => m.kind,
        }
    }

    pub fn signature(&self) -> &crypto::Signature {
        match self {
            Envelope::Message(m) => &m.signature,
            Envelope::ViewChange(m) => &m.signature,
            Envelope::NewView(m) => &m.signature,
            Envelope::Recovery(m) => &m.signature,
            Envelope::Update(m) => &m.signature,
        }
    }

    /// The normal-case message inside, if that is what this is.
    pub fn as_message(&self) -> Option<&SignedMessage> {
        match self {
            Envelope::Message(m) => Some(m),
            _ => None,
        }
    }
}

/// A VIEW-CHANGE whose envelope verified and whose payload decoded canonically. Its
/// contents (C and P) are checked by the replica ([`crate::check_view_change`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedViewChange {
    signed: SignedViewChange,
    view_change: ViewChange,
}

impl VerifiedViewChange {
    pub fn sender(&self) -> ReplicaId {
        self.signed.sender
    }
    pub fn view_change(&self) -> &ViewChange {
        &self.view_change
    }
    pub fn signed(&self) -> &SignedViewChange {
        &self.signed
    }
    pub fn into_view_change(self) -> ViewChange {
        self.view_change
    }
    pub(crate) fn into_parts(self) -> (SignedViewChange, ViewChange) {
        (self.signed, self.view_change)
    }
}

/// A NEW-VIEW whose envelope verified and whose payload decoded canonically. V and Q
/// are checked by the replica ([`crate::check_new_view`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNewView {
    signed: SignedNewView,
    new_view: NewView,
}

impl VerifiedNewView {
    pub fn sender(&self) -> ReplicaId {
        self.signed.sender
    }
    pub fn new_view(&self) -> &NewView {
        &self.new_view
    }
    pub fn signed(&self) -> &SignedNewView {
        &self.signed
    }
    pub(crate) fn into_parts(self) -> (SignedNewView, NewView) {
        (self.signed, self.new_view)
    }
}

/// A recovery message whose envelope verified and whose payload decoded
/// canonically into a message of the envelope's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecovery {
    sender: ReplicaId,
    message: Recovery,
}

impl VerifiedRecovery {
    pub fn sender(&self) -> ReplicaId {
        self.sender
    }
    pub fn message(&self) -> &Recovery {
        &self.message
    }
    pub(crate) fn into_parts(self) -> (ReplicaId, Recovery) {
        (self.sender, self.message)
    }
}

/// Checks a recovery message's envelope: a validator's signature in its kind's
/// domain over a payload that decodes canonically into a message of that kind.
pub fn open_recovery(
    signed: &SignedRecovery,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<VerifiedRecovery, Rejected> {
    let message = open_kinded(signed, validators, chain_id, Recovery::kind)?;
    Ok(VerifiedRecovery {
        sender: signed.sender,
        message,
    })
}

/// A membership message whose envelope verified and whose payload decoded
/// canonically into a message of the envelope's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedUpdate {
    sender: ReplicaId,
    message: Update,
}

impl VerifiedUpdate {
    pub fn sender(&self) -> ReplicaId {
        self.sender
    }
    pub fn message(&self) -> &Update {
        &self.message
    }
}

/// Checks a membership message's envelope like [`open_recovery`].
pub fn open_update(
    signed: &SignedUpdate,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<VerifiedUpdate, Rejected> {
    let message = open_kinded(signed, validators, chain_id, Update::kind)?;
    Ok(VerifiedUpdate {
        sender: signed.sender,
        message,
    })
}

/// Checks a VIEW-CHANGE's envelope: a validator's signature in the view-change domain
/// over a payload that decodes canonically.
pub fn open_view_change(
    signed: &SignedViewChange,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<VerifiedViewChange, Rejected> {
    let view_change = open(signed, MessageKind::ViewChange, validators, chain_id)?;
    Ok(VerifiedViewChange {
        signed: signed.clone(),
        view_change,
    })
}

/// Checks a NEW-VIEW's envelope the same way.
pub fn open_new_view(
    signed: &SignedNewView,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<VerifiedNewView, Rejected> {
    let new_view = open(signed, MessageKind::NewView, validators, chain_id)?;
    Ok(VerifiedNewView {
        signed: signed.clone(),
        new_view,
    })
}

/// Decodes a VIEW-CHANGE this replica signed itself (no signature check).
pub(crate) fn decode_view_change(signed: &SignedViewChange) -> Option<ViewChange> {
    ViewChange::from_canonical_bytes(&signed.payload).ok()
}

/// Decodes a NEW-VIEW this replica sent or accepted (no signature check).
pub(crate) fn decode_new_view(signed: &SignedNewView) -> Option<NewView> {
    NewView::from_canonical_bytes(&signed.payload).ok()
}
