//! Verification at the edge (STYLE.md habit 4): the replica accepts only [`Verified`]
//! messages, and only [`verify`] makes one. The other families of messages are
//! opened the same way in `envelope.rs`, with the helpers here.

use crate::message::{Message, MessageKind, Signed, SignedMessage};
use crate::types::ReplicaId;
use crypto::codec::{Canonical, DecodeError};
use crypto::PublicKey;

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
    #[error("malformed payload from {sender}: {error}")]
    MalformedPayload {
        sender: ReplicaId,
        #[source]
        error: DecodeError,
    },
    #[error("envelope says {envelope:?} but the payload is a {payload:?}")]
    KindMismatch {
        envelope: MessageKind,
        payload: MessageKind,
    },
}

impl<const MAX: usize> Signed<MAX> {
    /// Whether the signature is `validators[sender]`'s over the payload in the kind's
    /// domain. Decoding is the caller's.
    pub(crate) fn signature_holds(
        &self,
        validators: &[PublicKey],
        chain_id: &str,
    ) -> Result<(), Rejected> {
        let sender = self.sender;
        let key = validators
            .get(sender.index())
            .ok_or(Rejected::UnknownSender { sender })?;
        key.verify(self.kind.domain(chain_id), &self.payload, &self.signature)
            .map_err(|_| Rejected::BadSignature { sender })
    }
}

/// A family of messages with one kind per variant: the signature must hold in the
/// envelope's kind's domain, the payload decode canonically, and its variant be
/// that kind.
pub(crate) fn open_kinded<T: Canonical, const MAX: usize>(
    signed: &Signed<MAX>,
    validators: &[PublicKey],
    chain_id: &str,
    kind_of: fn(&T) -> MessageKind,
) -> Result<T, Rejected> {
    signed.signature_holds(validators, chain_id)?;
    let message =
        T::from_canonical_bytes(&signed.payload).map_err(|error| Rejected::MalformedPayload {
            sender: signed.sender,
            error,
        })?;
    if kind_of(&message) != signed.kind {
        return Err(Rejected::KindMismatch {
            envelope: signed.kind,
            payload: kind_of(&message),
        });
    }
    Ok(message)
}

/// A family with one kind: the envelope must be of `kind`, the signature hold in
/// its domain and the payload decode canonically.
pub(crate) fn open<T: Canonical, const MAX: usize>(
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
    T::from_canonical_bytes(&signed.payload).map_err(|error| Rejected::MalformedPayload {
        sender: signed.sender,
        error,
    })
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
    let message = Message::from_canonical_bytes(&signed.payload)
        .map_err(|error| Rejected::MalformedPayload { sender, error })?;
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
