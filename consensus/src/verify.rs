//! Verification at the edge (STYLE.md habit 4): the replica accepts only [`Verified`]
//! messages, and only [`verify`] makes one.

use crate::input::Input;
use crate::message::{Message, MessageKind, Signed, SignedMessage};
use crate::recovery::{Recovery, SignedRecovery};
use crate::types::ReplicaId;
use crate::update::{SignedUpdate, Update};
use crate::view_change::{NewView, SignedNewView, SignedViewChange, ViewChange};
use crypto::codec::Canonical;
use crypto::PublicKey;
use serde::{Deserialize, Serialize};

/// A message whose sender is a validator, whose signature verified strictly in its
/// kind's domain, and whose payload decoded canonically into a message of that kind.
/// It keeps the original signed bytes, so it can be stored as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    signed: SignedMessage,
    message: Message,
}

impl Verified {
    pub fn sender(&self) -> ReplicaId {
        self.signed.sender
    }

    pub fn message(&self) -> &Message {
        &self.message
    }

    pub fn signed(&self) -> &SignedMessage {
        &self.signed
    }

    pub fn into_signed(self) -> SignedMessage {
        self.signed
    }

    pub(crate) fn into_parts(self) -> (SignedMessage, Message) {
        (self.signed, self.message)
    }
}

/// Why a signed message was refused at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("sender {sender} is not a validator")]
    UnknownSender { sender: ReplicaId },
    #[error("bad signature from {sender}")]
    BadSignature { sender: ReplicaId },
    #[error("malformed payload from {sender}: {reason}")]
    MalformedPayload { sender: ReplicaId, reason: String },
    #[error("envelope says {envelope:?} but the payload is a {payload:?}")]
    KindMismatch {
        envelope: MessageKind,
        payload: MessageKind,
    },
}

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

