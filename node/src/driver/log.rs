//! The replica's durable state in the store's `consensus` column family.
//!
//! Every step's [`PersistEntry`]s, and every block the ledger committed, are
//! appended as records under increasing keys (one synced write per driver round);
//! now and then the whole [`PersistedState`] is written as a snapshot and the records
//! before it deleted, in one write. Opening reads the snapshot and replays the
//! records after it, so a restart sees exactly what was synced.

use consensus::{CommittedBlock, PersistEntry, PersistedState, SeqNo, View};
use crypto::{Canonical, Hash};
use ledger::{Block, Store, StoreError};
use serde::{Deserialize, Serialize};

const SNAPSHOT_KEY: &[u8] = b"snapshot";
const RECORD_PREFIX: u8 = b'r';
/// Records between snapshots.
const SNAPSHOT_EVERY: u64 = 1024;

/// One appended record.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Record {
    Entry(PersistEntry),
    Committed {
        seq: SeqNo,
        view: View,
        digest: Hash,
        block_hash: Hash,
        state_root: Hash,
        timestamp_ms: u64,
    },
}

impl Canonical for Record {
    const NAME: &'static str = "consensus log record";
    const MAX_ENCODED_LEN: usize = <PersistedState as Canonical>::MAX_ENCODED_LEN;
}

/// Why the consensus log cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("consensus log: {0}")]
    Store(#[from] StoreError),
    #[error("consensus log record {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("consensus log: {0}")]
    TooLarge(String),
}

pub struct ConsensusLog {
    state: PersistedState,
    pending: Vec<Record>,
    next_key: u64,
    first_key: u64,
}

fn record_key(n: u64) -> Vec<u8> {
    let mut key = vec![RECORD_PREFIX];
    key.extend_from_slice(&n.to_be_bytes());
    key
}

impl ConsensusLog {
    /// Reads the snapshot and replays the records after it.
    pub fn open(store: &Store) -> Result<ConsensusLog, LogError> {
        let corrupt = |key: &[u8], reason: String| LogError::Corrupt {
            key: hex::encode(key),
            reason,
        };
        let mut state = match store.consensus_get(SNAPSHOT_KEY)? {
            Some(bytes) => PersistedState::from_canonical_bytes(&bytes)
                .map_err(|e| corrupt(SNAPSHOT_KEY, e.to_string()))?,
            None => PersistedState::default(),
        };
        let mut first_key = None;
        let mut next_key = 0;
        for (key, value) in store.consensus_scan(&[RECORD_PREFIX])? {
            if key.first() != Some(&RECORD_PREFIX) {
                break;
            }
            let n = key[1..]
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt(&key, "bad key".into()))?;
            let record =
                Record::from_canonical_bytes(&value).map_err(|e| corrupt(&key, e.to_string()))?;
            apply(&mut state, &record).map_err(|e| corrupt(&key, e))?;
            first_key.get_or_insert(n);
            next_key = n + 1;
        }
        Ok(ConsensusLog {
            state,
            pending: Vec::new(),
            next_key,
            first_key: first_key.unwrap_or(next_key),
        })
    }

    pub fn state(&self) -> &PersistedState {
        &self.state
    }

    /// Queues a persist entry for the next [`ConsensusLog::flush`].
    pub fn push_entry(&mut self, entry: PersistEntry) {
        self.pending.push(Record::Entry(entry));
    }

    /// Queues a block the ledger committed for the next flush.
    pub fn push_committed(&mut self, block: &CommittedBlock) {
        self.pending.push(committed_record(block));
    }

    /// Makes everything queued durable, in order (one synced write).
    pub fn flush(&mut self, store: &Store) -> Result<(), LogError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut state = self.state.clone();
        let mut puts = Vec::with_capacity(self.pending.len());
        let mut next_key = self.next_key;
        for record in &self.pending {
            apply(&mut state, record).map_err(LogError::TooLarge)?;
            puts.push((record_key(next_key), record.to_canonical_bytes()));
            next_key += 1;
        }
        if next_key - self.first_key >= SNAPSHOT_EVERY {
            // Snapshot and drop the records it covers, in the same write.
            let from = record_key(self.first_key);
            let to = record_key(next_key);
            store.consensus_write(
                Some((&from, &to)),
                &[(SNAPSHOT_KEY.to_vec(), state.to_canonical_bytes())],
            )?;
            self.first_key = next_key;
        } else {
            store.consensus_write(None, &puts)?;
        }
        self.next_key = next_key;
        self.pending.clear();
        self.state = state;
        Ok(())
    }

    /// Replaces the whole state (state transfer moved the replica to a checkpoint):
    /// a snapshot of `state`, every record dropped.
    pub fn replace(&mut self, store: &Store, state: PersistedState) -> Result<(), LogError> {
        let from = record_key(0);
        let to = record_key(u64::MAX);
        store.consensus_write(
            Some((&from, &to)),
            &[(SNAPSHOT_KEY.to_vec(), state.to_canonical_bytes())],
        )?;
        self.first_key = self.next_key;
        self.pending.clear();
        self.state = state;
        Ok(())
    }

    /// Brings the log up to the ledger: blocks the store committed after the log's
    /// last record (a crash between the two writes) are recorded from their headers.
    pub fn reconcile(&mut self, store: &Store) -> Result<(), LogError> {
        let tip = store.tip().height;
        let mut missing = Vec::new();
        for height in self.state.last_committed.0 + 1..=tip {
            let block = store.block(height)?.ok_or_else(|| LogError::Corrupt {
                key: format!("block {height}"),
                reason: "the ledger's tip is above a missing block".into(),
            })?;
            missing.push(from_block(&block));
        }
        for block in &missing {
            self.push_committed(block);
        }
        self.flush(store)
    }
}

