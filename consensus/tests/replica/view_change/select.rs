//! `select`: Q computed from V.

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
                check_view_change(vc, &config(N, 0), &config(N, 0).membership().unwrap()),
                Ok(()),
                "{}: V is valid",
                case.name
            );
        }
        let selection = select(consensus::primary_of(View(SELECT_VIEW), N), &v);
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
        let selection = select(consensus::primary_of(View(2), N), &v);
        assert_eq!(
            selection.entries,
            vec![(SeqNo(1), smaller.clone(), smaller.digest())]
        );
    }
}
