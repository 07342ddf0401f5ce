//! Four-replica clusters changing view while a batch is prepared, or a block
//! committed, at only some replicas.

use super::*;

// ----- 4. whole clusters changing view -----

/// The pre-prepare the primary of view 0 last queued.
fn queued_pre_prepare(cluster: &Cluster) -> PrePrepare {
    let signed = cluster
        .queue
        .iter()
        .rev()
        .filter_map(|(_, envelope)| envelope.as_message())
        .find(|signed| signed.kind == MessageKind::PrePrepare && signed.sender == ReplicaId(0))
        .expect("the primary proposed");
    let validators = cluster.replicas[0].config().validators.clone();
    let verified = verify(signed, &validators, CHAIN).expect("verifies");
    let Message::PrePrepare(pp) = verified.message() else {
        panic!("a pre-prepare");
    };
    pp.clone()
}

fn certificate_seq(certificate: &PreparedCertificate) -> SeqNo {
    let validators = config(N, 0).validators;
    let verified = verify(&certificate.pre_prepare, &validators, CHAIN).expect("verifies");
    verified.message().seq()
}

fn live(cluster: &Cluster) -> Vec<u32> {
    (0..N as u32)
        .filter(|i| !cluster.down[*i as usize])
        .collect()
}

/// Past both the idle-primary and the request timeout, in one tick, so every replica
/// asks for view 1 in the same step (before retransmission could finish view 0).
fn timeout_ms() -> u64 {
    let config = config(N, 0);
    config.idle_timeout_ms.max(config.request_timeout_ms) + 1
}

/// Delivers everything, then lets retransmission run a few intervals (far less than
/// the view-change timeout, so no second view change can start). Backups now learn
/// the NEW-VIEW only this way: the new primary does not broadcast it (see
/// `new_primary_broadcasts_new_view`); they get it when they resend their
/// VIEW-CHANGE and the primary answers them.
fn settle(cluster: &mut Cluster) {
    cluster.run_until_quiet();
    for _ in 0..10 {
        cluster.tick(RETRANSMIT_MS);
        cluster.run_until_quiet();
    }
}

/// Delivers with `keep` as `run_filtered` does, then lets retransmission run a few
/// intervals through the same filter.
fn settle_filtered(cluster: &mut Cluster, keep: impl Fn(u32, &Envelope) -> bool) {
    run_filtered(cluster, &keep);
    for _ in 0..10 {
        cluster.tick(RETRANSMIT_MS);
        run_filtered(cluster, &keep);
    }
}

fn is_ordering(envelope: &Envelope) -> bool {
    matches!(
        envelope.kind(),
        MessageKind::PrePrepare | MessageKind::Prepare | MessageKind::Commit
    )
}

/// Commits `heights` more heights at every replica in view 0.
fn commit_in_view_0(cluster: &mut Cluster, heights: u64) {
    let start = cluster.replicas[0].last_committed().0;
    for _ in 0..heights {
        cluster.submit(0, BATCH_MAX_TXS as usize);
        cluster.run_until_quiet();
    }
    for i in live(cluster) {
        assert_eq!(
            cluster.replicas[i as usize].last_committed(),
            SeqNo(start + heights),
            "replica {i} committed in view 0"
        );
    }
}

