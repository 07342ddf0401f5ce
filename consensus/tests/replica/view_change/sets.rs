//! `select`, `check_view_change` and `check_new_view`, function by function.

use super::*;

// ----- 1. select: Q from V -----

#[derive(Debug, Clone, Copy)]
enum Slot {
    /// The batch `tagged(view, tag)` of a certificate in V.
    Cert { view: u64, tag: u64 },
    /// An empty batch from the new primary with this timestamp.
    Empty { timestamp_ms: u64 },
}

/// A certificate in a `select` case: `(view, seq, tag)`.
type CertSpec = (u64, u64, u64);

struct SelectCase {
    name: &'static str,
    /// Per VIEW-CHANGE: its checkpoint height (proof from 0, 1, 2) and its
    /// certificates as `(view, seq, tag)`.
    v: Vec<(Option<u64>, Vec<CertSpec>)>,
    /// `min_s`.
    low: u64,
    /// Q: `(height, what is ordered there)`, in height order.
    q: Vec<(u64, Slot)>,
}

/// The new view in every `select` case; its primary (3) proposes the empty batches.
const SELECT_VIEW: u64 = 3;

/// DESIGN.md section 5.1 step 2: for each height in `(min_s, max_s]` the batch of the
/// certificate with the highest view; a gap is an empty batch from the new primary
/// stamped with the timestamp of the nearest selected batch above; `min_s` is the
/// highest checkpoint in V and certificates at or below it are ignored; no
/// certificate, no Q.
#[test]
fn select_computes_q_from_v() {
    use Slot::{Cert, Empty};
    let cases = vec![
        SelectCase {
            name: "highest view wins, listed first",
            v: vec![
                (None, vec![(2, 1, 12)]),
                (None, vec![(0, 1, 10)]),
                (None, vec![(1, 1, 11)]),
            ],
            low: 0,
            q: vec![(1, Cert { view: 2, tag: 12 })],
        },
        SelectCase {
            name: "highest view wins, listed last",
            v: vec![
                (None, vec![(0, 1, 10)]),
                (None, vec![(1, 1, 11)]),
                (None, vec![(2, 1, 12)]),
            ],
            low: 0,
            q: vec![(1, Cert { view: 2, tag: 12 })],
        },
        SelectCase {
            name: "highest view wins, listed in the middle",
            v: vec![
                (None, vec![(1, 1, 11)]),
                (None, vec![(2, 1, 12)]),
                (None, vec![(0, 1, 10)]),
            ],
            low: 0,
            q: vec![(1, Cert { view: 2, tag: 12 })],
        },
        SelectCase {
            name: "each height chooses on its own",
            v: vec![
                (None, vec![(0, 1, 10), (0, 2, 20)]),
                (None, vec![(1, 1, 11)]),
                (None, vec![(2, 2, 22)]),
            ],
            low: 0,
            q: vec![
                (1, Cert { view: 1, tag: 11 }),
                (2, Cert { view: 2, tag: 22 }),
            ],
        },
        SelectCase {
            name: "a gap becomes empty batches stamped like the batch above",
            v: vec![
                (None, vec![(0, 1, 1), (0, 4, 4)]),
                (None, vec![]),
                (None, vec![]),
            ],
            low: 0,
            q: vec![
                (1, Cert { view: 0, tag: 1 }),
                (2, Empty { timestamp_ms: 40 }),
                (3, Empty { timestamp_ms: 40 }),
                (4, Cert { view: 0, tag: 4 }),
            ],
        },
        SelectCase {
            name: "each gap takes the nearest batch above, not max_s's",
            v: vec![
                (None, vec![(0, 1, 1), (0, 3, 3)]),
                (None, vec![(1, 6, 6)]),
                (None, vec![]),
            ],
            low: 0,
            q: vec![
                (1, Cert { view: 0, tag: 1 }),
                (2, Empty { timestamp_ms: 30 }),
                (3, Cert { view: 0, tag: 3 }),
                (4, Empty { timestamp_ms: 60 }),
                (5, Empty { timestamp_ms: 60 }),
                (6, Cert { view: 1, tag: 6 }),
            ],
        },
        SelectCase {
            name: "a gap right above min_s",
            v: vec![(None, vec![]), (None, vec![(0, 3, 3)]), (None, vec![])],
            low: 0,
            q: vec![
                (1, Empty { timestamp_ms: 30 }),
                (2, Empty { timestamp_ms: 30 }),
                (3, Cert { view: 0, tag: 3 }),
            ],
        },
        SelectCase {
            name: "min_s is the proven checkpoint; certificates at or below it are ignored",
            v: vec![
                (Some(5), vec![(0, 7, 7)]),
                (None, vec![(1, 3, 3), (1, 5, 5), (1, 6, 6)]),
                (None, vec![(2, 6, 16)]),
            ],
            low: 5,
            q: vec![
                (6, Cert { view: 2, tag: 16 }),
                (7, Cert { view: 0, tag: 7 }),
            ],
        },
        SelectCase {
            name: "min_s is the highest checkpoint in V",
            v: vec![
                (Some(5), vec![]),
                (Some(10), vec![(0, 12, 12)]),
                (None, vec![(2, 8, 8), (1, 10, 10), (1, 11, 11)]),
            ],
            low: 10,
            q: vec![
                (11, Cert { view: 1, tag: 11 }),
                (12, Cert { view: 0, tag: 12 }),
            ],
        },
        SelectCase {
            name: "min_s above every certificate: Q is empty",
            v: vec![
                (Some(10), vec![]),
                (None, vec![(0, 4, 4), (2, 10, 10)]),
                (None, vec![]),
            ],
            low: 10,
            q: vec![],
        },
        SelectCase {
            name: "no certificate: Q is empty",
            v: vec![(None, vec![]), (None, vec![]), (None, vec![])],
            low: 0,
            q: vec![],
        },
        SelectCase {
            name: "no certificate above a checkpoint: Q is empty",
            v: vec![(Some(5), vec![]), (None, vec![]), (Some(5), vec![])],
            low: 5,
            q: vec![],
        },
    ];
    for case in cases {
        let v: Vec<ViewChange> = case
            .v
            .iter()
            .map(|(checkpoint, certificates)| {
                let prepared = certificates
                    .iter()
                    .map(|(view, seq, tag)| certificate(*view, *seq, *tag))
                    .collect();
                view_change(
                    SELECT_VIEW,
                    checkpoint.map(|s| stable(s, &[0, 1, 2])),
                    prepared,
                )
            })
            .collect();
        for vc in &v {
            assert_eq!(
                check_view_change(vc, &config(N, 0)),
                Ok(()),
                "{}: V is valid",
                case.name
            );
        }
        let selection = select(View(SELECT_VIEW), N, &v);
        let expected: Vec<(SeqNo, Batch, Hash)> = case
            .q
            .iter()
            .map(|(seq, slot)| {
                let batch = match *slot {
                    Slot::Cert { view, tag } => tagged(view, tag),
                    Slot::Empty { timestamp_ms } => {
                        empty_batch(primary_of(View(SELECT_VIEW), N).0, timestamp_ms)
                    }
                };
                let digest = batch.digest();
                (SeqNo(*seq), batch, digest)
            })
            .collect();
        assert_eq!(selection.entries, expected, "{}: Q", case.name);
        assert_eq!(selection.low(), SeqNo(case.low), "{}: min_s", case.name);
        assert_eq!(
            selection.checkpoint.as_ref().map(|c| c.seq),
            (case.low > 0).then_some(SeqNo(case.low)),
            "{}: the checkpoint carried",
            case.name
        );
        let max_s = case.q.last().map_or(case.low, |(seq, _)| *seq);
        assert_eq!(selection.high(), SeqNo(max_s), "{}: max_s", case.name);
    }
}