/// A family of messages with one kind per variant: the signature must hold in the
/// envelope's kind's domain, the payload decode canonically, and its variant be
/// that kind.
fn open_kinded<T: Canonical, const MAX: usize>(
    signed: &Signed<MAX>,
    validators: &[PublicKey],
    chain_id: &str,
    kind_of: fn(&T) -> MessageKind,
) -> Result<T, Rejected> {
    signed.signature_holds(validators, chain_id)?;
    let message =
        T::from_canonical_bytes(&signed.payload).map_err(|e| Rejected::MalformedPayload {
            sender: signed.sender,
            reason: e.to_string(),
        })?;
    if kind_of(&message) != signed.kind {
        return Err(Rejected::KindMismatch {
            envelope: signed.kind,
            payload: kind_of(&message),
        });
    }
    Ok(message)
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

fn open<T: Canonical, const MAX: usize>(
    signed: &Signed<MAX>,
    kind: MessageKind,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<T, Rejected> {
    if signed.kind != kind {
        return Err(Rejected::KindMismatch {
            envelope: signed.kind,
            payload: kind,
        });
    }
    signed.signature_holds(validators, chain_id)?;
    T::from_canonical_bytes(&signed.payload).map_err(|e| Rejected::MalformedPayload {
        sender: signed.sender,
        reason: e.to_string(),
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

/// Checks any message from the network at the edge and makes it an input for the
/// replica.
pub fn verify_envelope(
    envelope: &Envelope,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<Input, Rejected> {
    match envelope {
        Envelope::Message(m) => verify(m, validators, chain_id).map(Input::Message),
        Envelope::ViewChange(m) => open_view_change(m, validators, chain_id).map(Input::ViewChange),
        Envelope::NewView(m) => open_new_view(m, validators, chain_id).map(Input::NewView),
        Envelope::Recovery(m) => open_recovery(m, validators, chain_id).map(Input::Recovery),
        Envelope::Update(m) => open_update(m, validators, chain_id).map(Input::Update),
    }
}

/// Checks a message from the network against the validator set and chain id.
///
/// Order: the sender must be a validator; the signature must verify in the domain the
/// envelope's kind names (so it is checked before any decoding work); the payload must
/// decode canonically; its variant must be the envelope's kind.
pub fn verify(
    signed: &SignedMessage,
    validators: &[PublicKey],
    chain_id: &str,
) -> Result<Verified, Rejected> {
    let sender = signed.sender;
    signed.signature_holds(validators, chain_id)?;
    let message =
        Message::from_canonical_bytes(&signed.payload).map_err(|e| Rejected::MalformedPayload {
            sender,
            reason: e.to_string(),
        })?;
    if message.kind() != signed.kind {
        return Err(Rejected::KindMismatch {
            envelope: signed.kind,
            payload: message.kind(),
        });
    }
    Ok(Verified {
        signed: signed.clone(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Checkpoint, Prepare};
    use crate::types::{SeqNo, View};
    use crypto::{BoundedBytes, Hash, SigningKey};

    fn keys() -> Vec<SigningKey> {
        (0..4u8)
            .map(|i| SigningKey::from_seed([i + 1; 32]))
            .collect()
    }

    fn prepare() -> Message {
        Message::Prepare(Prepare {
            view: View(0),
            seq: SeqNo(1),
            digest: Hash([1; 32]),
        })
    }

    /// DESIGN.md section 2: each way a message can be refused at the edge.
    #[test]
    fn each_refusal_has_its_reason() {
        let keys = keys();
        let validators: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        let good = SignedMessage::sign(&keys[1], "c", ReplicaId(1), &prepare());
        assert!(verify(&good, &validators, "c").is_ok());

        let mut unknown = good.clone();
        unknown.sender = ReplicaId(9);
        let mut impersonated = good.clone();
        impersonated.sender = ReplicaId(2);
        let other_chain = SignedMessage::sign(&keys[1], "d", ReplicaId(1), &prepare());
        let mut relabelled = good.clone();
        relabelled.kind = MessageKind::Commit;
        // A valid signature over a payload that is not a message.
        let garbage = {
            let bytes = vec![0xff, 0xff, 0xff];
            let signature = keys[1].sign(MessageKind::Prepare.domain("c"), &bytes);
            SignedMessage {
                sender: ReplicaId(1),
                kind: MessageKind::Prepare,
                payload: BoundedBytes::new(bytes).expect("short"),
                signature,
            }
        };
        // Signed honestly in the checkpoint domain, but the payload is a prepare.
        let mismatched = {
            let bytes = prepare().to_canonical_bytes();
            let signature = keys[1].sign(MessageKind::Checkpoint.domain("c"), &bytes);
            SignedMessage {
                sender: ReplicaId(1),
                kind: MessageKind::Checkpoint,
                payload: BoundedBytes::new(bytes).expect("short"),
                signature,
            }
        };
        let checkpoint = Message::Checkpoint(Checkpoint {
            seq: SeqNo(10),
            block_hash: Hash([2; 32]),
        });
        assert!(verify(
            &SignedMessage::sign(&keys[3], "c", ReplicaId(3), &checkpoint),
            &validators,
            "c"
        )
        .is_ok());

        type Expected = fn(&Rejected) -> bool;
        let cases: Vec<(&str, SignedMessage, Expected)> = vec![
            ("unknown sender", unknown, |r| {
                matches!(r, Rejected::UnknownSender { .. })
            }),
            ("impersonation", impersonated, |r| {
                matches!(r, Rejected::BadSignature { .. })
            }),
            ("other chain", other_chain, |r| {
                matches!(r, Rejected::BadSignature { .. })
            }),
            ("kind relabelled", relabelled, |r| {
                matches!(r, Rejected::BadSignature { .. })
            }),
            ("garbage payload", garbage, |r| {
                matches!(r, Rejected::MalformedPayload { .. })
            }),
            ("kind mismatch", mismatched, |r| {
                matches!(r, Rejected::KindMismatch { .. })
            }),
        ];
        for (name, signed, expected) in cases {
            let refusal = verify(&signed, &validators, "c").expect_err(name);
            assert!(expected(&refusal), "{name}: got {refusal:?}");
        }
    }
}