/// After the view change: every live replica is in view 1 and, with transactions
/// submitted to the new primary, commits one more height there.
fn assert_view_1_works(cluster: &mut Cluster, name: &str) {
    for i in live(cluster) {
        let replica = &cluster.replicas[i as usize];
        assert_eq!(replica.view(), View(1), "{name}: replica {i} view");
        assert!(!replica.is_changing_view(), "{name}: replica {i} changing");
    }
    let before = cluster.replicas[1].last_committed();
    cluster.submit(1, BATCH_MAX_TXS as usize);
    cluster.run_until_quiet();
    for i in live(cluster) {
        let blocks = &cluster.committed[i as usize];
        let last = blocks.last().expect("committed");
        assert_eq!(
            last.seq,
            before.next(),
            "{name}: replica {i} went on in view 1"
        );
        assert_eq!(last.view, View(1), "{name}: replica {i}");
    }
    cluster.assert_agreement();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterChange {
    /// The batch of view 0, same digest.
    Same,
    /// Nothing prepared here: an empty batch from the new primary.
    Empty,
}

struct PreparedCase {
    name: &'static str,
    /// Heights committed everywhere in view 0 first.
    committed: u64,
    /// For each following height the primary proposes: the backups that receive its
    /// pre-prepare. Prepares travel among them only, and no commit is delivered.
    accepted_by: Vec<Vec<u32>>,
    crash_primary: bool,
    expected: Vec<AfterChange>,
}

/// PBFT paper section 4.4, DESIGN.md section 5.1: a batch prepared at only some
/// replicas before the view change is neither lost nor reordered: every live replica
/// commits the same digest at the same height in view 1. A height below it that no
/// replica prepared becomes an empty batch from the new primary.
#[test]
fn batch_prepared_at_some_replicas_survives_the_view_change() {
    use AfterChange::{Empty, Same};
    let cases = vec![
        PreparedCase {
            name: "prepared at 1 and 2, primary crashes",
            committed: 1,
            accepted_by: vec![vec![1, 2]],
            crash_primary: true,
            expected: vec![Same],
        },
        PreparedCase {
            name: "prepared at 2 and 3 (not the new primary), primary crashes",
            committed: 1,
            accepted_by: vec![vec![2, 3]],
            crash_primary: true,
            expected: vec![Same],
        },
        PreparedCase {
            name: "prepared at every backup, primary alive",
            committed: 0,
            accepted_by: vec![vec![1, 2, 3]],
            crash_primary: false,
            expected: vec![Same],
        },
        PreparedCase {
            name: "prepared at 1 and 2, primary alive",
            committed: 2,
            accepted_by: vec![vec![1, 2]],
            crash_primary: false,
            expected: vec![Same],
        },
        PreparedCase {
            name: "two heights prepared at different pairs",
            committed: 1,
            accepted_by: vec![vec![1, 2], vec![2, 3]],
            crash_primary: true,
            expected: vec![Same, Same],
        },
        PreparedCase {
            name: "a height nobody prepared below a prepared one",
            committed: 2,
            accepted_by: vec![vec![], vec![1, 2]],
            crash_primary: true,
            expected: vec![Empty, Same],
        },
        PreparedCase {
            name: "a height one backup accepted below a prepared one, primary alive",
            committed: 1,
            accepted_by: vec![vec![3], vec![1, 2]],
            crash_primary: false,
            expected: vec![Empty, Same],
        },
        PreparedCase {
            name: "above a stable checkpoint",
            committed: K,
            accepted_by: vec![vec![1, 2], vec![2, 3]],
            crash_primary: true,
            expected: vec![Same, Same],
        },
    ];
    for case in cases {
        let name = case.name;
        let mut cluster = Cluster::new(N);
        cluster.tick(1);
        commit_in_view_0(&mut cluster, case.committed);
        let mut proposed = Vec::new();
        for accepted in &case.accepted_by {
            cluster.submit(0, BATCH_MAX_TXS as usize);
            proposed.push(queued_pre_prepare(&cluster));
            run_filtered(&mut cluster, |to, envelope| {
                let among = accepted.contains(&to);
                match envelope.kind() {
                    MessageKind::PrePrepare => among,
                    MessageKind::Prepare => among && accepted.contains(&envelope.sender().0),
                    _ => false,
                }
            });
        }
        for i in 0..N {
            assert_eq!(
                cluster.replicas[i].last_committed(),
                SeqNo(case.committed),
                "{name}: replica {i} committed nothing more in view 0"
            );
        }
        // The precondition: exactly the replicas that were sent a pre-prepare and the
        // prepares of two backups hold a prepared certificate for its height.
        for (pp, accepted) in proposed.iter().zip(&case.accepted_by) {
            let prepared: Vec<u32> = (0..N as u32)
                .filter(|i| {
                    cluster.persisted[*i as usize]
                        .prepared
                        .iter()
                        .any(|c| certificate_seq(c) == pp.seq)
                })
                .collect();
            let expected = if accepted.len() >= quorum(N) - 1 {
                accepted.clone()
            } else {
                vec![]
            };
            assert_eq!(prepared, expected, "{name}: prepared at {:?}", pp.seq);
        }
        if case.crash_primary {
            cluster.crash(0);
        }
        // The timers notice the pending batch at the next tick and time out a
        // request timeout after it.
        cluster.tick(1);
        cluster.tick(timeout_ms());
        time_out_after_silence(&mut cluster);
        settle(&mut cluster);

        for i in live(&cluster) {
            let blocks = &cluster.committed[i as usize];
            assert_eq!(
                blocks.len() as u64,
                case.committed + case.expected.len() as u64,
                "{name}: replica {i} committed every height"
            );
            for (k, (expected, pp)) in case.expected.iter().zip(&proposed).enumerate() {
                let block = &blocks[case.committed as usize + k];
                assert_eq!(block.seq, pp.seq, "{name}: replica {i}");
                assert_eq!(block.view, View(1), "{name}: replica {i} at {:?}", pp.seq);
                let digest = match expected {
                    AfterChange::Same => pp.digest,
                    AfterChange::Empty => {
                        let above = &proposed[k + 1];
                        empty_batch(1, above.batch.timestamp_ms).digest()
                    }
                };
                assert_eq!(block.digest, digest, "{name}: replica {i} at {:?}", pp.seq);
            }
        }
        cluster.assert_sound(name);
        assert_view_1_works(&mut cluster, name);
    }
}

struct CommittedCase {
    name: &'static str,
    /// The height committed at one replica only (all below commit everywhere).
    height: u64,
    /// The only replica that receives its commits.
    committed_at: u32,
    crash_primary: bool,
}

/// PBFT paper section 4.4, DESIGN.md section 3 (last paragraphs): a block committed at
/// one replica only (the others missed the commits) is committed at the same height
/// with the same block hash by every live replica after the view change.
#[test]
fn block_committed_at_one_replica_is_committed_by_all_after_the_view_change() {
    let cases = vec![
        CommittedCase {
            name: "at the new primary, old primary crashes",
            height: 2,
            committed_at: 1,
            crash_primary: true,
        },
        CommittedCase {
            name: "at a backup, old primary crashes",
            height: 2,
            committed_at: 2,
            crash_primary: true,
        },
        CommittedCase {
            name: "at a backup, old primary alive",
            height: 2,
            committed_at: 3,
            crash_primary: false,
        },
        CommittedCase {
            name: "at the new primary, old primary alive",
            height: 2,
            committed_at: 1,
            crash_primary: false,
        },
        CommittedCase {
            name: "at the old primary, which stays",
            height: 2,
            committed_at: 0,
            crash_primary: false,
        },
        CommittedCase {
            name: "at the old primary, which then crashes",
            height: 2,
            committed_at: 0,
            crash_primary: true,
        },
        CommittedCase {
            name: "a checkpoint height, at a backup, old primary crashes",
            height: K,
            committed_at: 2,
            crash_primary: true,
        },
        CommittedCase {
            name: "a checkpoint height, at the new primary, old primary alive",
            height: K,
            committed_at: 1,
            crash_primary: false,
        },
        CommittedCase {
            name: "the first height, at a backup, old primary crashes",
            height: 1,
            committed_at: 3,
            crash_primary: true,
        },
    ];
    for case in cases {
        let name = case.name;
        let height = case.height;
        let mut cluster = Cluster::new(N);
        cluster.tick(1);
        commit_in_view_0(&mut cluster, height - 1);
        cluster.submit(0, BATCH_MAX_TXS as usize);
        let pp = queued_pre_prepare(&cluster);
        run_filtered(&mut cluster, |to, envelope| match envelope.kind() {
            MessageKind::Commit => to == case.committed_at,
            _ => true,
        });
        for i in 0..N as u32 {
            let expected = if i == case.committed_at {
                height
            } else {
                height - 1
            };
            assert_eq!(
                cluster.replicas[i as usize].last_committed(),
                SeqNo(expected),
                "{name}: replica {i} before the view change"
            );
        }
        let first = cluster.committed[case.committed_at as usize][height as usize - 1].clone();
        assert_eq!((first.view, first.digest), (View(0), pp.digest), "{name}");

        if case.crash_primary {
            cluster.crash(0);
        }
        // The timers notice the pending batch at the next tick and time out a
        // request timeout after it.
        cluster.tick(1);
        cluster.tick(timeout_ms());
        time_out_after_silence(&mut cluster);
        settle(&mut cluster);

        for i in live(&cluster) {
            let blocks = &cluster.committed[i as usize];
            assert!(
                blocks.len() as u64 >= height,
                "{name}: replica {i} committed {}",
                blocks.len()
            );
            let block = &blocks[height as usize - 1];
            assert_eq!(
                (block.seq, block.digest, block.block_hash, block.state_root),
                (
                    SeqNo(height),
                    first.digest,
                    first.block_hash,
                    first.state_root
                ),
                "{name}: replica {i}"
            );
            if i != case.committed_at {
                assert_eq!(
                    block.view,
                    View(1),
                    "{name}: replica {i} committed it in view 1"
                );
            }
        }
        if height % K == 0 {
            // The checkpoint the one replica signed alone is now stable everywhere.
            for i in live(&cluster) {
                let stable = cluster.replicas[i as usize].stable_checkpoint();
                assert_eq!(
                    stable.map(|c| (c.seq, c.block_hash)),
                    Some((SeqNo(height), first.block_hash)),
                    "{name}: replica {i} checkpoint"
                );
            }
        }
        // assert_agreement also proves the one replica did not commit the height twice.
        cluster.assert_sound(name);
        assert_view_1_works(&mut cluster, name);
    }
}

/// DESIGN.md section 5.1 step 2: the new primary, holding q VIEW-CHANGEs, broadcasts
/// NEW-VIEW (after persisting it) in the step it enters the view, so the backups
/// enter it without waiting for a retransmission.
#[test]
fn new_primary_broadcasts_new_view() {
    let validators = config(N, 1).validators;
    let mut primary = replica(N, 1);
    let _ = primary.step(Input::Tick { now_ms: 1 });
    let mut entered = None;
    let mut sent = Vec::new();
    let mut persisted = Vec::new();
    for from in [2, 3] {
        let signed = signed_view_change(from, &view_change(1, None, vec![]));
        let verified = open_view_change(&signed, &validators, CHAIN).expect("verifies");
        let ready = primary.step(Input::ViewChange(verified));
        entered = entered.or(ready.entered_view);
        sent.extend(ready.then_send);
        persisted.extend(ready.persist);
    }
    assert_eq!(
        entered,
        Some(View(1)),
        "f + 1 made it join; q made it build"
    );
    assert_eq!(primary.view(), View(1));
    assert!(!primary.is_changing_view());
    let new_views: Vec<&SignedNewView> = sent
        .iter()
        .filter_map(|out| match (&out.message, out.to) {
            (Envelope::NewView(signed), Target::All) => Some(signed),
            _ => None,
        })
        .collect();
    assert_eq!(new_views.len(), 1, "NEW-VIEW broadcast once: {sent:?}");
    assert!(
        persisted
            .iter()
            .any(|entry| *entry == PersistEntry::NewView(new_views[0].clone())),
        "and persisted"
    );

    // In a cluster: the backups are in view 1 as soon as the network is quiet.
    let mut cluster = Cluster::new(N);
    cluster.tick(1);
    commit_in_view_0(&mut cluster, 1);
    cluster.crash(0);
    cluster.tick(timeout_ms());
    time_out_after_silence(&mut cluster);
    cluster.run_until_quiet();
    for i in 1..N {
        let replica = &cluster.replicas[i];
        assert_eq!(
            (replica.view(), replica.is_changing_view()),
            (View(1), false),
            "replica {i} entered view 1"
        );
    }
}

mod later_views;
