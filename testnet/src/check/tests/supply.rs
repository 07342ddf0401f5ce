//! The genesis supply on every node.

use super::fixture::{lines, Fixture, BALANCE};
use crate::check::{CheckOptions, Problem, Supply};

#[test]
fn a_node_whose_balances_do_not_add_up_is_named_with_both_sums() {
    let fixture = Fixture::new(2);
    let mut observed = fixture.observed(fixture.chains());
    observed.supplies[2] = Ok(Supply::Settled {
        height: 2,
        found: 2 * u128::from(BALANCE) - 5,
    });
    let report = fixture.judge(observed, &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::SupplyMismatch { node, height: 2, expected: 2000, found: 1995 }] if node == "node2"
        ),
        "{}",
        lines(&report)
    );
    assert_eq!(report.supply_found["node2"], Some(1995));
    assert!(lines(&report)
        .contains("node2: balances at height 2 add up to 1995, the genesis supply is 2000"));
}

#[test]
fn a_node_that_never_held_still_is_unsettled_not_summed() {
    let fixture = Fixture::new(2);
    let mut observed = fixture.observed(fixture.chains());
    observed.supplies[0] = Ok(Supply::Unsettled {
        from_height: 2,
        to_height: 9,
    });
    let report = fixture.judge(observed, &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::SupplyUnsettled { node, from_height: 2, to_height: 9 }] if node == "node0"
        ),
        "{}",
        lines(&report)
    );
    assert_eq!(report.supply_found["node0"], None);
}

#[test]
fn the_accounts_are_the_genesis_ones_and_every_address_a_transaction_names() {
    let fixture = Fixture::new(1);
    let stranger = ledger::Address([7; 20]);
    let mut fixture = fixture;
    let tx = ledger::Transaction {
        chain_id: ledger::ChainId::new(super::fixture::CHAIN).unwrap(),
        signer: fixture.clients[1].public_key(),
        nonce: 0,
        kind: ledger::TxKind::Transfer {
            to: stranger,
            amount: 3,
        },
    }
    .sign(&fixture.clients[1]);
    fixture.push(vec![tx]);
    let addresses = crate::check::supply::addresses(&fixture.genesis, &fixture.blocks);
    assert_eq!(addresses.len(), 3);
    assert!(addresses.contains(&stranger));
}
