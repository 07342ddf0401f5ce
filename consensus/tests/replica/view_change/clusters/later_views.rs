//! Clusters across several views and restarts: stale certificates of older views,
//! an old primary rejoining, a crashed new primary, restarts mid view change.

use super::*;

/// PBFT paper section 4.4 (the highest view wins): replica 3 alone prepared batch A
/// at height 2 in view 0 and stayed out of view 1's V; view 1 ordered batch B there,
/// committed at replica 2 only, and replica 3 never saw it. In view 2, V holds 3's
/// stale certificate for A beside certificates for B: every live replica commits B,
/// with the block hash replica 2 committed.
#[test]
fn stale_certificate_of_an_older_view_does_not_override_a_newer_one() {
    let mut cluster = Cluster::new(N);
    cluster.tick(1);
    commit_in_view_0(&mut cluster, 1);

    // View 0: A reaches 2 and 3; only 2's prepare reaches 3, so only 3 is prepared.
    cluster.submit(0, BATCH_MAX_TXS as usize);
    let a = queued_pre_prepare(&cluster);
    run_filtered(&mut cluster, |to, envelope| match envelope.kind() {
        MessageKind::PrePrepare => to == 2 || to == 3,
        MessageKind::Prepare => to == 3 && envelope.sender() == ReplicaId(2),
        _ => false,
    });
    assert!(
        cluster.hosts[3].roots.contains_key(&2),
        "3 prepared and executed A"
    );
    assert!(
        !cluster.hosts[2].roots.contains_key(&2),
        "2 is not prepared"
    );

    // View 1: 3's VIEW-CHANGE never reaches the new primary, so V leaves A out.
    cluster.tick(timeout_ms());
    time_out_after_silence(&mut cluster);
    settle_filtered(&mut cluster, |to, envelope| {
        !(to == 1
            && envelope.kind() == MessageKind::ViewChange
            && envelope.sender() == ReplicaId(3))
    });
    for i in 0..N {
        let replica = &cluster.replicas[i];
        assert_eq!(
            (replica.view(), replica.is_changing_view()),
            (View(1), false),
            "replica {i} in view 1"
        );
    }

    // B at height 2 in view 1: 3 sees nothing of it, and only 2 gets the commits.
    cluster.submit(1, BATCH_MAX_TXS as usize);
    let b = cluster
        .queue
        .iter()
        .filter_map(|(_, envelope)| envelope.as_message())
        .find(|signed| signed.kind == MessageKind::PrePrepare && signed.sender == ReplicaId(1))
        .map(
            |signed| match verify(signed, &config(N, 0).validators, CHAIN) {
                Ok(verified) => verified.message().clone(),
                Err(e) => panic!("{e}"),
            },
        );
    let Some(Message::PrePrepare(b)) = b else {
        panic!("the primary of view 1 proposed: {:?}", cluster.queue);
    };
    assert_eq!(b.seq, SeqNo(2));
    assert_ne!(a.digest, b.digest);
    run_filtered(&mut cluster, |to, envelope| {
        let to_3 = to == 3 && is_ordering(envelope);
        let commit_elsewhere = envelope.kind() == MessageKind::Commit && to != 2;
        !to_3 && !commit_elsewhere
    });
    let heights: Vec<SeqNo> = cluster
        .replicas
        .iter()
        .map(|r| r.last_committed())
        .collect();
    assert_eq!(heights, vec![SeqNo(1), SeqNo(1), SeqNo(2), SeqNo(1)]);
    let committed_b = cluster.committed[2][1].clone();
    assert_eq!((committed_b.digest, committed_b.view), (b.digest, View(1)));

    // View 2 without replica 1: V is 0, 2 and 3.
    cluster.crash(1);
    cluster.tick(timeout_ms());
    settle(&mut cluster);
    for i in [0, 2, 3] {
        let replica = &cluster.replicas[i];
        assert_eq!(
            (replica.view(), replica.is_changing_view()),
            (View(2), false),
            "replica {i} in view 2"
        );
        let block = &cluster.committed[i][1];
        assert_eq!(
            (block.seq, block.digest, block.block_hash),
            (SeqNo(2), b.digest, committed_b.block_hash),
            "replica {i} committed B"
        );
    }
    // The case really arose: view 2's V holds A's certificate of view 0 and B's of
    // view 1 at height 2.
    let validators = config(N, 0).validators;
    let nv_signed = cluster.persisted[0]
        .new_view
        .clone()
        .expect("entered view 2");
    let nv = open_new_view(&nv_signed, &validators, CHAIN).expect("verifies");
    assert_eq!(nv.new_view().view, View(2));
    let mut at_2: Vec<(View, Hash)> = Vec::new();
    for signed in nv.new_view().view_changes.iter() {
        let vc = open_view_change(signed, &validators, CHAIN).expect("verifies");
        for certificate in vc.view_change().prepared.iter() {
            let verified = verify(&certificate.pre_prepare, &validators, CHAIN).expect("verifies");
            if let Message::PrePrepare(pp) = verified.message() {
                if pp.seq == SeqNo(2) {
                    at_2.push((pp.view, pp.digest));
                }
            }
        }
    }
    assert!(at_2.contains(&(View(0), a.digest)), "{at_2:?}");
    assert!(at_2.contains(&(View(1), b.digest)), "{at_2:?}");
    cluster.assert_sound("faults");
}

