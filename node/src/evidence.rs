//! Kept evidence of misbehaviour (issue 19 item 6).
//!
//! The replica reports every fault it detects ([`consensus::Fault`]). Each is
//! counted in `rbft_faults_total{kind}`; each that carries the validator's own
//! signed messages (two contradicting signatures, a pre-prepare claiming a wrong
//! state root, a malformed batch the primary signed) is also kept whole in the
//! ledger store as an [`EvidenceRecord`]: anyone holding the validator set can check
//! the signatures and see the contradiction without trusting this node. Records are
//! served at `GET /evidence` and `GET /evidence/{id}` and announced on `/events`.
//!
//! One record per fault and slot is enough to convict: [`Keeper`] remembers the
//! [`EvidenceRecord::slot`] (kind, accused, view, height) of every record in the
//! store (read back when the node starts), so a fault the replica reports again,
//! or another proof of the same fault at the same height, in this run or after a
//! restart, adds nothing. A faulty validator can so add at most one record per
//! kind and height it reaches, and never makes honest nodes wait on the disk
//! (records are written without a sync: `ledger::Store::add_evidence`).
//! The store bounds the number and size of records
//! ([`ledger::store::MAX_EVIDENCE`]); what it refuses is counted in
//! `rbft_evidence_refused_total` and logged, and the node carries on.

use crate::events::Event;
use crate::shared::Shared;
use consensus::{Fault, Membership, SignedMessage};
use crypto::{BoundedString, BoundedVec, Canonical, Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The longest description a record carries.
pub const MAX_DETAIL_LEN: usize = 1024;

/// One kept fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    /// [`Fault::kind`].
    pub kind: BoundedString<64>,
    /// The replica id of the validator the messages convict.
    pub accused: u32,
    /// Its key, as the membership at `seq` names it.
    pub accused_key: Option<PublicKey>,
    pub view: Option<u64>,
    pub seq: Option<u64>,
    /// When this node found it (its clock, ms since the Unix epoch).
    pub detected_at_ms: u64,
    /// What the messages show, in words.
    pub detail: BoundedString<MAX_DETAIL_LEN>,
    /// The accused validator's signed messages, as they arrived.
    pub messages: BoundedVec<SignedMessage, 2>,
}

impl Canonical for EvidenceRecord {
    const NAME: &'static str = "evidence record";
    // kind (1 + 64), accused (5), key (1 + 32), view and seq (2 × 11), time (10),
    // detail (2 + 1024), messages (1 + 2 × the largest signed message).
    const MAX_ENCODED_LEN: usize =
        65 + 5 + 33 + 22 + 10 + 2 + MAX_DETAIL_LEN + 1 + 2 * SignedMessage::MAX_ENCODED_LEN;
}

const _: () = assert!(EvidenceRecord::MAX_ENCODED_LEN <= ledger::store::MAX_EVIDENCE_BYTES);

impl EvidenceRecord {
    /// The record of `fault`, if it carries signed messages of the accused.
    pub fn of(fault: &Fault, membership: &Membership, now_ms: u64) -> Option<EvidenceRecord> {
        let (accused, view, seq, detail, messages) = match fault {
            Fault::WrongStateRoot {
                view,
                seq,
                primary,
                claimed,
                computed,
                evidence,
                ..
            } => (
                *primary,
                Some(view.0),
                Some(seq.0),
                format!("the pre-prepare claims state root {claimed}; executing its batch gives {computed}"),
                vec![evidence.clone()],
            ),
            Fault::InvalidBatch {
                view,
                seq,
                primary,
                evidence,
                ..
            } => (
                *primary,
                Some(view.0),
                Some(seq.0),
                "the pre-prepare's batch does not execute".to_owned(),
                vec![evidence.clone()],
            ),
            Fault::EquivocatingPrimary {
                view,
                seq,
                first,
                second,
            } => (
                first.sender,
                Some(view.0),
                Some(seq.0),
                "the primary signed two pre-prepares with different digests for one view and height".to_owned(),
                vec![first.clone(), second.clone()],
            ),
            Fault::EquivocatingVote {
                sender,
                kind,
                seq,
                first,
                second,
            } => (
                *sender,
                None,
                Some(seq.0),
                format!(
                    "the validator signed two different {} votes for one height",
                    kind.domain_kind()
                ),
                vec![first.clone(), second.clone()],
            ),
            Fault::PrepareFromPrimary {
                view,
                seq,
                evidence,
            } => (
                evidence.sender,
                Some(view.0),
                Some(seq.0),
                "the primary of the view signed a PREPARE".to_owned(),
                vec![evidence.clone()],
            ),
            Fault::MalformedPrePrepare {
                view,
                seq,
                reason,
                evidence,
            } => (
                evidence.sender,
                Some(view.0),
                Some(seq.0),
                format!("the primary signed a malformed pre-prepare: {reason:?}"),
                vec![evidence.clone()],
            ),
            Fault::BadViewChange { .. }
            | Fault::BadNewView { .. }
            | Fault::NewViewConflictsWithCommitted { .. }
            | Fault::ExecutionDiverged { .. } => return None,
        };
        Some(EvidenceRecord {
            kind: BoundedString::new(fault.kind()).expect("fault kinds are short"),
            accused: accused.0,
            accused_key: membership.key_of(accused).copied(),
            view,
            seq,
            detected_at_ms: now_ms,
            detail: BoundedString::new(truncate(detail)).expect("truncated to the bound"),
            messages: BoundedVec::new(messages).expect("at most two messages"),
        })
    }

