//! `check_new_view`: every way a NEW-VIEW is refused, and what the test-only
//! switch lets through.

use super::*;

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
        let strict = check_new_view(
            &case.nv,
            ReplicaId(case.sender),
            &config,
            &config.membership().unwrap(),
        );
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
        let lax = check_new_view_skipping_q(
            &case.nv,
            ReplicaId(case.sender),
            &config,
            &config.membership().unwrap(),
        );
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
