//! Consensus traffic: the frames of a peer's stream (`wire::PeerMessage`: a signed
//! envelope or a batch of forwarded transactions) and the payloads inside the
//! envelopes, which the edge decodes by the envelope's kind once the signature holds.

use super::canonical;
use crate::wire::{PeerMessage, PeerMessageKind};
use consensus::{Envelope, Message, NewView, Recovery, Update, ViewChange};
use crypto::Canonical;

/// A frame of a peer's stream, as `edge` decodes it.
pub fn peer_message(bytes: &[u8]) {
    // The edge sorts frames into lanes by their first byte before decoding them.
    let lane = PeerMessage::kind_of(bytes);
    let Some(message) = canonical::<PeerMessage>(bytes) else {
        return;
    };
    match message {
        PeerMessage::Consensus(envelope) => {
            assert_eq!(lane, Some(PeerMessageKind::Consensus));
            let _ = (envelope.sender(), envelope.kind(), envelope.signature());
            canonical::<Envelope>(&bytes[1..]).expect("the envelope of a frame decodes alone");
        }
        PeerMessage::Txs(txs) => {
            assert_eq!(lane, Some(PeerMessageKind::Txs));
            for tx in txs.iter() {
                let _ = tx.hash();
            }
        }
    }
}

/// The payload of a signed envelope: the first byte picks the family (the
/// envelope's variant), the rest is the payload.
pub fn consensus_payload(bytes: &[u8]) {
    let Some((family, payload)) = bytes.split_first() else {
        return;
    };
    match family {
        0 => {
            if let Some(Message::PrePrepare(pre_prepare)) = canonical::<Message>(payload) {
                let _ = (
                    pre_prepare.batch.digest(),
                    pre_prepare.batch.has_duplicate_tx(),
                );
            }
        }
        1 => {
            if let Some(view_change) = canonical::<ViewChange>(payload) {
                for certificate in view_change.prepared.iter() {
                    let _ = Message::from_canonical_bytes(&certificate.pre_prepare.payload);
                }
            }
        }
        2 => {
            if let Some(new_view) = canonical::<NewView>(payload) {
                for signed in new_view.view_changes.iter() {
                    let _ = ViewChange::from_canonical_bytes(&signed.payload);
                }
            }
        }
        3 => {
            if let Some(recovery) = canonical::<Recovery>(payload) {
                let _ = (recovery.kind(), recovery.round());
            }
        }
        4 => {
            if let Some(update) = canonical::<Update>(payload) {
                let _ = update.kind();
            }
        }
        _ => {}
    }
}