/// Two certificates of one view for one height (only more than f faulty replicas can
/// make them): the smaller digest wins, in whatever order V lists them.
#[test]
fn select_breaks_a_tie_by_the_smaller_digest() {
    let (a, b) = (tagged(1, 5), tagged(1, 6));
    let smaller = if a.digest() < b.digest() { &a } else { &b };
    for (first, second) in [(&a, &b), (&b, &a)] {
        let v = vec![
            view_change(2, None, vec![certificate_for(1, 1, first.clone())]),
            view_change(2, None, vec![certificate_for(1, 1, second.clone())]),
        ];
        let selection = select(View(2), N, &v);
        assert_eq!(
            selection.entries,
            vec![(SeqNo(1), smaller.clone(), smaller.digest())]
        );
    }
}

// ----- 2. check_view_change: every refusal -----

struct VcCase {
    name: &'static str,
    vc: ViewChange,
    expected: fn(&Result<(), BadViewChange>) -> bool,
}

/// DESIGN.md section 5.1 step 1 and 3: a VIEW-CHANGE is refused when C does not prove
/// its checkpoint, or when P holds a certificate out of order, outside `(s, s + L]`,
/// whose pre-prepare is not its view's primary's, not below the new view or not its
/// batch's, or with fewer than `q - 1` valid matching prepares from distinct backups.
#[test]
fn view_change_refusals() {
    let good_proof = || Some(stable(5, &[0, 1, 2]));
    // The certificate at 6 of view 0, with its pre-prepare or prepares replaced.
    let batch6 = tagged(0, 6);
    let d6 = batch6.digest();
    let pp6 =
        |signer: u32, view: u64| pre_prepare(N, signer, view, 6, batch6.clone(), Hash([7; 32]));
    let with_prepares = |prepares: Vec<SignedMessage>| vec![certificate_of(pp6(0, 0), prepares)];
    let other_block = crypto::sha256(b"another block");
    let cases = vec![
        VcCase {
            name: "valid: checkpoint at 5, certificates at 6 (view 0) and 7 (view 1)",
            vc: view_change(
                2,
                good_proof(),
                vec![certificate(0, 6, 6), certificate(1, 7, 7)],
            ),
            expected: |r| r.is_ok(),
        },
        VcCase {
            name: "valid: genesis, a certificate at L",
            vc: view_change(1, None, vec![certificate(0, L, 1)]),
            expected: |r| r.is_ok(),
        },
        VcCase {
            name: "valid: a certificate at s + L",
            vc: view_change(1, good_proof(), vec![certificate(0, 5 + L, 1)]),
            expected: |r| r.is_ok(),
        },
        VcCase {
            name: "valid: prepares from every backup",
            vc: view_change(
                1,
                None,
                vec![certificate_of(pp6(0, 0), backup_prepares(0, 6, d6, N - 1))],
            ),
            expected: |r| r.is_ok(),
        },
        VcCase {
            name: "proof short: q - 1 checkpoints",
            vc: view_change(1, Some(stable(5, &[0, 1])), vec![]),
            expected: |r| *r == Err(BadViewChange::CheckpointProof { seq: SeqNo(5) }),
        },
        VcCase {
            name: "proof repeats a signer",
            vc: view_change(1, Some(stable(5, &[0, 1, 1])), vec![]),
            expected: |r| *r == Err(BadViewChange::CheckpointProof { seq: SeqNo(5) }),
        },
        VcCase {
            name: "proof forged: signed by 3 as 2",
            vc: view_change(
                1,
                Some(StableCheckpoint {
                    seq: SeqNo(5),
                    block_hash: checkpoint_block(5),
                    proof: BoundedVec::new(vec![
                        checkpoint(N, 0, 5, checkpoint_block(5)),
                        checkpoint(N, 1, 5, checkpoint_block(5)),
                        forged(checkpoint(N, 3, 5, checkpoint_block(5)), 2),
                    ])
                    .expect("bound"),
                }),
                vec![],
            ),
            expected: |r| *r == Err(BadViewChange::CheckpointProof { seq: SeqNo(5) }),
        },
        VcCase {
            name: "proof holds a checkpoint for another block",
            vc: view_change(
                1,
                Some(StableCheckpoint {
                    seq: SeqNo(5),
                    block_hash: checkpoint_block(5),
                    proof: BoundedVec::new(vec![
                        checkpoint(N, 0, 5, checkpoint_block(5)),
                        checkpoint(N, 1, 5, checkpoint_block(5)),
                        checkpoint(N, 2, 5, other_block),
                        checkpoint(N, 3, 5, checkpoint_block(5)),
                    ])
                    .expect("bound"),
                }),
                vec![],
            ),
            expected: |r| *r == Err(BadViewChange::CheckpointProof { seq: SeqNo(5) }),
        },
        VcCase {
            name: "checkpoint not at a multiple of K",
            vc: view_change(1, Some(stable(K - 1, &[0, 1, 2])), vec![]),
            expected: |r| *r == Err(BadViewChange::CheckpointProof { seq: SeqNo(K - 1) }),
        },
        VcCase {
            name: "certificates out of order",
            vc: view_change(
                1,
                good_proof(),
                vec![certificate(0, 7, 7), certificate(0, 6, 6)],
            ),
            expected: |r| *r == Err(BadViewChange::CertificateOrder { seq: SeqNo(6) }),
        },
        VcCase {
            name: "two certificates for one height",
            vc: view_change(
                1,
                good_proof(),
                vec![certificate(0, 6, 6), certificate(0, 6, 16)],
            ),
            expected: |r| *r == Err(BadViewChange::CertificateOrder { seq: SeqNo(6) }),
        },
        VcCase {
            name: "a certificate at the checkpoint",
            vc: view_change(1, good_proof(), vec![certificate(0, 5, 5)]),
            expected: |r| *r == Err(BadViewChange::CertificateOrder { seq: SeqNo(5) }),
        },
        VcCase {
            name: "a certificate above s + L",
            vc: view_change(1, good_proof(), vec![certificate(0, 6 + L, 1)]),
            expected: |r| *r == Err(BadViewChange::CertificateOutsideWindow { seq: SeqNo(6 + L) }),
        },
        VcCase {
            name: "a certificate above L at genesis",
            vc: view_change(1, None, vec![certificate(0, L + 1, 1)]),
            expected: |r| *r == Err(BadViewChange::CertificateOutsideWindow { seq: SeqNo(L + 1) }),
        },
        VcCase {
            name: "pre-prepare of view 0 signed by replica 1",
            vc: view_change(
                1,
                good_proof(),
                vec![certificate_of(pp6(1, 0), backup_prepares(0, 6, d6, 2))],
            ),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if reason.contains("primary"))
            },
        },
        VcCase {
            name: "pre-prepare forged: signed by 1 as 0",
            vc: view_change(
                1,
                good_proof(),
                vec![certificate_of(
                    forged(pp6(1, 0), 0),
                    backup_prepares(0, 6, d6, 2),
                )],
            ),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { reason, .. })
                    if reason.contains("signature"))
            },
        },
        VcCase {
            name: "pre-prepare of the new view itself",
            vc: view_change(1, good_proof(), vec![certificate(1, 6, 6)]),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if reason.contains("not below"))
            },
        },
        VcCase {
            name: "pre-prepare of a view above the new view",
            vc: view_change(1, good_proof(), vec![certificate(2, 6, 6)]),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if reason.contains("not below"))
            },
        },
        VcCase {
            name: "pre-prepare digest is not its batch's",
            vc: {
                let lie = crypto::sha256(b"not the batch");
                let pp = sign(
                    N,
                    0,
                    Message::PrePrepare(PrePrepare {
                        view: View(0),
                        seq: SeqNo(6),
                        digest: lie,
                        batch: batch6.clone(),
                        result: Hash([7; 32]),
                    }),
                );
                view_change(
                    1,
                    good_proof(),
                    vec![certificate_of(pp, backup_prepares(0, 6, lie, 2))],
                )
            },
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if reason.contains("digest"))
            },
        },
        VcCase {
            name: "a prepare where the pre-prepare belongs",
            vc: view_change(
                1,
                good_proof(),
                vec![certificate_of(
                    prepare(N, 0, 0, 6, d6),
                    backup_prepares(0, 6, d6, 2),
                )],
            ),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if reason.contains("not a pre-prepare"))
            },
        },
        VcCase {
            name: "short P set: q - 2 prepares",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(backup_prepares(0, 6, d6, quorum(N) - 2)),
            ),
            expected: |r| {
                *r == Err(BadViewChange::ShortCertificate {
                    seq: SeqNo(6),
                    valid: quorum(N) - 2,
                    needed: quorum(N) - 1,
                })
            },
        },
        VcCase {
            name: "a prepare forged: signed by 3 as 2",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(vec![
                    prepare(N, 1, 0, 6, d6),
                    forged(prepare(N, 3, 0, 6, d6), 2),
                ]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
        VcCase {
            name: "one backup's prepare twice",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(vec![prepare(N, 1, 0, 6, d6), prepare(N, 1, 0, 6, d6)]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
        VcCase {
            name: "a prepare from the primary",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(vec![prepare(N, 0, 0, 6, d6), prepare(N, 1, 0, 6, d6)]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
        VcCase {
            name: "a prepare for another digest",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(vec![
                    prepare(N, 1, 0, 6, d6),
                    prepare(N, 2, 0, 6, other_block),
                ]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
        VcCase {
            name: "a prepare of another view",
            vc: view_change(
                2,
                good_proof(),
                with_prepares(vec![prepare(N, 1, 0, 6, d6), prepare(N, 2, 1, 6, d6)]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
        VcCase {
            name: "a prepare for another height",
            vc: view_change(
                1,
                good_proof(),
                with_prepares(vec![prepare(N, 1, 0, 6, d6), prepare(N, 2, 0, 7, d6)]),
            ),
            expected: |r| *r == Err(BadViewChange::PaddedCertificate { seq: SeqNo(6) }),
        },
    ];
    let config = config(N, 0);
    for case in cases {
        let result = check_view_change(&case.vc, &config);
        assert!((case.expected)(&result), "{}: got {result:?}", case.name);
    }
}

// ----- 3. check_new_view: every refusal -----

/// The NEW-VIEW of view 1 that the tests below change one part of. V: replica 1
/// prepared batches at 1 and 3 of view 0, replica 2 the one at 1, replica 3 nothing;
/// so Q is: 1 that batch, 2 an empty batch stamped like 3's, 3 that batch.
struct NewViewParts {
    view_changes: Vec<SignedViewChange>,
    /// Q as the new primary (1) must sign it.
    q: Vec<SignedMessage>,
}

/// The pre-prepare of view 1 at `seq` for `batch`, signed by `signer`.
fn q_entry(signer: u32, view: u64, seq: u64, batch: Batch) -> SignedMessage {
    pre_prepare(N, signer, view, seq, batch, Hash([seq as u8; 32]))
}

fn new_view_parts() -> NewViewParts {
    let view_changes = vec![
        signed_view_change(
            1,
            &view_change(1, None, vec![certificate(0, 1, 1), certificate(0, 3, 3)]),
        ),
        signed_view_change(2, &view_change(1, None, vec![certificate(0, 1, 1)])),
        signed_view_change(3, &view_change(1, None, vec![])),
    ];
    let q = vec![
        q_entry(1, 1, 1, tagged(0, 1)),
        q_entry(1, 1, 2, empty_batch(1, 30)),
        q_entry(1, 1, 3, tagged(0, 3)),
    ];
    NewViewParts { view_changes, q }
}

fn new_view(view_changes: Vec<SignedViewChange>, q: Vec<SignedMessage>) -> NewView {
    NewView {
        view: View(1),
        view_changes: BoundedVec::new(view_changes).expect("at most N"),
        pre_prepares: BoundedVec::new(q).expect("at most L"),
    }
}

type NvCheck = fn(&Result<CheckedNewView, BadNewView>) -> bool;

struct NvCase {
    name: &'static str,
    sender: u32,
    nv: NewView,
    /// With Q recomputed from V.
    strict: NvCheck,
    /// With the test-only switch (`check_q` false).
    lax: NvCheck,
}

fn is_q_mismatch(r: &Result<CheckedNewView, BadNewView>) -> bool {
    matches!(r, Err(BadNewView::QMismatch { .. }))
}

/// DESIGN.md section 5.1 step 3: a NEW-VIEW is refused when it is not from the
/// primary of its view, V has fewer than q distinct senders or holds a VIEW-CHANGE for
/// another view or an invalid one, or Q is not what V determines (another digest at a
/// height, a height missing, an extra height, heights reordered). With `check_q`
/// false (the test-only switch) the mismatching Qs are taken as sent; the other
/// refusals stand.
#[test]
fn new_view_refusals() {
    let parts = new_view_parts();
    let vcs = parts.view_changes.clone();
    let q = parts.q.clone();
    let with_q = |q: Vec<SignedMessage>| new_view(vcs.clone(), q);
    let with_v = |v: Vec<SignedViewChange>| new_view(v, q.clone());
    let mut other_digest = q.clone();
    other_digest[1] = q_entry(1, 1, 2, batch(1, 30, &[99]));
    let mut missing = q.clone();
    missing.remove(1);
    let mut extra = q.clone();
    extra.push(q_entry(1, 1, 4, empty_batch(1, 30)));
    let mut swapped = q.clone();
    swapped.swap(1, 2);
    let mut from_backup = q.clone();
    from_backup[0] = q_entry(2, 1, 1, tagged(0, 1));
    let mut old_view = q.clone();
    old_view[0] = q_entry(1, 0, 1, tagged(0, 1));
    let short_certificate = view_change(
        1,
        None,
        vec![certificate_of(
            pre_prepare(N, 0, 0, 1, tagged(0, 1), Hash([7; 32])),
            backup_prepares(0, 1, tagged(0, 1).digest(), 1),
        )],
    );
    let mut forged_vc = signed_view_change(3, &view_change(1, None, vec![certificate(0, 1, 1)]));
    forged_vc.sender = ReplicaId(2);
    let cases = vec![
        NvCase {
            name: "correct",
            sender: 1,
            nv: with_q(q.clone()),
            strict: |r| r.is_ok(),
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "correct, V with all four",
            sender: 1,
            nv: with_v(vec![
                vcs[0].clone(),
                signed_view_change(0, &view_change(1, None, vec![])),
                vcs[1].clone(),
                vcs[2].clone(),
            ]),
            strict: |r| r.is_ok(),
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "from a backup of the view",
            sender: 2,
            nv: with_q(q.clone()),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::NotFromPrimary {
                        sender: ReplicaId(2),
                        view: View(1),
                        primary: ReplicaId(1)
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::NotFromPrimary { .. })),
        },
        NvCase {
            name: "from the primary of the old view",
            sender: 0,
            nv: with_q(q.clone()),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::NotFromPrimary {
                        sender: ReplicaId(0),
                        view: View(1),
                        primary: ReplicaId(1)
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::NotFromPrimary { .. })),
        },
        NvCase {
            name: "V with q - 1 view changes",
            sender: 1,
            nv: with_v(vcs[..2].to_vec()),
            strict: |r| matches!(r, Err(BadNewView::ShortV { senders: 2, q: 3 })),
            lax: |r| matches!(r, Err(BadNewView::ShortV { senders: 2, q: 3 })),
        },
        NvCase {
            name: "V with q view changes from q - 1 senders",
            sender: 1,
            nv: with_v(vec![vcs[0].clone(), vcs[1].clone(), vcs[1].clone()]),
            strict: |r| matches!(r, Err(BadNewView::ShortV { senders: 2, q: 3 })),
            lax: |r| matches!(r, Err(BadNewView::ShortV { senders: 2, q: 3 })),
        },
        NvCase {
            name: "a VIEW-CHANGE in V for view 2",
            sender: 1,
            nv: with_v(vec![
                vcs[0].clone(),
                vcs[1].clone(),
                signed_view_change(3, &view_change(2, None, vec![])),
            ]),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::WrongViewInV {
                        view: View(1),
                        got: View(2)
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::WrongViewInV { .. })),
        },
        NvCase {
            name: "a VIEW-CHANGE in V for view 0",
            sender: 1,
            nv: with_v(vec![
                vcs[0].clone(),
                vcs[1].clone(),
                signed_view_change(3, &view_change(0, None, vec![])),
            ]),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::WrongViewInV {
                        view: View(1),
                        got: View(0)
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::WrongViewInV { .. })),
        },
        NvCase {
            name: "an invalid VIEW-CHANGE in V",
            sender: 1,
            nv: with_v(vec![
                vcs[0].clone(),
                signed_view_change(2, &short_certificate),
                vcs[2].clone(),
            ]),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::BadViewChange {
                        sender: ReplicaId(2),
                        reason: BadViewChange::ShortCertificate { .. }
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::BadViewChange { .. })),
        },
        NvCase {
            name: "a forged VIEW-CHANGE in V: signed by 3 as 2",
            sender: 1,
            nv: with_v(vec![vcs[0].clone(), forged_vc, vcs[2].clone()]),
            strict: |r| {
                matches!(
                    r,
                    Err(BadNewView::BadViewChange {
                        sender: ReplicaId(2),
                        reason: BadViewChange::Envelope(Rejected::BadSignature { .. })
                    })
                )
            },
            lax: |r| matches!(r, Err(BadNewView::BadViewChange { .. })),
        },
        NvCase {
            name: "Q with another digest at height 2",
            sender: 1,
            nv: with_q(other_digest),
            strict: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(2), .. })),
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "Q missing height 2",
            sender: 1,
            nv: with_q(missing),
            strict: is_q_mismatch,
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "Q with an extra height 4",
            sender: 1,
            nv: with_q(extra),
            strict: is_q_mismatch,
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "Q with heights 2 and 3 swapped",
            sender: 1,
            nv: with_q(swapped),
            strict: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(2), .. })),
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "Q empty",
            sender: 1,
            nv: with_q(vec![]),
            strict: is_q_mismatch,
            lax: |r| r.is_ok(),
        },
        NvCase {
            name: "Q holds a pre-prepare signed by a backup",
            sender: 1,
            nv: with_q(from_backup),
            strict: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(1), .. })),
            lax: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(1), .. })),
        },
        NvCase {
            name: "Q holds a pre-prepare of the old view",
            sender: 1,
            nv: with_q(old_view),
            strict: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(1), .. })),
            lax: |r| matches!(r, Err(BadNewView::QMismatch { seq: SeqNo(1), .. })),
        },
    ];
    let config = config(N, 2);
    for case in cases {
        let strict = check_new_view(&case.nv, ReplicaId(case.sender), &config, true);
        assert!(
            (case.strict)(&strict),
            "{}: strict got {:?}",
            case.name,
            strict.as_ref().map(|c| c.pre_prepares.len())
        );
        if let Ok(checked) = &strict {
            let digests: Vec<Hash> = checked
                .pre_prepares
                .iter()
                .map(|(_, pp)| pp.digest)
                .collect();
            let determined: Vec<Hash> = checked
                .selection
                .entries
                .iter()
                .map(|(_, _, d)| *d)
                .collect();
            assert_eq!(digests, determined, "{}: Q is V's", case.name);
            assert_eq!(digests.len(), 3, "{}: heights 1 to 3", case.name);
        }
        let lax = check_new_view(&case.nv, ReplicaId(case.sender), &config, false);
        assert!(
            (case.lax)(&lax),
            "{}: lax got {:?}",
            case.name,
            lax.as_ref().map(|c| c.pre_prepares.len())
        );
        if let Ok(checked) = &lax {
            let taken: Vec<&SignedMessage> = checked.pre_prepares.iter().map(|(s, _)| s).collect();
            let sent: Vec<&SignedMessage> = case.nv.pre_prepares.iter().collect();
            assert_eq!(taken, sent, "{}: Q taken as sent", case.name);
        }
    }
}

