//! Edges the review found: a new primary whose checkpoint lags V's, view changes
//! padded to overflow a NEW-VIEW, and a view that can no longer gather q
//! VIEW-CHANGEs because a validator moved past it; and a view-change timer armed
//! by a restarted replica's first message, before its first tick.

use super::*;
use consensus::{
    check_view_change_size, largest_view_change_messages, BadViewChange, Replica, ViewChangeReason,
    ViewChangeStarted,
};

/// The new primary (replica 1) never saw a CHECKPOINT, so its h is 0 while V proves
/// 10, and Q (11..25) reaches above its H (20). It takes V's checkpoint as stable
/// on entering the view, holds every Q height, and neither equivocates after a
/// restart nor stalls without one.
#[test]
fn a_new_primary_behind_vs_checkpoint_adopts_it() {
    for restart in [false, true] {
        let mut cluster = Cluster::new(N);
        cluster.tick(1);
        for _ in 0..10 {
            cluster.submit(0, BATCH_MAX_TXS as usize);
            run_filtered(&mut cluster, |to, e| {
                !(to == 1 && e.kind() == MessageKind::Checkpoint)
            });
        }
        assert_eq!(cluster.replicas[1].last_committed(), SeqNo(10));
        assert_eq!(cluster.replicas[1].low_watermark(), SeqNo(0));
        assert_eq!(cluster.replicas[0].low_watermark(), SeqNo(10));
        // 11..25 prepared at 0, 2 and 3; no commits; replica 1 hears nothing.
        for _ in 11..=25 {
            cluster.submit(0, BATCH_MAX_TXS as usize);
            run_filtered(&mut cluster, |to, e| {
                to != 1 && e.kind() != MessageKind::Commit
            });
        }
        let config = config(N, 0);
        cluster.tick(config.idle_timeout_ms.max(config.request_timeout_ms) + 1);
        time_out_after_silence(&mut cluster);
        while let Some((to, envelope)) = cluster.queue.pop_front() {
            if to == 1 && envelope.kind() == MessageKind::Checkpoint {
                continue;
            }
            let validators = cluster.replicas[to as usize].config().validators.clone();
            let input = verify_envelope(&envelope, &validators, CHAIN).expect("verifies");
            cluster.input(to, input);
            if cluster.replicas[1].view() == View(1) && !cluster.replicas[1].is_changing_view() {
                break;
            }
        }
        assert_eq!(cluster.replicas[1].view(), View(1));
        assert_eq!(
            cluster.replicas[1].low_watermark(),
            SeqNo(10),
            "V's checkpoint"
        );
        let held = cluster.replicas[1].held_heights();
        assert!(
            (11..=25).all(|seq| held.contains(&SeqNo(seq))),
            "restart {restart}: every Q height held: {held:?}"
        );
        if restart {
            cluster.crash(1);
            cluster.restart(1);
        }
        cluster.faults.clear();
        for _ in 0..60 {
            cluster.submit(1, BATCH_MAX_TXS as usize);
            cluster.tick(RETRANSMIT_MS);
            cluster.run_until_quiet();
        }
        assert!(
            cluster.faults.is_empty(),
            "restart {restart}: {:?}",
            cluster.faults.first()
        );
        for replica in &cluster.replicas {
            assert!(replica.last_committed() > SeqNo(25), "restart {restart}");
        }
        cluster.assert_agreement();
    }
}

/// A certificate padded with anything besides distinct matching prepares is refused,
/// and so is a VIEW-CHANGE longer than an honest one can be; the new primary's
/// NEW-VIEW holds exactly q VIEW-CHANGEs, so it stays within its bound.
#[test]
fn padded_view_changes_are_refused() {
    const M: usize = 16;
    let q = quorum(M);
    let me = primary_of(View(1), M).0;
    let b = batch(0, 1, &[1]);
    let d = b.digest();
    let pp = pre_prepare(M, 0, 0, 1, b, Hash([7; 32]));
    let prepares: Vec<SignedMessage> = (1..q as u32).map(|i| prepare(M, i, 0, 1, d)).collect();
    let junk = pre_prepare(M, 11, 0, 2, batch(11, 1, &[2, 3]), Hash([1; 32]));
    let padded = {
        let mut ps = prepares.clone();
        ps.push(junk);
        view_change(
            1,
            None,
            vec![PreparedCertificate {
                pre_prepare: pp.clone(),
                prepares: BoundedVec::new(ps).expect("bound"),
            }],
        )
    };
    assert_eq!(
        check_view_change(
            &padded,
            &config(M, me),
            &config(M, me).membership().unwrap()
        ),
        Err(BadViewChange::PaddedCertificate { seq: SeqNo(1) })
    );
    let config = config(M, me);
    let (max, _) = largest_view_change_messages(M, config.log_window, config.batch_max_txs);
    let members = config.membership().unwrap();
    assert_eq!(check_view_change_size(max, &config, &members), Ok(()));
    assert_eq!(
        check_view_change_size(max + 1, &config, &members),
        Err(BadViewChange::TooLarge { len: max + 1, max })
    );

    // Every other replica sends an honest VIEW-CHANGE; the NEW-VIEW holds q of them.
    let mut replica =
        Replica::new(config.clone(), keys(M)[me as usize].clone(), None, 0).expect("valid config");
    let _ = replica.step(Input::Tick { now_ms: 1 });
    let honest = view_change(
        1,
        None,
        vec![PreparedCertificate {
            pre_prepare: pp,
            prepares: BoundedVec::new(prepares).expect("bound"),
        }],
    );
    let validators = config.validators.clone();
    let mut sent = None;
    for sender in (0..M as u32).filter(|i| *i != me) {
        let signed =
            SignedViewChange::sign(&keys(M)[sender as usize], CHAIN, ReplicaId(sender), &honest);
        let input =
            verify_envelope(&Envelope::ViewChange(signed), &validators, CHAIN).expect("verifies");
        let mut ready = replica.step(input);
        while let Some(request) = ready.execute.first().cloned() {
            let outcome = honest_outcome(&request, Hash::ZERO);
            ready = replica.step(Input::Executed {
                seq: request.seq,
                digest: request.digest,
                outcome,
            });
        }
        if let Some(out) = ready
            .then_send
            .iter()
            .find(|out| matches!(out.message, Envelope::NewView(_)))
        {
            sent = Some(out.message.clone());
            break;
        }
    }
    let Some(Envelope::NewView(signed)) = sent else {
        panic!("the new primary sent no NEW-VIEW");
    };
    let nv = open_new_view(&signed, &validators, CHAIN).expect("opens");
    assert_eq!(nv.new_view().view_changes.len(), q, "V is exactly q");
}