/// PBFT paper section 4.4 with a crash: the old primary, crashed before the view
/// change, restarts in view 0; the replicas of view 1 answer its heartbeat with their
/// VIEW-CHANGE and the NEW-VIEW, and it enters view 1, commits the height the view
/// change carried over, and takes part in the next.
#[test]
fn restarted_old_primary_rejoins_in_the_new_view() {
    let mut cluster = Cluster::new(N);
    cluster.tick(1);
    commit_in_view_0(&mut cluster, 1);
    cluster.submit(0, BATCH_MAX_TXS as usize);
    let carried = queued_pre_prepare(&cluster);
    run_filtered(&mut cluster, |to, envelope| {
        envelope.kind() == MessageKind::PrePrepare
            || (envelope.kind() == MessageKind::Prepare && to != 0)
    });
    cluster.crash(0);
    cluster.tick(timeout_ms());
    settle(&mut cluster);
    assert_eq!(cluster.replicas[1].last_committed(), SeqNo(2));

    cluster.restart(0);
    assert_eq!(cluster.replicas[0].view(), View(0), "it crashed in view 0");
    let heartbeat_ms = config(N, 0).idle_timeout_ms / 2;
    for _ in 0..3 {
        cluster.tick(heartbeat_ms + 1);
        settle(&mut cluster);
    }
    let old = &cluster.replicas[0];
    assert_eq!(
        (old.view(), old.is_changing_view()),
        (View(1), false),
        "the old primary is in view 1"
    );
    let block = &cluster.committed[0][1];
    assert_eq!((block.seq, block.digest), (SeqNo(2), carried.digest));
    assert_view_1_works(&mut cluster, "restarted");
    assert_eq!(cluster.replicas[0].last_committed(), SeqNo(3));
}

/// PBFT paper section 4.5.2: when the primary of the next view is down too, the
/// view-change timer (started once q VIEW-CHANGEs are held) moves the replicas on to
/// the view after; the batch prepared in view 0 still commits, at its height, in
/// view 2.
#[test]
fn view_change_timer_moves_past_a_crashed_new_primary() {
    let mut cluster = Cluster::new(N);
    cluster.tick(1);
    commit_in_view_0(&mut cluster, 1);
    cluster.submit(0, BATCH_MAX_TXS as usize);
    let carried = queued_pre_prepare(&cluster);
    run_filtered(&mut cluster, |_, envelope| {
        envelope.kind() != MessageKind::Commit
    });
    cluster.crash(1);
    cluster.tick(timeout_ms());
    time_out_after_silence(&mut cluster);
    settle(&mut cluster);
    for i in [0, 2, 3] {
        let replica = &cluster.replicas[i];
        assert_eq!(
            (replica.view(), replica.is_changing_view()),
            (View(1), true),
            "replica {i} waits for a NEW-VIEW that cannot come"
        );
    }
    cluster.tick(config(N, 0).view_change_timeout_ms + 1);
    settle(&mut cluster);
    for i in [0, 2, 3] {
        let replica = &cluster.replicas[i];
        assert_eq!(
            (replica.view(), replica.is_changing_view()),
            (View(2), false),
            "replica {i} in view 2"
        );
        let block = &cluster.committed[i][1];
        assert_eq!(
            (block.seq, block.view, block.digest),
            (SeqNo(2), View(2), carried.digest),
            "replica {i}"
        );
    }
    cluster.submit(2, BATCH_MAX_TXS as usize);
    cluster.run_until_quiet();
    for i in [0, 2, 3] {
        assert_eq!(
            cluster.replicas[i].last_committed(),
            SeqNo(3),
            "replica {i}"
        );
    }
    cluster.assert_sound("faults");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RestartAt {
    /// Every VIEW-CHANGE is sent, nothing is delivered yet.
    MidChange,
    /// Every live replica is in view 1.
    InNewView,
}

/// DESIGN.md sections 2 and 5.1: a replica that crashes and restarts while changing
/// views (its VIEW-CHANGE persisted) or just after entering the new view (the
/// NEW-VIEW persisted) ends in view 1 with the others; the batch prepared in view 0
/// commits at its height, and view 1 goes on committing.
#[test]
fn restart_during_or_after_the_view_change() {
    let cases = [
        (1, RestartAt::MidChange),
        (2, RestartAt::MidChange),
        (1, RestartAt::InNewView),
        (3, RestartAt::InNewView),
    ];
    for (who, at) in cases {
        let name = format!("replica {who} restarts {at:?}");
        let mut cluster = Cluster::new(N);
        cluster.tick(1);
        commit_in_view_0(&mut cluster, 1);
        cluster.submit(0, BATCH_MAX_TXS as usize);
        let carried = queued_pre_prepare(&cluster);
        run_filtered(&mut cluster, |_, envelope| {
            envelope.kind() != MessageKind::Commit
        });
        cluster.crash(0);
        cluster.tick(timeout_ms());
        time_out_after_silence(&mut cluster);
        if at == RestartAt::InNewView {
            settle(&mut cluster);
        }
        cluster.crash(who);
        cluster.restart(who);
        assert_eq!(cluster.replicas[who as usize].view(), View(1), "{name}");
        settle(&mut cluster);
        for i in 1..N {
            let replica = &cluster.replicas[i];
            assert_eq!(
                (replica.view(), replica.is_changing_view()),
                (View(1), false),
                "{name}: replica {i}"
            );
            let block = &cluster.committed[i].last().expect("committed").clone();
            assert_eq!(
                (block.seq, block.digest),
                (SeqNo(2), carried.digest),
                "{name}: replica {i}"
            );
        }
        cluster.assert_sound(&name);
        assert_view_1_works(&mut cluster, &name);
    }
}