fn committed_record(block: &CommittedBlock) -> Record {
    Record::Committed {
        seq: block.seq,
        view: block.view,
        digest: block.digest,
        block_hash: block.block_hash,
        state_root: block.state_root,
        timestamp_ms: block.timestamp_ms,
    }
}

/// A committed block as the log records it, from the ledger's copy.
fn from_block(block: &Block) -> CommittedBlock {
    CommittedBlock {
        seq: SeqNo(block.header.height),
        view: View(0),
        digest: block.header.batch_digest,
        block_hash: block.hash(),
        state_root: block.header.state_root,
        timestamp_ms: block.header.timestamp_ms,
        certificate: Vec::new(),
    }
}

fn apply(state: &mut PersistedState, record: &Record) -> Result<(), String> {
    match record {
        Record::Entry(entry) => state.apply(entry).map_err(|e| e.to_string()),
        Record::Committed {
            seq,
            view,
            digest,
            block_hash,
            state_root,
            timestamp_ms,
        } => {
            state.record_commit(&CommittedBlock {
                seq: *seq,
                view: *view,
                digest: *digest,
                block_hash: *block_hash,
                state_root: *state_root,
                timestamp_ms: *timestamp_ms,
                certificate: Vec::new(),
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consensus::{Message, Prepare, ReplicaId, SignedMessage};
    use crypto::{BoundedString, BoundedVec, SigningKey};
    use ledger::{Address, ChainId, ConsensusParams, Genesis, GenesisBalance, ValidatorInfo};

    const CHAIN: &str = "log-test";

    fn genesis() -> Genesis {
        Genesis {
            chain_id: ChainId::new(CHAIN).unwrap(),
            genesis_time_ms: 1_700_000_000_000,
            admin: SigningKey::from_seed([255; 32]).public_key(),
            validators: BoundedVec::new(
                (0..4u8)
                    .map(|i| ValidatorInfo {
                        public_key: SigningKey::from_seed([100 + i; 32]).public_key(),
                        p2p_addr: BoundedString::new(format!(
                            "/ip4/127.0.0.1/tcp/{}",
                            9100 + i as u16
                        ))
                        .unwrap(),
                    })
                    .collect(),
            )
            .unwrap(),
            balances: BoundedVec::new(vec![GenesisBalance {
                address: Address::of(&SigningKey::from_seed([1; 32]).public_key()),
                balance: 10,
            }])
            .unwrap(),
            consensus: ConsensusParams::default(),
        }
    }

    fn prepare(seq: u64) -> PersistEntry {
        let key = SigningKey::from_seed([101; 32]);
        let message = Message::Prepare(Prepare {
            view: View(0),
            seq: SeqNo(seq),
            digest: crypto::sha256(&seq.to_be_bytes()),
        });
        PersistEntry::Message(SignedMessage::sign(&key, CHAIN, ReplicaId(1), &message))
    }

    fn committed(seq: u64) -> CommittedBlock {
        CommittedBlock {
            seq: SeqNo(seq),
            view: View(0),
            digest: crypto::sha256(&[1, seq as u8]),
            block_hash: crypto::sha256(&[2, seq as u8]),
            state_root: crypto::sha256(&[3, seq as u8]),
            timestamp_ms: 1000 + seq,
            certificate: Vec::new(),
        }
    }

    #[test]
    fn what_was_flushed_is_what_a_reopened_log_holds_and_nothing_unflushed() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = genesis();
        let mut expected = PersistedState::default();
        {
            let store = Store::open(dir.path(), &genesis).unwrap();
            let mut log = ConsensusLog::open(&store).unwrap();
            assert_eq!(*log.state(), PersistedState::default());
            for seq in 1..=3 {
                let entry = prepare(seq);
                expected.apply(&entry).unwrap();
                log.push_entry(entry);
            }
            let block = committed(1);
            expected.record_commit(&block);
            log.push_committed(&block);
            log.flush(&store).unwrap();
            assert_eq!(*log.state(), expected);
            // Queued but never flushed: a crash loses it, and that is allowed
            // because nothing depending on it was sent.
            log.push_entry(prepare(4));
        }
        let store = Store::open(dir.path(), &genesis).unwrap();
        let log = ConsensusLog::open(&store).unwrap();
        assert_eq!(*log.state(), expected);
    }

    #[test]
    fn snapshots_replace_records_and_reopen_to_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = genesis();
        let store = Store::open(dir.path(), &genesis).unwrap();
        let mut log = ConsensusLog::open(&store).unwrap();
        // Enough rounds to pass SNAPSHOT_EVERY records more than once; the
        // commits keep the log bounded (each prunes nothing here, but the
        // records are what is counted).
        for round in 0..(2 * SNAPSHOT_EVERY + 10) {
            log.push_committed(&committed(round + 1));
            log.flush(&store).unwrap();
        }
        let expected = log.state().clone();
        assert_eq!(expected.last_committed, SeqNo(2 * SNAPSHOT_EVERY + 10));
        let records = store
            .consensus_scan(&[RECORD_PREFIX])
            .unwrap()
            .into_iter()
            .filter(|(k, _)| k[0] == RECORD_PREFIX)
            .count();
        assert!(
            records < SNAPSHOT_EVERY as usize,
            "{records} records left after snapshots"
        );
        drop(log);
        let reopened = ConsensusLog::open(&store).unwrap();
        assert_eq!(*reopened.state(), expected);
    }

    #[test]
    fn reconcile_records_blocks_the_ledger_committed_after_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = genesis();
        let mut store = Store::open(dir.path(), &genesis).unwrap();
        // Commit an empty block straight to the ledger, as if the node crashed
        // before the log recorded it.
        let tip = store.tip();
        let delta =
            ledger::StateDelta::compute(&store.state().view(), Default::default(), Vec::new());
        let block = Block::assemble(
            1,
            tip.hash,
            crypto::sha256(b"d"),
            5,
            genesis.admin,
            Vec::new(),
            delta.state_root,
        );
        store.commit_block(&block, &[], delta).unwrap();
        let mut log = ConsensusLog::open(&store).unwrap();
        assert_eq!(log.state().last_committed, SeqNo(0));
        log.reconcile(&store).unwrap();
        assert_eq!(log.state().last_committed, SeqNo(1));
        assert_eq!(log.state().last_committed_timestamp_ms, 5);
        assert_eq!(log.state().commits[0].block_hash, block.hash());
        assert_eq!(*ConsensusLog::open(&store).unwrap().state(), *log.state());
    }
}
