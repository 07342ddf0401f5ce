//! A made-up network for the checker's tests: a genesis of four validators and
//! two funded clients, a chain of blocks each holding one transfer, and every
//! node's view of it with commit certificates signed by real keys. Tests change
//! one thing (a signature, a block, a balance) and expect the precise problem.

use crate::check::fetch::{NodeApi, NodeChain};
use crate::check::{judge, CheckOptions, CheckReport, Observed, Supply};
use consensus::{Commit, Message, ReplicaId, SeqNo, SignedMessage, View};
use crypto::{BoundedString, BoundedVec, Hash, SigningKey};
use ledger::{
    Address, Block, ChainId, ConsensusParams, Genesis, GenesisBalance, SignedTransaction,
    Transaction, TxKind, ValidatorInfo,
};
use node::api::types::{BlockSummary, CommitInfo, CommitSignature};
use std::collections::BTreeMap;

pub const CHAIN: &str = "check-test";
pub const BALANCE: u64 = 1_000;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

pub fn validator(seed: u8) -> ValidatorInfo {
    ValidatorInfo {
        public_key: key(seed).public_key(),
        p2p_addr: BoundedString::new(format!("/ip4/127.0.0.1/tcp/{}", 9000 + u16::from(seed)))
            .unwrap(),
    }
}

/// Validator keys are seeds 1 to 4 (replica ids 0 to 3); clients 50 and 51; the
/// admin 99.
pub struct Fixture {
    pub genesis: Genesis,
    /// Index = roster id.
    pub signers: Vec<SigningKey>,
    pub admin: SigningKey,
    pub clients: Vec<SigningKey>,
    /// Index = height; block 0 is the genesis block.
    pub blocks: Vec<Block>,
}

impl Fixture {
    /// A chain of `heights` blocks after genesis with the default parameters.
    pub fn new(heights: u64) -> Fixture {
        Fixture::with_params(heights, ConsensusParams::default())
    }

    pub fn with_params(heights: u64, consensus: ConsensusParams) -> Fixture {
        let admin = key(99);
        let clients = vec![key(50), key(51)];
        let genesis = Genesis {
            chain_id: ChainId::new(CHAIN).unwrap(),
            genesis_time_ms: 1_700_000_000_000,
            admin: admin.public_key(),
            validators: BoundedVec::new((1..=4).map(validator).collect()).unwrap(),
            balances: BoundedVec::new(
                clients
                    .iter()
                    .map(|c| GenesisBalance {
                        address: Address::of(&c.public_key()),
                        balance: BALANCE,
                    })
                    .collect(),
            )
            .unwrap(),
            consensus,
        };
        genesis.validate().unwrap();
        let mut fixture = Fixture {
            blocks: vec![genesis.block(&genesis.initial_state())],
            genesis,
            signers: (1..=4).map(key).collect(),
            admin,
            clients,
        };
        for _ in 0..heights {
            let nonce = fixture.blocks.len() as u64 - 1;
            let tx = fixture.transfer(nonce);
            fixture.push(vec![tx]);
        }
        fixture
    }

    /// Client 0 pays client 1 one unit.
    pub fn transfer(&self, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: ChainId::new(CHAIN).unwrap(),
            signer: self.clients[0].public_key(),
            nonce,
            kind: TxKind::Transfer {
                to: Address::of(&self.clients[1].public_key()),
                amount: 1,
            },
        }
        .sign(&self.clients[0])
    }

    /// The admin adds validator `seed`.
    pub fn add_validator(&self, seed: u8, nonce: u64) -> SignedTransaction {
        Transaction {
            chain_id: ChainId::new(CHAIN).unwrap(),
            signer: self.admin.public_key(),
            nonce,
            kind: TxKind::AddValidator {
                validator: validator(seed),
            },
        }
        .sign(&self.admin)
    }

    /// Appends the next block, holding `txs`.
    pub fn push(&mut self, txs: Vec<SignedTransaction>) {
        let parent = self.blocks.last().unwrap();
        let height = parent.header.height + 1;
        let block = next_block(parent, txs, height);
        self.blocks.push(block);
    }

    /// `signer` (a roster id, signing with `key`) COMMITs `block` in view 0.
    pub fn commit_by(key: &SigningKey, replica: u32, block: &Block) -> CommitSignature {
        let message = Message::Commit(Commit {
            view: View(0),
            seq: SeqNo(block.header.height),
            digest: block.header.batch_digest,
            block_hash: block.hash(),
        });
        let signed = SignedMessage::sign(key, CHAIN, ReplicaId(replica), &message);
        CommitSignature {
            replica,
            public_key: key.public_key(),
            payload: hex::encode(&*signed.payload),
            signature: signed.signature,
        }
    }

    /// The certificate of `block` signed by the roster ids `replicas`.
    pub fn certificate(&self, block: &Block, replicas: &[u32]) -> CommitInfo {
        CommitInfo {
            height: block.header.height,
            block_hash: block.hash(),
            view: 0,
            batch_digest: block.header.batch_digest,
            signatures: replicas
                .iter()
                .map(|&r| Fixture::commit_by(&self.signers[r as usize], r, block))
                .collect(),
        }
    }

    /// A node holding blocks 0 to `height`, each certified by replicas 0, 1, 2.
    pub fn chain(&self, name: &str, height: u64) -> NodeChain {
        let blocks = &self.blocks[..=height as usize];
        NodeChain {
            node: NodeApi::new(name, format!("http://{name}.invalid")),
            height,
            chain_id: CHAIN.to_owned(),
            genesis_hash: self.genesis.hash(),
            blocks: blocks.iter().map(summary).collect(),
            certificates: blocks[1..]
                .iter()
                .map(|b| Ok(self.certificate(b, &[0, 1, 2])))
                .collect(),
        }
    }

    /// Four nodes at the tip.
    pub fn chains(&self) -> Vec<NodeChain> {
        let tip = self.blocks.len() as u64 - 1;
        (0..4)
            .map(|i| self.chain(&format!("node{i}"), tip))
            .collect()
    }

    /// What the nodes of `chains` served, each with the genesis supply.
    pub fn observed(&self, chains: Vec<NodeChain>) -> Observed {
        let supplies = chains
            .iter()
            .map(|c| {
                Ok(Supply::Settled {
                    height: c.height,
                    found: 2 * u128::from(BALANCE),
                })
            })
            .collect();
        let mut bodies: BTreeMap<Hash, Block> = BTreeMap::new();
        for block in &self.blocks {
            bodies.insert(block.hash(), block.clone());
        }
        Observed {
            nodes: chains.len(),
            chains,
            bodies,
            supplies,
            problems: Vec::new(),
        }
    }

    pub fn judge(&self, observed: Observed, options: &CheckOptions) -> CheckReport {
        judge(observed, &self.genesis, options)
    }
}

pub fn next_block(parent: &Block, txs: Vec<SignedTransaction>, height: u64) -> Block {
    Block::assemble(
        height,
        parent.hash(),
        crypto::sha256(&height.to_be_bytes()),
        1_700_000_000_000 + height,
        key(1).public_key(),
        txs,
        Hash([height as u8; 32]),
    )
}

pub fn summary(block: &Block) -> BlockSummary {
    let h = &block.header;
    BlockSummary {
        hash: block.hash(),
        height: h.height,
        parent: h.parent,
        state_root: h.state_root,
        tx_count: h.tx_count,
        timestamp_ms: h.timestamp_ms,
        proposer: h.proposer,
    }
}

/// Every problem's line, for assertion messages.
pub fn lines(report: &CheckReport) -> String {
    report.lines().join("\n")
}
