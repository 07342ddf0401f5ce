//! Every commit certificate a node serves, judged against the validator set in
//! force at its height (DESIGN.md sections 3 step 5 and 6).
//!
//! The set is followed from the genesis validators through every membership
//! change committed in the node's blocks by the node's own block-transfer checker
//! ([`node::driver::transfer::Checker`]): the same roster, epochs and switch
//! heights the node uses, and the same certificate rule (COMMITs of one view for
//! this block's hash and batch digest, from `q` distinct members of the set
//! ordering the height, each signature verified with the crypto crate).

use super::decode::certificate_of;
use super::fetch::NodeChain;
use super::report::{BlockFault, CertificateFault, Problem};
use consensus::{MessageKind, ReplicaId};
use crypto::Hash;
use ledger::{Block, Genesis};
use node::api::types::CommitInfo;
use node::driver::transfer::{BadBlocks, Checker};
use node::wire::Certificate;
use std::collections::BTreeMap;

/// What [`check_certificates`] found for one node.
#[derive(Debug, Default)]
pub struct CertificateFindings {
    /// Certificates judged, and how many of them have a fault.
    pub checked: u64,
    pub bad: u64,
    pub problems: Vec<Problem>,
}

/// Judges the certificate of each of `chain`'s blocks from height 1 on. A block
/// whose body no node served is skipped (the body's absence is reported where
/// bodies are fetched); the membership changes it may hold are then unknown.
pub fn check_certificates(
    chain: &NodeChain,
    bodies: &BTreeMap<Hash, Block>,
    genesis: &Genesis,
) -> CertificateFindings {
    let mut findings = CertificateFindings::default();
    let mut checker = match Checker::of_genesis(genesis) {
        Ok(checker) => checker,
        Err(e) => {
            findings.problems.push(Problem::InvalidGenesis {
                reason: e.to_string(),
            });
            return findings;
        }
    };
    let node = &chain.node.name;
    for (block_summary, served) in chain.blocks.iter().skip(1).zip(&chain.certificates) {
        let height = block_summary.height;
        let hash = block_summary.hash;
        let Some(block) = bodies.get(&hash) else {
            continue;
        };
        findings.checked += 1;
        let faults = match served {
            Ok(info) => judge(&checker, block, hash, info),
            Err(error) => vec![CertificateFault::NotServed(error.to_string())],
        };
        if !faults.is_empty() {
            findings.bad += 1;
        }
        findings
            .problems
            .extend(faults.into_iter().map(|fault| Problem::BadCertificate {
                node: node.clone(),
                height,
                fault,
            }));
        if let Err(bad) = checker.record_changes(block) {
            findings.problems.push(Problem::BadBlock {
                node: node.clone(),
                height,
                fault: BlockFault::BadMembership(bad.to_string()),
            });
        }
        checker.known_through = height;
    }
    findings
}

/// The faults of the certificate `info` of `block` (hash `hash`), judged by
/// `checker` as it stands after the blocks below.
pub fn judge(
    checker: &Checker,
    block: &Block,
    hash: Hash,
    info: &CommitInfo,
) -> Vec<CertificateFault> {
    if info.block_hash != hash {
        return vec![CertificateFault::OtherBlock {
            certified: info.block_hash,
            block: hash,
        }];
    }
    let certificate = match certificate_of(info) {
        Ok(certificate) => certificate,
        Err(fault) => return vec![CertificateFault::Undecodable(fault)],
    };
    let mut faults: Vec<CertificateFault> = info
        .signatures
        .iter()
        .filter_map(|entry| {
            let expected = checker.membership.key_of(ReplicaId(entry.replica)).copied();
            (expected != Some(entry.public_key)).then_some(CertificateFault::WrongKey {
                replica: entry.replica,
                served: entry.public_key,
                expected,
            })
        })
        .collect();
    match checker.check_certificate(block, &certificate, hash) {
        Ok(()) => {}
        Err(BadBlocks::BadCommitSignature { .. }) => {
            faults.extend(
                bad_signers(checker, &certificate)
                    .into_iter()
                    .map(|replica| CertificateFault::BadSignature { replica }),
            );
        }
        Err(other) => faults.push(CertificateFault::Refused(other)),
    }
    faults
}

/// The replicas whose COMMIT in `certificate` does not verify, one by one (the
/// checker's batch only says that one does not).
fn bad_signers(checker: &Checker, certificate: &Certificate) -> Vec<u32> {
    let domain = MessageKind::Commit.domain(&checker.chain_id);
    certificate
        .commits
        .iter()
        .filter(|signed| {
            checker.membership.key_of(signed.sender).is_none_or(|key| {
                key.verify(domain, &signed.payload, &signed.signature)
                    .is_err()
            })
        })
        .map(|signed| signed.sender.0)
        .collect()
}
