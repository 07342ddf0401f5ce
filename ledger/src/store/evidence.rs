//! Kept evidence of misbehaviour: records the node writes when a validator is
//! caught (two signed messages that contradict each other, a pre-prepare whose
//! result is wrong), numbered from 1 in the order they were found.
//!
//! The store keeps the records as bytes, as it keeps commit certificates: what they
//! hold is the node's. It bounds them: at most [`MAX_EVIDENCE`] records of at most
//! [`MAX_EVIDENCE_BYTES`] each, so a faulty validator that keeps contradicting
//! itself cannot fill the disk; what comes beyond is refused with a typed error,
//! and the node counts it.

use super::reader::ChainReader;
use super::schema::CF_EVIDENCE;
use super::StoreError;
use rocksdb::IteratorMode;

/// The most records the store keeps.
pub const MAX_EVIDENCE: u64 = 4096;

/// The largest record the store accepts: room for two signed messages of the
/// largest kind (two PRE-PREPAREs of 10,000 transactions) and their description.
/// Records that large need batches that large; a typical one is under 1 KiB.
pub const MAX_EVIDENCE_BYTES: usize = 1024 * 1024;

/// The most records one page may ask for.
pub const MAX_EVIDENCE_PAGE: usize = 100;

impl ChainReader {
    /// The record with id `id`.
    pub fn evidence(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.db()
            .get_cf(self.cf(CF_EVIDENCE), id.to_be_bytes())
            .map_err(|e| self.db_error(e))
    }

    /// Up to `limit` (at most [`MAX_EVIDENCE_PAGE`]) records, newest first, with
    /// ids below `before` when given.
    pub fn evidence_page(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let limit = limit.min(MAX_EVIDENCE_PAGE);
        let start = match before {
            Some(0) => return Ok(Vec::new()),
            Some(id) => id - 1,
            None => u64::MAX,
        }
        .to_be_bytes();
        let mode = IteratorMode::From(&start, rocksdb::Direction::Reverse);
        let mut out = Vec::new();
        for item in self
            .db()
            .iterator_cf(self.cf(CF_EVIDENCE), mode)
            .take(limit)
        {
            let (key, value) = item.map_err(|e| self.db_error(e))?;
            let id = super::schema::decode_height(&key)
                .ok_or_else(|| self.corrupt("an evidence key is not 8 bytes"))?;
            out.push((id, value.to_vec()));
        }
        Ok(out)
    }

    /// The highest id in use (0 when there is no record).
    pub fn last_evidence_id(&self) -> Result<u64, StoreError> {
        let mut items = self
            .db()
            .iterator_cf(self.cf(CF_EVIDENCE), IteratorMode::End);
        match items.next() {
            None => Ok(0),
            Some(item) => {
                let (key, _) = item.map_err(|e| self.db_error(e))?;
                super::schema::decode_height(&key)
                    .ok_or_else(|| self.corrupt("an evidence key is not 8 bytes"))
            }
        }
    }
}

/// Why a record was not kept.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceRefused {
    #[error("the store keeps {max} evidence records and has them all")]
    Full { max: u64 },
    #[error("an evidence record of {len} bytes is larger than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl super::Store {
    /// Keeps `record` as the next evidence; returns its id. The write is not
    /// synced: it survives the process (RocksDB's log is written before this
    /// returns) but not a power cut, and a faulty validator cannot make honest
    /// nodes wait on the disk. Evidence the replica finds again is kept again.
    pub fn add_evidence(&mut self, record: &[u8]) -> Result<u64, EvidenceRefused> {
        if record.len() > MAX_EVIDENCE_BYTES {
            return Err(EvidenceRefused::TooLarge {
                len: record.len(),
                max: MAX_EVIDENCE_BYTES,
            });
        }
        // Writes need the store mutably, so the last id read here stays the last.
        let id = self.reader.last_evidence_id()? + 1;
        if id > MAX_EVIDENCE {
            return Err(EvidenceRefused::Full { max: MAX_EVIDENCE });
        }
        self.db
            .put_cf(self.cf(CF_EVIDENCE), id.to_be_bytes(), record)
            .map_err(|e| self.db_error(e))?;
        Ok(id)
    }
}
