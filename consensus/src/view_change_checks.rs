//! The checks anyone holding the validator set can run on a VIEW-CHANGE and a
//! NEW-VIEW (DESIGN.md section 5.1), and the computation of Q from V.
//!
//! Everything here is a pure function of the messages and the configuration: the new
//! primary builds Q with [`select`], and every backup recomputes it with the same
//! function from the same V before it accepts a NEW-VIEW ([`check_new_view`]).

use crate::checkpoint::StableCheckpoint;
use crate::config::ReplicaConfig;
use crate::envelope::{open_view_change, VerifiedViewChange};
use crate::membership::Membership;
use crate::message::{Batch, Message, PrePrepare, SignedMessage};
use crate::types::{Digest, ReplicaId, SeqNo, View};
use crate::verify::verify;
use crate::view_change::{
    largest_view_change_messages, BadCertificatePrePrepare, BadNewView, BadQ, BadViewChange,
    NewView, PreparedCertificate, ViewChange,
};
use crypto::codec::{BoundedVec, Canonical};
use std::collections::{BTreeMap, BTreeSet};

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
        let bad = |reason| BadViewChange::CertificatePrePrepare { seq, reason };
        if pp.view >= vc.new_view {
            return Err(bad(BadCertificatePrePrepare::ViewNotBelowNewView));
        }
        if pp.batch.digest() != pp.digest {
            return Err(bad(BadCertificatePrePrepare::DigestMismatch));
        }
        if pp.batch.tx_hashes.len() > config.batch_max_txs as usize {
            return Err(bad(BadCertificatePrePrepare::TooManyTxs));
        }
        let primary = epoch.primary(pp.view);
        if certificate.pre_prepare.sender != primary {
            return Err(bad(BadCertificatePrePrepare::NotFromPrimary));
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
                reason: BadCertificatePrePrepare::NotAPrePrepare,
            }),
        },
        Err(rejected) => Err(BadViewChange::CertificatePrePrepare {
            seq: seq_unknown,
            reason: BadCertificatePrePrepare::Envelope(rejected),
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
        let vc = open_view_change(signed, membership.roster(), &config.chain_id)
            .map(VerifiedViewChange::into_view_change)
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
        let mismatch = |seq, reason| BadNewView::QMismatch { seq, reason };
        let verified = verify(signed, membership.roster(), &config.chain_id)
            .map_err(|e| mismatch(SeqNo(0), BadQ::Envelope(e)))?;
        let Message::PrePrepare(pp) = verified.message().clone() else {
            return Err(mismatch(verified.message().seq(), BadQ::NotAPrePrepare));
        };
        if signed.sender != primary || pp.view != nv.view || pp.batch.digest() != pp.digest {
            return Err(mismatch(pp.seq, BadQ::NotThePrimarysPrePrepare));
        }
        pre_prepares.push((signed.clone(), pp));
    }
    if check_q {
        if pre_prepares.len() != selection.entries.len() {
            let seq = selection.high().max(SeqNo(pre_prepares.len() as u64));
            return Err(BadNewView::QMismatch {
                seq,
                reason: BadQ::Count {
                    sent: pre_prepares.len(),
                    determined: selection.entries.len(),
                },
            });
        }
        for ((_, pp), (seq, _, digest)) in pre_prepares.iter().zip(&selection.entries) {
            if pp.seq != *seq || pp.digest != *digest {
                return Err(BadNewView::QMismatch {
                    seq: *seq,
                    reason: BadQ::Digest {
                        determined: *digest,
                    },
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
