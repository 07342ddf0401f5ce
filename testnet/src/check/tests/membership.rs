//! The validator set is followed from the genesis through the membership changes
//! committed in the blocks (DESIGN.md section 6): a certificate is judged by the
//! set in force at its height.

use super::fixture::{key, lines, Fixture};
use crate::check::{CertificateFault, CheckOptions, Problem};
use ledger::ConsensusParams;
use node::driver::transfer::BadBlocks;

/// K = 2, L = 2: validator 5 added at height 1 orders from height
/// switch_height(1) + 1 = 2 + 2 + 1 = 5, where the quorum of 5 is 4.
fn grown() -> Fixture {
    let params = ConsensusParams {
        checkpoint_interval: 2,
        log_window: 2,
        ..ConsensusParams::default()
    };
    let mut fixture = Fixture::with_params(0, params);
    let add = fixture.add_validator(5, 0);
    fixture.push(vec![add]);
    for nonce in 0..5 {
        let tx = fixture.transfer(nonce);
        fixture.push(vec![tx]);
    }
    fixture.signers.push(key(5));
    fixture
}

/// Four nodes, each certificate from height 5 on signed by replicas 1 to 4.
fn chains(fixture: &Fixture) -> Vec<crate::check::NodeChain> {
    let mut chains = fixture.chains();
    for chain in &mut chains {
        for height in 5..=6 {
            chain.certificates[height - 1] =
                Ok(fixture.certificate(&fixture.blocks[height], &[1, 2, 3, 4]));
        }
    }
    chains
}

#[test]
fn certificates_by_the_grown_set_hold_after_its_switch_height() {
    let fixture = grown();
    let report = fixture.judge(fixture.observed(chains(&fixture)), &CheckOptions::default());
    assert!(report.ok(), "{}", lines(&report));
    assert_eq!(report.certificates_checked, 24);
}

#[test]
fn the_old_quorum_is_too_few_once_the_set_has_grown() {
    let fixture = grown();
    let mut chains = chains(&fixture);
    // Three of the old validators: a quorum of 4, not of 5.
    chains[0].certificates[4] = Ok(fixture.certificate(&fixture.blocks[5], &[0, 1, 2]));
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::BadCertificate {
                node,
                height: 5,
                fault: CertificateFault::Refused(BadBlocks::TooFewSigners { signers: 3, quorum: 4, .. }),
            }] if node == "node0"
        ),
        "{}",
        lines(&report)
    );
}

#[test]
fn the_added_validator_signs_nothing_before_its_epoch() {
    let fixture = grown();
    let mut chains = chains(&fixture);
    // Height 4 is still ordered by the genesis set: replica 4 is not in it.
    chains[1].certificates[3] = Ok(fixture.certificate(&fixture.blocks[4], &[0, 1, 4]));
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(
        matches!(
            &report.problems[..],
            [Problem::BadCertificate {
                height: 4,
                fault: CertificateFault::Refused(BadBlocks::NotAMember {
                    height: 4,
                    replica: 4
                }),
                ..
            }]
        ),
        "{}",
        lines(&report)
    );
}
