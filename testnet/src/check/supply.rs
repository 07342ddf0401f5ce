//! The total supply is conserved: on every node, the balances of every account
//! add up to the genesis supply (transfers move money, nothing makes or burns it).
//!
//! The accounts are the genesis balances plus every address a committed
//! transaction names (its signer's and a transfer's recipient). `/accounts` reads a
//! node's committed state at its tip, so the balances are read between two
//! readings of the node's height: equal, and they were all read at that height.
//! A node that commits meanwhile is read again, with the addresses of its new
//! blocks, a bounded number of times; one that never holds still is reported
//! unsettled rather than summed across heights.

use super::decode::block_of;
use super::fetch::{FetchError, NodeApi, NodeChain};
use super::report::Problem;
use ledger::{Address, Block, Genesis, TxKind};
use node::client::{Client, ClientError, Timeouts};
use std::collections::BTreeSet;

/// Readings of one node's balances before it is reported unsettled.
const SUPPLY_ATTEMPTS: usize = 3;
/// The most blocks committed since the chain was read that a reading fetches to
/// learn their addresses; a node further ahead is reported unsettled.
const MAX_NEW_BLOCKS: u64 = 1_000;

/// One node's balances, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supply {
    /// Every balance read at `height`, adding up to `found`.
    Settled { height: u64, found: u128 },
    /// The node's height moved during every reading.
    Unsettled { from_height: u64, to_height: u64 },
}

/// The genesis supply. (The genesis refuses balances that add up past `u64`; the
/// sums here are `u128` so that a node reporting nonsense cannot overflow them.)
pub fn expected_supply(genesis: &Genesis) -> u128 {
    genesis.balances.iter().map(|b| u128::from(b.balance)).sum()
}

/// The genesis accounts and every address the transactions of `blocks` name.
pub fn addresses<'a>(
    genesis: &Genesis,
    blocks: impl IntoIterator<Item = &'a Block>,
) -> BTreeSet<Address> {
    let mut addresses: BTreeSet<Address> = genesis.balances.iter().map(|b| b.address).collect();
    for block in blocks {
        add_tx_addresses(&mut addresses, block);
    }
    addresses
}

fn add_tx_addresses(addresses: &mut BTreeSet<Address>, block: &Block) {
    for signed in block.txs.iter() {
        addresses.insert(signed.tx.sender());
        if let TxKind::Transfer { to, .. } = &signed.tx.kind {
            addresses.insert(*to);
        }
    }
}

/// Reads `node`'s balances of `addresses` (and of the addresses of any block it
/// committed above `scanned`, the height its chain was read to).
pub fn read_supply(
    node: &NodeApi,
    addresses: &BTreeSet<Address>,
    scanned: u64,
    timeouts: Timeouts,
) -> Result<Supply, FetchError> {
    let client = node.client(timeouts);
    let api = |source: ClientError| FetchError::Api {
        node: node.name.clone(),
        source,
    };
    let mut addresses = addresses.clone();
    let mut scanned = scanned;
    let mut last = scanned;
    for _ in 0..SUPPLY_ATTEMPTS {
        let before = client.status().map_err(api)?.height;
        if before < scanned {
            return Err(FetchError::Malformed {
                node: node.name.clone(),
                what: "/status".to_owned(),
                reason: format!("height {before}, below the {scanned} it served before"),
            });
        }
        if before - scanned > MAX_NEW_BLOCKS {
            last = before;
            break;
        }
        for height in scanned + 1..=before {
            add_tx_addresses(&mut addresses, &fetch_block(node, &client, height)?);
        }
        scanned = before;
        let mut found: u128 = 0;
        for address in &addresses {
            found += u128::from(client.account(address).map_err(api)?.balance);
        }
        let after = client.status().map_err(api)?.height;
        if after == before {
            return Ok(Supply::Settled {
                height: before,
                found,
            });
        }
        last = after;
    }
    Ok(Supply::Unsettled {
        from_height: scanned.min(last),
        to_height: last,
    })
}

fn fetch_block(node: &NodeApi, client: &Client, height: u64) -> Result<Block, FetchError> {
    let info = client
        .block(&height.to_string())
        .map_err(|source| FetchError::Api {
            node: node.name.clone(),
            source,
        })?;
    block_of(info).map_err(|fault| FetchError::Malformed {
        node: node.name.clone(),
        what: format!("/blocks/{height}"),
        reason: fault.to_string(),
    })
}

/// [`read_supply`] on every chain's node at once, one thread each, in order.
pub fn read_supplies(
    chains: &[NodeChain],
    addresses: &BTreeSet<Address>,
    timeouts: Timeouts,
) -> Vec<Result<Supply, FetchError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = chains
            .iter()
            .map(|chain| {
                scope.spawn(move || read_supply(&chain.node, addresses, chain.height, timeouts))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a balance reader does not panic"))
            .collect()
    })
}

/// A problem for each node whose supply is not `expected` or could not be read
/// at one height.
pub fn judge_supply(node: &str, supply: &Supply, expected: u128) -> Option<Problem> {
    match *supply {
        Supply::Settled { found, .. } if found == expected => None,
        Supply::Settled { height, found } => Some(Problem::SupplyMismatch {
            node: node.to_owned(),
            height,
            expected,
            found,
        }),
        Supply::Unsettled {
            from_height,
            to_height,
        } => Some(Problem::SupplyUnsettled {
            node: node.to_owned(),
            from_height,
            to_height,
        }),
    }
}
