//! Every transaction seen committed is in the chain, and none is in it twice.

use super::fixture::{lines, Fixture};
use crate::check::{CheckOptions, Problem};
use crypto::Hash;

#[test]
fn a_transaction_seen_committed_but_in_no_chain_is_missing() {
    let fixture = Fixture::new(3);
    let present = fixture.blocks[2].tx_hashes()[0];
    let absent = Hash([0xab; 32]);
    let options = CheckOptions {
        txs: vec![present, absent, absent],
        ..CheckOptions::default()
    };
    let report = fixture.judge(fixture.observed(fixture.chains()), &options);
    assert_eq!(report.missing_txs, vec![absent], "{}", lines(&report));
    assert!(
        matches!(&report.problems[..], [Problem::MissingTx { tx }] if *tx == absent),
        "{}",
        lines(&report)
    );
}

#[test]
fn a_transaction_committed_twice_is_reported_with_its_heights_and_nodes() {
    let mut fixture = Fixture::new(2);
    let replayed = fixture.blocks[1].txs[0].clone();
    fixture.push(vec![replayed.clone()]);
    let report = fixture.judge(fixture.observed(fixture.chains()), &CheckOptions::default());
    assert_eq!(report.duplicated_txs, vec![replayed.hash()]);
    assert!(
        matches!(
            &report.problems[..],
            [Problem::DuplicatedTx { tx, heights, nodes }]
                if *tx == replayed.hash() && heights == &[1, 3] && nodes.len() == 4
        ),
        "{}",
        lines(&report)
    );
}

#[test]
fn a_badly_signed_transaction_in_a_block_is_named() {
    let mut fixture = Fixture::new(1);
    let mut forged = fixture.transfer(1);
    forged.signature.0[0] ^= 1;
    fixture.push(vec![forged.clone()]);
    let report = fixture.judge(fixture.observed(fixture.chains()), &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::BadBlock {
                height: 2,
                fault: crate::check::BlockFault::BadTxSignature { index: 0, tx },
                ..
            }] if *tx == forged.hash()
        ),
        "{}",
        lines(&report)
    );
}
