//! The checker's table tests: a certified chain passes; each bad chunk and each
//! bad certificate entry is refused naming its height (and replica).

use super::*;
use consensus::{Commit, Prepare, ReplicaId, SignedMessage, View};
use crypto::{BoundedVec, SigningKey};
use ledger::{ChainId, SignedTransaction, Transaction, TxKind};

const CHAIN: &str = "transfer-test";

fn validators() -> Vec<SigningKey> {
    (0..4u8)
        .map(|i| SigningKey::from_seed([i + 1; 32]))
        .collect()
}

fn checker() -> Checker {
    let keys: Vec<_> = validators().iter().map(|k| k.public_key()).collect();
    Checker::fixed(&keys, CHAIN, 10, 40)
}

fn transfer(nonce: u64) -> SignedTransaction {
    let key = SigningKey::from_seed([9; 32]);
    Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: key.public_key(),
        nonce,
        kind: TxKind::Transfer {
            to: ledger::Address([7; 20]),
            amount: 1,
        },
    }
    .sign(&key)
}

fn commit(signer: usize, view: u64, block: &Block) -> SignedMessage {
    let message = Message::Commit(Commit {
        view: View(view),
        seq: SeqNo(block.header.height),
        digest: block.header.batch_digest,
        block_hash: block.hash(),
    });
    SignedMessage::sign(
        &validators()[signer],
        CHAIN,
        ReplicaId(signer as u32),
        &message,
    )
}

fn certify(block: Block, signers: &[usize]) -> CertifiedBlock {
    let commits = signers.iter().map(|s| commit(*s, 2, &block)).collect();
    CertifiedBlock {
        certificate: Certificate {
            view: 2,
            commits: BoundedVec::new(commits).unwrap(),
        },
        block,
    }
}

fn block(height: u64, parent: Hash, txs: Vec<SignedTransaction>) -> Block {
    Block::assemble(
        height,
        parent,
        crypto::sha256(&height.to_be_bytes()),
        1_000 + height,
        validators()[0].public_key(),
        txs,
        crypto::sha256(b"state"),
    )
}

/// Blocks 11..=13 on a parent, two transfers each, certified by 0, 1, 2.
fn chain() -> (Hash, Vec<CertifiedBlock>) {
    let parent = crypto::sha256(b"block 10");
    let mut previous = parent;
    let mut out = Vec::new();
    for height in 11..=13 {
        let b = block(
            height,
            previous,
            vec![transfer(2 * height), transfer(2 * height + 1)],
        );
        previous = b.hash();
        out.push(certify(b, &[0, 1, 2]));
    }
    (parent, out)
}

/// A target checkpoint at 20 (beyond these blocks) unless a test needs one here.
fn far_target() -> StableCheckpoint {
    StableCheckpoint {
        seq: SeqNo(20),
        block_hash: Hash::ZERO,
        proof: BoundedVec::empty(),
    }
}

#[test]
fn a_certified_chain_passes_with_its_transactions_verified() {
    let (parent, served) = chain();
    let hashes: Vec<Hash> = served.iter().map(|c| c.block.hash()).collect();
    let checked = checker()
        .check_chunk(served, 11, 16, Some(parent), &far_target())
        .unwrap();
    assert_eq!(checked.blocks.len(), 3);
    for (block, hash) in checked.blocks.iter().zip(hashes) {
        assert_eq!(block.hash, hash);
        assert_eq!(block.txs.len(), 2);
        assert_eq!(block.txs[1].hash(), block.block.txs[1].hash());
    }
    // Without a known parent (the driver checks it against its tip).
    let (_, served) = chain();
    assert!(checker()
        .check_chunk(served, 11, 3, None, &far_target())
        .is_ok());
}