    /// What the record convicts: its kind, the accused, the view and the height.
    pub fn slot(&self) -> Hash {
        let mut bytes = self.kind.as_bytes().to_vec();
        bytes.extend_from_slice(&self.accused.to_be_bytes());
        for part in [self.view, self.seq] {
            bytes.extend_from_slice(&part.map_or([0xff; 9], |v| {
                let mut b = [0u8; 9];
                b[1..].copy_from_slice(&v.to_be_bytes());
                b
            }));
        }
        crypto::sha256(&bytes)
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_DETAIL_LEN {
        let mut end = MAX_DETAIL_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Counts faults and keeps their evidence once. See the module documentation.
pub struct Keeper {
    kept: HashSet<Hash>,
}

impl Keeper {
    /// A keeper that knows the records already in the store.
    pub fn load(shared: &Shared) -> Keeper {
        let reader = shared.store.read().expect("store lock").reader();
        let mut kept = HashSet::new();
        let mut before = None;
        loop {
            let page = match reader.evidence_page(before, ledger::store::MAX_EVIDENCE_PAGE) {
                Ok(page) => page,
                Err(error) => {
                    tracing::error!(%error, "reading the kept evidence");
                    break;
                }
            };
            let Some((last, _)) = page.last() else { break };
            before = Some(*last);
            for (id, bytes) in &page {
                match EvidenceRecord::from_canonical_bytes(bytes) {
                    Ok(record) => {
                        kept.insert(record.slot());
                    }
                    Err(error) => tracing::error!(id, %error, "an unreadable evidence record"),
                }
            }
        }
        Keeper { kept }
    }

    /// Counts `fault` and keeps its evidence if it has some not kept before.
    pub fn on_fault(&mut self, shared: &Shared, membership: &Membership, fault: &Fault) {
        shared
            .metrics
            .faults
            .get_or_create(&crate::metrics::KindLabel { kind: fault.kind() })
            .inc();
        let Some(record) = EvidenceRecord::of(fault, membership, Shared::now_ms()) else {
            tracing::warn!(kind = fault.kind(), ?fault, "fault");
            return;
        };
        let digest = record.slot();
        if self.kept.contains(&digest) {
            return;
        }
        let added = shared
            .store
            .write()
            .expect("store lock")
            .add_evidence(&record.to_canonical_bytes());
        match added {
            Ok(id) => {
                self.kept.insert(digest);
                shared.metrics.evidence_kept.inc();
                tracing::warn!(
                    id,
                    kind = fault.kind(),
                    accused = record.accused,
                    view = record.view,
                    seq = record.seq,
                    "fault: evidence kept"
                );
                shared.events.publish(Event::Evidence {
                    id,
                    kind: fault.kind().to_owned(),
                    accused: record.accused,
                });
            }
            Err(error) => {
                shared.metrics.evidence_refused.inc();
                tracing::warn!(kind = fault.kind(), %error, "fault: evidence not kept");
            }
        }
    }
}
