//! Commit certificates (DESIGN.md section 3 step 5): a quorum of distinct
//! validators of the height's set, COMMITs for this block, valid signatures.

use super::fixture::{key, lines, Fixture};
use crate::check::{CertificateFault, CheckOptions, Problem};
use node::driver::transfer::BadBlocks;

/// Judges four nodes at height 3 after `tamper` changes node 1's certificate of
/// block 2; returns the certificate problems.
fn tampered(tamper: impl FnOnce(&Fixture, &mut node::api::types::CommitInfo)) -> Vec<Problem> {
    let fixture = Fixture::new(3);
    let mut chains = fixture.chains();
    let certificate = chains[1].certificates[1].as_mut().unwrap();
    tamper(&fixture, certificate);
    let report = fixture.judge(fixture.observed(chains), &CheckOptions::default());
    assert!(!report.ok(), "the tampered certificate is found");
    assert_eq!(report.bad_certificates, 1, "{}", lines(&report));
    assert_eq!(report.certificates_checked, 12);
    report
        .problems
        .into_iter()
        .inspect(|p| {
            assert!(
                matches!(p, Problem::BadCertificate { node, height: 2, .. } if node == "node1"),
                "only node1's certificate of block 2 is bad: {p}"
            )
        })
        .collect()
}

#[test]
fn honest_certificates_hold() {
    let fixture = Fixture::new(3);
    let report = fixture.judge(fixture.observed(fixture.chains()), &CheckOptions::default());
    assert!(report.ok(), "{}", lines(&report));
    assert_eq!(report.certificates_checked, 12);
    assert_eq!(report.bad_certificates, 0);
}

#[test]
fn a_flipped_signature_byte_names_the_replica() {
    let problems = tampered(|_, certificate| {
        certificate.signatures[1].signature.0[5] ^= 1;
    });
    assert_eq!(problems.len(), 1);
    assert!(
        matches!(
            &problems[0],
            Problem::BadCertificate {
                fault: CertificateFault::BadSignature { replica: 1 },
                ..
            }
        ),
        "{}",
        problems[0]
    );
    assert!(problems[0].to_string().contains("replica 1"));
}

#[test]
fn signers_below_the_quorum_are_refused() {
    let problems = tampered(|_, certificate| {
        certificate.signatures.truncate(2);
    });
    assert!(
        matches!(
            &problems[..],
            [Problem::BadCertificate {
                fault: CertificateFault::Refused(BadBlocks::TooFewSigners {
                    signers: 2,
                    quorum: 3,
                    ..
                }),
                ..
            }]
        ),
        "{problems:?}"
    );
}

#[test]
fn one_validator_signing_twice_is_refused() {
    let problems = tampered(|_, certificate| {
        let again = certificate.signatures[0].clone();
        certificate.signatures[2] = again;
    });
    assert!(
        matches!(
            &problems[..],
            [Problem::BadCertificate {
                fault: CertificateFault::Refused(BadBlocks::DuplicateSigner { replica: 0, .. }),
                ..
            }]
        ),
        "{problems:?}"
    );
}

#[test]
fn a_non_validator_key_in_a_validator_slot_does_not_verify() {
    let problems = tampered(|fixture, certificate| {
        let block = &fixture.blocks[2];
        certificate.signatures[2] = Fixture::commit_by(&key(77), 2, block);
    });
    // The node names the outsider's key for replica 2, and its signature does
    // not verify under replica 2's key.
    assert!(
        problems.iter().any(|p| matches!(
            p,
            Problem::BadCertificate {
                fault: CertificateFault::WrongKey {
                    replica: 2,
                    expected: Some(_),
                    ..
                },
                ..
            }
        )),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| matches!(
            p,
            Problem::BadCertificate {
                fault: CertificateFault::BadSignature { replica: 2 },
                ..
            }
        )),
        "{problems:?}"
    );
}

#[test]
fn a_signer_outside_the_roster_is_refused() {
    let problems = tampered(|fixture, certificate| {
        let block = &fixture.blocks[2];
        certificate
            .signatures
            .push(Fixture::commit_by(&key(77), 9, block));
    });
    assert!(
        problems.iter().any(|p| matches!(
            p,
            Problem::BadCertificate {
                fault: CertificateFault::Refused(BadBlocks::NotAMember {
                    height: 2,
                    replica: 9
                }),
                ..
            }
        )),
        "{problems:?}"
    );
}

#[test]
fn commits_for_another_block_are_refused() {
    let problems = tampered(|fixture, certificate| {
        // Valid signatures by the right validators, over block 1.
        let other = fixture.certificate(&fixture.blocks[1], &[0, 1, 2]);
        certificate.signatures = other.signatures;
    });
    assert!(
        matches!(
            &problems[..],
            [Problem::BadCertificate {
                fault: CertificateFault::Refused(BadBlocks::OtherBlock { height: 2, .. }),
                ..
            }]
        ),
        "{problems:?}"
    );
}

#[test]
fn a_certificate_naming_another_block_is_reported() {
    let problems = tampered(|fixture, certificate| {
        certificate.block_hash = fixture.blocks[1].hash();
    });
    assert!(
        matches!(
            &problems[..],
            [Problem::BadCertificate {
                fault: CertificateFault::OtherBlock { .. },
                ..
            }]
        ),
        "{problems:?}"
    );
}
