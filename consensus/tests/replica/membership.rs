//! Membership change in a cluster (DESIGN.md section 6): a validator removed by a
//! governance change committed at height 3 orders up to the switch height and no
//! further; above it the other four certify every block with their own quorum.

use super::harness::{keys, Cluster, BATCH_MAX_TXS};
use consensus::{switch_height, Input, MessageKind, SeqNo};

#[test]
fn a_removed_validator_orders_up_to_the_switch_height_and_not_above() {
    let mut cluster = Cluster::new(5);
    let remaining: Vec<_> = keys(5)[..4].iter().map(|k| k.public_key()).collect();
    for host in &mut cluster.hosts {
        host.change_at = Some((3, remaining.clone()));
    }
    let config = cluster.replicas[0].config().clone();
    let switch = switch_height(SeqNo(3), config.checkpoint_interval, config.log_window).0;
    let target = switch + 2 * config.checkpoint_interval;
    let mut steps = 0;
    while (0..4).any(|i| cluster.replicas[i].last_committed().0 < target) {
        steps += 1;
        assert!(steps < 20_000, "the cluster stalled at the switch");
        // Whoever is primary (it changes at the switch) gets the transactions.
        let primary = (0..5u32).find(|i| {
            let r = &cluster.replicas[*i as usize];
            r.is_member() && r.is_primary() && !r.is_changing_view()
        });
        if let Some(p) = primary {
            if cluster.hosts[p as usize].pool == 0 {
                cluster.submit(p, BATCH_MAX_TXS as usize);
            } else {
                let count = cluster.hosts[p as usize].pool;
                let oldest_ms = cluster.now_ms;
                cluster.input(p, Input::TxsAvailable { count, oldest_ms });
            }
        }
        cluster.tick(1);
        for _ in 0..50 {
            if !cluster.deliver_one() {
                break;
            }
        }
    }
    assert!(cluster.faults.is_empty(), "faults: {:?}", cluster.faults);
    assert!(
        !cluster.replicas[4].is_member(),
        "the removed validator knows it"
    );
    for i in 0..4 {
        let replica = &cluster.replicas[i];
        assert!(replica.is_member());
        assert_eq!(replica.membership().at(SeqNo(switch + 1)).n(), 4);
        for block in &cluster.committed[i] {
            let signers: Vec<u32> = block.certificate.iter().map(|s| s.sender.0).collect();
            // A certificate holds exactly q commits of the set of its height.
            if block.seq.0 <= switch {
                assert_eq!(signers.len(), 4, "height {}: q of 5", block.seq.0);
            } else {
                assert_eq!(signers.len(), 3, "height {}: q of 4", block.seq.0);
                assert!(!signers.contains(&4), "height {}: signed by 4", block.seq.0);
            }
        }
    }
    // Validator 4 signed no PRE-PREPARE, PREPARE, COMMIT or CHECKPOINT above the
    // switch height.
    let above: Vec<_> = cluster
        .signed
        .keys()
        .filter(|(sender, kind, _, seq)| {
            *sender == 4
                && *seq > switch
                && matches!(
                    kind,
                    MessageKind::PrePrepare
                        | MessageKind::Prepare
                        | MessageKind::Commit
                        | MessageKind::Checkpoint
                )
        })
        .collect();
    assert!(
        above.is_empty(),
        "validator 4 signed above the switch: {above:?}"
    );
}
