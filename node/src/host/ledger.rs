//! The committed ledger the host core builds on: the node's RocksDB
//! [`::ledger::Store`], or the simulator's ledger in memory.

use consensus::CommittedBlock;
use ledger::{Account, Address, Block, State, StateDelta, Store, StoreError, Tip, ValidatorInfo};

/// What the host core reads of the committed ledger.
pub trait Ledger {
    /// The last committed block.
    fn tip(&self) -> Tip;
    /// The state after the tip.
    fn state(&self) -> &State;
    /// The validator set after the tip.
    fn validators(&self) -> &[ValidatorInfo];

    /// An account after the tip (an unknown address is an empty account).
    fn account(&self, address: &Address) -> Account {
        self.state().account(address).unwrap_or_default()
    }
}

/// Writing a committed block.
pub trait LedgerWrite: Ledger {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Writes `block`, committed with `info`, whose execution on the tip gave
    /// `delta`: the block, its certificate, the state and the validator set after
    /// it, all durable together or not at all.
    fn append(
        &mut self,
        block: &Block,
        info: &CommittedBlock,
        delta: StateDelta,
    ) -> Result<(), Self::Error>;
}

impl Ledger for Store {
    fn tip(&self) -> Tip {
        Store::tip(self)
    }

    fn state(&self) -> &State {
        Store::state(self)
    }

    fn validators(&self) -> &[ValidatorInfo] {
        Store::validators(self)
    }
}

impl LedgerWrite for Store {
    type Error = StoreError;

    /// One synced write of the block with its certificate
    /// ([`Store::commit_blocks`]).
    fn append(
        &mut self,
        block: &Block,
        info: &CommittedBlock,
        delta: StateDelta,
    ) -> Result<(), StoreError> {
        let certificate = crate::wire::Certificate::of(info);
        let bytes = crypto::Canonical::to_canonical_bytes(&certificate);
        self.commit_blocks(&[(block, bytes.as_slice())], delta)
    }
}