/// The replica runs the same check: a NEW-VIEW whose Q is not V's is reported as a
/// fault and the replica stays where it is; with the test-only switch on, it enters
/// the view and prepares the forged Q.
#[test]
fn replica_refuses_a_new_view_whose_q_is_not_vs() {
    let parts = new_view_parts();
    let mut forged_q = parts.q.clone();
    let forged_batch = batch(1, 30, &[99]);
    forged_q[1] = q_entry(1, 1, 2, forged_batch.clone());
    let nv = new_view(parts.view_changes.clone(), forged_q);
    let signed = SignedNewView::sign(&keys(N)[1], CHAIN, ReplicaId(1), &nv);
    let validators = config(N, 2).validators;
    let input =
        || Input::NewView(open_new_view(&signed, &validators, CHAIN).expect("envelope verifies"));

    let mut strict = replica(N, 2);
    let ready = strict.step(input());
    assert!(
        ready.faults.iter().any(|f| matches!(
            f,
            Fault::BadNewView {
                sender: ReplicaId(1),
                reason: BadNewView::QMismatch { seq: SeqNo(2), .. }
            }
        )),
        "reported: {:?}",
        ready.faults
    );
    assert_eq!(ready.entered_view, None);
    assert_eq!(strict.view(), View(0));
    assert!(ready.then_send.is_empty(), "no prepare for a forged Q");

    let mut lax = replica(N, 2);
    lax.set_unsafe_skip_new_view_check(true);
    let ready = lax.step(input());
    assert_eq!(ready.entered_view, Some(View(1)));
    assert_eq!(lax.view(), View(1));
    let prepared_digests: Vec<(SeqNo, Hash)> = ready
        .then_send
        .iter()
        .filter_map(|out| out.message.as_message())
        .filter_map(
            |signed| match verify(signed, &validators, CHAIN).ok()?.message() {
                Message::Prepare(p) => Some((p.seq, p.digest)),
                _ => None,
            },
        )
        .collect();
    assert!(
        prepared_digests.contains(&(SeqNo(2), forged_batch.digest())),
        "the switch lets the forged batch through: {prepared_digests:?}"
    );
}