/// PBFT paper section 4.5.2 (the view-change timer), found by the simulator (seed
/// 50485 with `--byzantine`). Replica 1, changing to view 1, holds VIEW-CHANGEs for
/// view 1 from itself and replica 3, and replica 0's for view 2 (0 timed out view 1
/// and moved on; only a validator's latest VIEW-CHANGE is held); replica 2 is
/// faulty and silent. View 1 can never gather q = 3, and one validator above is not
/// f + 1 to join. Three validators are at view 1 or past it, so the timer runs, and
/// when it runs out replica 1 moves to view 2, where 0 waits.
#[test]
fn the_view_change_timer_counts_validators_already_past_the_view() {
    let config = config(N, 1);
    let timeout = config.view_change_timeout_ms;
    let validators = config.validators.clone();
    let mut replica = Replica::new(config, keys(N)[1].clone(), None, 0).expect("valid config");
    let _ = replica.step(Input::Tick { now_ms: 1 });
    let deliver = |replica: &mut Replica, from: u32, view: u64| {
        deliver_view_change(replica, &validators, from, view)
    };
    let _ = deliver(&mut replica, 3, 1);
    let joined = deliver(&mut replica, 0, 2);
    assert_eq!(
        joined.view_changes,
        vec![ViewChangeStarted {
            from: View(0),
            to: View(1),
            reason: ViewChangeReason::JoinedQuorum,
        }],
        "two validators above view 0: replica 1 joins the smaller view"
    );
    assert!(
        !joined
            .then_send
            .iter()
            .any(|out| matches!(out.message, Envelope::NewView(_))),
        "two VIEW-CHANGEs for view 1 build no NEW-VIEW"
    );
    let early = replica.step(Input::Tick { now_ms: timeout });
    assert!(early.view_changes.is_empty(), "{:?}", early.view_changes);
    assert_eq!(
        (replica.view(), replica.is_changing_view()),
        (View(1), true)
    );

    let expired = replica.step(Input::Tick {
        now_ms: timeout + 1,
    });
    assert_eq!(
        expired.view_changes,
        timed_out_from_view_1(),
        "the timer ran out in view 1"
    );
    assert_eq!(
        (replica.view(), replica.is_changing_view()),
        (View(2), true)
    );
    assert!(expired
        .then_send
        .iter()
        .any(|out| matches!(out.message, Envelope::ViewChange(_))));
}

/// A replica's clock starts when it does (found by simulator seed 8000143 with
/// `--scenario crash-restart`): a node restarted 50 s into the run got VIEW-CHANGEs
/// for view 1 before its first tick. Its view-change timer was armed at 0, so the
/// first tick found it expired and the replica moved on, alone, to view 2, where it
/// stayed while the others committed in view 1. Armed at the start, the timer runs
/// its whole timeout.
#[test]
fn a_view_change_timer_armed_before_the_first_tick_runs_from_the_start() {
    let start = 50_000;
    let config = config(N, 2);
    let timeout = config.view_change_timeout_ms;
    let validators = config.validators.clone();
    let mut replica = Replica::new(config, keys(N)[2].clone(), None, start).expect("valid config");
    for from in [0, 3] {
        let _ = deliver_view_change(&mut replica, &validators, from, 1);
    }
    assert_eq!(
        (replica.view(), replica.is_changing_view()),
        (View(1), true),
        "two validators in view 1: replica 2 joins, and q ask for it"
    );
    let first = replica.step(Input::Tick { now_ms: start + 1 });
    assert!(first.view_changes.is_empty(), "{:?}", first.view_changes);
    let before = replica.step(Input::Tick {
        now_ms: start + timeout - 1,
    });
    assert!(before.view_changes.is_empty(), "{:?}", before.view_changes);
    assert_eq!(replica.view(), View(1));
    let expired = replica.step(Input::Tick {
        now_ms: start + timeout,
    });
    assert_eq!(
        expired.view_changes,
        timed_out_from_view_1(),
        "the timer runs out a whole timeout after the start"
    );
}

/// An empty VIEW-CHANGE for `view` from `from`, checked and fed to `replica`.
fn deliver_view_change(
    replica: &mut Replica,
    validators: &[crypto::PublicKey],
    from: u32,
    view: u64,
) -> consensus::Ready {
    let signed = signed_view_change(from, &view_change(view, None, Vec::new()));
    let input =
        verify_envelope(&Envelope::ViewChange(signed), validators, CHAIN).expect("verifies");
    replica.step(input)
}

/// What a replica changing to view 1 reports when its timer runs out.
fn timed_out_from_view_1() -> Vec<ViewChangeStarted> {
    vec![ViewChangeStarted {
        from: View(1),
        to: View(2),
        reason: ViewChangeReason::ViewChangeTimeout,
    }]
}