/// Each way a served chunk is refused, with the height it names.
#[test]
fn each_bad_chunk_is_refused_with_its_reason() {
    type Tamper = fn(&mut Vec<CertifiedBlock>, &mut StableCheckpoint);
    let cases: Vec<(&str, Tamper, BadBlocks)> = vec![
        (
            "starts elsewhere",
            |s, _| {
                s.remove(0);
            },
            BadBlocks::WrongHeight {
                expected: 11,
                got: 12,
            },
        ),
        (
            "a gap",
            |s, _| {
                s.remove(1);
            },
            BadBlocks::WrongHeight {
                expected: 12,
                got: 13,
            },
        ),
        (
            "another parent",
            |s, _| {
                let b = block(12, crypto::sha256(b"fork"), vec![]);
                s[1] = certify(b, &[0, 1, 2]);
            },
            BadBlocks::BrokenChain { height: 12 },
        ),
        (
            "a body that is not the header's",
            |s, _| {
                s[2].block.txs = BoundedVec::new(vec![transfer(99)]).unwrap();
            },
            BadBlocks::BodyMismatch { height: 13 },
        ),
        (
            "two signers",
            |s, _| {
                let b = s[1].block.clone();
                s[1] = certify(b, &[0, 2]);
            },
            BadBlocks::TooFewSigners {
                height: 12,
                signers: 2,
                quorum: 3,
            },
        ),
        (
            "one signer three times",
            |s, _| {
                let b = s[1].block.clone();
                s[1] = certify(b, &[3, 3, 3]);
            },
            BadBlocks::DuplicateSigner {
                height: 12,
                replica: 3,
            },
        ),
        (
            "a quorum padded with a repeated signer",
            |s, _| {
                let b = s[1].block.clone();
                s[1] = certify(b, &[0, 1, 1, 2]);
            },
            BadBlocks::DuplicateSigner {
                height: 12,
                replica: 1,
            },
        ),
        (
            "a COMMIT for another block",
            |s, _| {
                let other = block(12, Hash::ZERO, vec![]);
                s[1].certificate.commits[0] = commit(0, 2, &other);
            },
            BadBlocks::OtherBlock {
                height: 12,
                replica: 0,
            },
        ),
        (
            "a COMMIT of another view",
            |s, _| {
                let b = s[0].block.clone();
                s[0].certificate.commits[2] = commit(2, 3, &b);
            },
            BadBlocks::OtherBlock {
                height: 11,
                replica: 2,
            },
        ),
        (
            "a PREPARE",
            |s, _| {
                let b = &s[0].block;
                let prepare = Message::Prepare(Prepare {
                    view: View(2),
                    seq: SeqNo(11),
                    digest: b.header.batch_digest,
                });
                s[0].certificate.commits[1] =
                    SignedMessage::sign(&validators()[1], CHAIN, ReplicaId(1), &prepare);
            },
            BadBlocks::NotACommit {
                height: 11,
                replica: 1,
            },
        ),
        (
            "a signer that is not a validator",
            |s, _| {
                s[2].certificate.commits[0].sender = ReplicaId(7);
            },
            BadBlocks::NotAMember {
                height: 13,
                replica: 7,
            },
        ),
        (
            "a COMMIT signed by someone else",
            |s, _| {
                s[2].certificate.commits[0].sender = ReplicaId(3);
            },
            BadBlocks::BadCommitSignature {
                height: 13,
                replica: 3,
            },
        ),
        (
            "a forged transaction",
            |s, _| {
                let mut forged = transfer(50);
                forged.signature.0[5] ^= 1;
                let b = block(12, s[0].block.hash(), vec![transfer(48), forged]);
                s[1] = certify(b, &[0, 1, 2]);
                s.truncate(2);
            },
            BadBlocks::BadTxSignature { height: 12 },
        ),
        (
            "not the target's block",
            |_, target| {
                target.seq = SeqNo(12);
                target.block_hash = crypto::sha256(b"the real one");
            },
            BadBlocks::NotTheTarget { height: 12 },
        ),
    ];
    for (name, tamper, expected) in cases {
        let (parent, mut served) = chain();
        let mut target = far_target();
        tamper(&mut served, &mut target);
        let refused = checker()
            .check_chunk(served, 11, 16, Some(parent), &target)
            .err();
        assert_eq!(refused, Some(expected), "{name}");
    }
    let (parent, served) = chain();
    assert_eq!(
        checker()
            .check_chunk(served, 11, 2, Some(parent), &far_target())
            .err(),
        Some(BadBlocks::TooMany { asked: 2, got: 3 })
    );
    let (_, served) = chain();
    assert_eq!(
        checker()
            .check_chunk(served, 11, 3, Some(Hash::ZERO), &far_target())
            .err(),
        Some(BadBlocks::BrokenChain { height: 11 })
    );
}

