//! `check_view_change`: every way a VIEW-CHANGE is refused.

use super::*;

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
                    if matches!(reason, BadCertificatePrePrepare::NotFromPrimary))
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
                    if matches!(reason, BadCertificatePrePrepare::Envelope(Rejected::BadSignature { .. })))
            },
        },
        VcCase {
            name: "pre-prepare of the new view itself",
            vc: view_change(1, good_proof(), vec![certificate(1, 6, 6)]),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if matches!(reason, BadCertificatePrePrepare::ViewNotBelowNewView))
            },
        },
        VcCase {
            name: "pre-prepare of a view above the new view",
            vc: view_change(1, good_proof(), vec![certificate(2, 6, 6)]),
            expected: |r| {
                matches!(r, Err(BadViewChange::CertificatePrePrepare { seq: SeqNo(6), reason })
                    if matches!(reason, BadCertificatePrePrepare::ViewNotBelowNewView))
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
                    if matches!(reason, BadCertificatePrePrepare::DigestMismatch))
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
                    if matches!(reason, BadCertificatePrePrepare::NotAPrePrepare))
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
        let result = check_view_change(&case.vc, &config, &config.membership().unwrap());
        assert!((case.expected)(&result), "{}: got {result:?}", case.name);
    }
}
