//! One chain on every node: forks, state roots, broken links, the genesis, lag.

use super::fixture::{lines, next_block, summary, Fixture};
use crate::check::{CheckOptions, Lag, Problem};
use crypto::Hash;

#[test]
fn a_fork_names_the_height_and_the_nodes_on_each_side() {
    let fixture = Fixture::new(3);
    let mut chains = fixture.chains();
    // Node 2 committed another block 3 (another transfer, another state root).
    let mut other = next_block(&fixture.blocks[2], vec![fixture.transfer(7)], 3);
    other.header.state_root = Hash([0xee; 32]);
    chains[2].blocks[3] = summary(&other);
    chains[2].certificates[2] = Ok(fixture.certificate(&other, &[0, 1, 2]));
    let mut observed = fixture.observed(chains);
    observed.bodies.insert(other.hash(), other.clone());
    let report = fixture.judge(observed, &CheckOptions::default());
    assert!(!report.ok());
    assert_eq!(report.divergent_heights, 1, "{}", lines(&report));
    let fork = report
        .problems
        .iter()
        .find_map(|p| match p {
            Problem::Fork { height, hashes } => Some((*height, hashes.clone())),
            _ => None,
        })
        .expect("a fork is reported");
    assert_eq!(fork.0, 3);
    assert_eq!(
        fork.1,
        vec![
            (
                fixture.blocks[3].hash(),
                vec!["node0".to_owned(), "node1".to_owned(), "node3".to_owned()]
            ),
            (other.hash(), vec!["node2".to_owned()]),
        ]
    );
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::StateRootDiffers { height: 3, roots } if roots.len() == 2
        )),
        "{}",
        lines(&report)
    );
    // Both blocks are certified by a quorum: the certificates alone cannot tell.
    assert_eq!(report.bad_certificates, 0, "{}", lines(&report));
}

#[test]
fn a_summary_claiming_a_hash_with_another_state_root_is_caught() {
    let fixture = Fixture::new(3);
    let mut chains = fixture.chains();
    chains[1].blocks[2].state_root = Hash([0x42; 32]);
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert_eq!(report.divergent_heights, 1, "{}", lines(&report));
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::StateRootDiffers { height: 2, roots } if roots[1].1 == ["node1"]
        )),
        "{}",
        lines(&report)
    );
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::BadBlock { node, height: 2, fault: crate::check::BlockFault::SummaryMismatch }
                if node == "node1"
        )),
        "{}",
        lines(&report)
    );
}

#[test]
fn a_block_that_does_not_name_its_parent_breaks_the_chain() {
    let fixture = Fixture::new(3);
    let mut chains = fixture.chains();
    chains[0].blocks[2].parent = Hash([1; 32]);
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(
        report.problems.iter().any(|p| matches!(
            p,
            Problem::BrokenChain { node, height: 2, .. } if node == "node0"
        )),
        "{}",
        lines(&report)
    );
}

#[test]
fn a_node_of_another_genesis_is_named() {
    let fixture = Fixture::new(2);
    let mut chains = fixture.chains();
    chains[3].genesis_hash = Hash([9; 32]);
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::GenesisMismatch { node, what: "genesis hash", .. }] if node == "node3"
        ),
        "{}",
        lines(&report)
    );
}

#[test]
fn a_lagging_node_is_a_note_unless_heights_must_be_equal() {
    let fixture = Fixture::new(5);
    let mut chains = fixture.chains();
    chains[3] = fixture.chain("node3", 2);
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(report.ok(), "{}", lines(&report));
    assert_eq!((report.lowest_height, report.highest_height), (2, 5));
    assert_eq!(report.heights_checked, 6);
    assert_eq!(
        report.lagging,
        vec![Lag {
            node: "node3".to_owned(),
            height: 2,
            behind: 3
        }]
    );
    assert!(lines(&report).contains("note node3: at height 2, 3 behind"));

    let mut chains = fixture.chains();
    chains[3] = fixture.chain("node3", 2);
    let strict = CheckOptions {
        equal_heights: true,
        ..CheckOptions::default()
    };
    let report = fixture.judge(fixture.observed(chains), &strict);
    assert!(
        matches!(
            &report.problems[..],
            [Problem::UnequalHeight { node, height: 2, behind: 3 }] if node == "node3"
        ),
        "{}",
        lines(&report)
    );
}

#[test]
fn the_summary_is_one_json_line_with_the_totals() {
    let fixture = Fixture::new(2);
    let report = fixture.judge(fixture.observed(fixture.chains()), &CheckOptions::default());
    let json: serde_json::Value = serde_json::from_str(&report.summary_json()).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["nodes"], 4);
    assert_eq!(json["heights_checked"], 3);
    assert_eq!(json["divergent_heights"], 0);
    assert_eq!(json["bad_certificates"], 0);
    assert_eq!(json["supply_expected"], 2000);
    assert_eq!(json["supply_found"]["node0"], 2000);
    assert_eq!(json["missing_txs"], 0);
    assert_eq!(json["duplicated_txs"], 0);
}