/// Issue 7: a block holding an AddValidator changes the set that certifies
/// the heights above its switch height (the first checkpoint above it plus
/// the window: 50 for a change at 1, with K = 10 and L = 40), also when the
/// heights come in later chunks.
#[test]
fn certificates_are_checked_against_the_set_of_their_height() {
    let newcomer = SigningKey::from_seed([50; 32]);
    let mut keys = validators();
    keys.push(newcomer.clone());
    let sign = |signer: usize, block: &Block| {
        let message = Message::Commit(Commit {
            view: View(0),
            seq: SeqNo(block.header.height),
            digest: block.header.batch_digest,
            block_hash: block.hash(),
        });
        SignedMessage::sign(&keys[signer], CHAIN, ReplicaId(signer as u32), &message)
    };
    let certify = |block: Block, signers: &[usize]| CertifiedBlock {
        certificate: Certificate {
            view: 0,
            commits: BoundedVec::new(signers.iter().map(|s| sign(*s, &block)).collect()).unwrap(),
        },
        block,
    };
    let admin = SigningKey::from_seed([200; 32]);
    let add = Transaction {
        chain_id: ChainId::new(CHAIN).unwrap(),
        signer: admin.public_key(),
        nonce: 0,
        kind: TxKind::AddValidator {
            validator: ledger::ValidatorInfo {
                public_key: newcomer.public_key(),
                p2p_addr: crypto::BoundedString::new("/ip4/127.0.0.1/tcp/9").unwrap(),
            },
        },
    }
    .sign(&admin);
    // Heights 1..=53: the addition at 1; the old four (q = 3) certify up to 50,
    // the new five (q = 4) from 51.
    let chain = |signers_at: &dyn Fn(u64) -> Vec<usize>| -> Vec<CertifiedBlock> {
        let mut previous = crypto::sha256(b"genesis");
        (1..=53u64)
            .map(|height| {
                let txs = if height == 1 {
                    vec![add.clone()]
                } else {
                    vec![]
                };
                let b = block(height, previous, txs);
                previous = b.hash();
                certify(b, &signers_at(height))
            })
            .collect()
    };
    let honest = |height: u64| {
        if height <= 50 {
            vec![0, 1, 2]
        } else {
            vec![0, 1, 2, 4]
        }
    };
    let target = StableCheckpoint {
        seq: SeqNo(60),
        block_hash: Hash::ZERO,
        proof: BoundedVec::empty(),
    };

    // In two chunks: the checker carries the change from the first to the second.
    let mut carried = checker();
    let mut served = chain(&honest);
    let rest = served.split_off(20);
    carried.check_chunk(served, 1, 20, None, &target).unwrap();
    assert_eq!(carried.membership.at(SeqNo(51)).n(), 5);
    assert_eq!(carried.membership.at(SeqNo(50)).n(), 4);
    assert_eq!(carried.validators.len(), 5);
    carried.check_chunk(rest, 21, 33, None, &target).unwrap();

    // Three signers are no longer a quorum above the switch...
    let short = |height: u64| {
        if height == 51 {
            vec![0, 1, 2]
        } else {
            honest(height)
        }
    };
    assert_eq!(
        checker()
            .check_chunk(chain(&short), 1, 53, None, &target)
            .err(),
        Some(BadBlocks::TooFewSigners {
            height: 51,
            signers: 3,
            quorum: 4
        })
    );
    // A checkpoint far above what a checker has seen cannot be judged yet; once
    // the transfer reaches its height its proof must hold.
    let fresh = Checker {
        known_through: 0,
        ..checker()
    };
    let unproven = |seq: u64| StableCheckpoint {
        seq: SeqNo(seq),
        block_hash: Hash::ZERO,
        proof: BoundedVec::empty(),
    };
    assert_eq!(fresh.judge(&unproven(40)), Some(false));
    assert_eq!(fresh.judge(&unproven(50)), None);
    let mut reaching = fresh.clone();
    let served = chain(&honest);
    let at_50 = served[49].block.hash();
    let target = StableCheckpoint {
        block_hash: at_50,
        ..unproven(50)
    };
    assert_eq!(
        reaching.check_chunk(served, 1, 53, None, &target).err(),
        Some(BadBlocks::UnprovenTarget { height: 50 })
    );
    // ...and the newcomer signs nothing the old set orders.
    let early = |height: u64| {
        if height == 30 {
            vec![0, 1, 4]
        } else {
            honest(height)
        }
    };
    assert_eq!(
        checker()
            .check_chunk(chain(&early), 1, 53, None, &target)
            .err(),
        Some(BadBlocks::NotAMember {
            height: 30,
            replica: 4
        })
    );
}
