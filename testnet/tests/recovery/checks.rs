//! What `tests/recovery.rs` checks once a node has come back: bounded waits that
//! name the node and its heights when they give up, and the comparisons of chain,
//! accounts and transactions across every node.

use crypto::Hash;
use ledger::Address;
use node::api::types::{AccountInfo, BlockSummary, StatusInfo, TxStatus};
use node::client::Client;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use testnet::procs::{log_tail, Network};

/// How often the waits poll the nodes.
const POLL: Duration = Duration::from_millis(100);
/// Blocks per `GET /blocks` page (the node's default cap is 100).
const PAGE_BLOCKS: u64 = 100;
/// Lines of a node's log a failure quotes.
const LOG_LINES: usize = 30;

pub fn status(network: &Network, i: usize) -> Option<StatusInfo> {
    network.client(i).status().ok()
}

/// Each node's height, `None` where it does not answer.
pub fn heights(network: &Network) -> Vec<Option<u64>> {
    (0..network.len())
        .map(|i| status(network, i).map(|s| s.height))
        .collect()
}

/// The highest height any node reports.
pub fn max_height(network: &Network) -> u64 {
    heights(network).into_iter().flatten().max().unwrap_or(0)
}

/// The primary, as node `asked` sees it, confirmed by the primary itself.
pub fn primary(network: &Network, asked: usize) -> usize {
    let primary = status(network, asked)
        .expect("a running node answers")
        .primary as usize;
    let its = status(network, primary).expect("the primary answers");
    assert!(its.is_primary, "node {primary} agrees it is the primary");
    primary
}

/// A failure message's tail: the node's log.
pub fn log_of(network: &Network, i: usize) -> String {
    format!(
        "log of node {i} ({}):\n{}",
        network.layout.nodes[i].log_path().display(),
        log_tail(&network.layout.nodes[i].log_path(), LOG_LINES)
    )
}

/// Waits until node `i` reports a height of at least `target`; how long it took.
pub fn wait_for_height(network: &Network, i: usize, target: u64, timeout: Duration) -> Duration {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < timeout {
        last = status(network, i).map(|s| s.height);
        if last.is_some_and(|h| h >= target) {
            return started.elapsed();
        }
        std::thread::sleep(POLL);
    }
    panic!(
        "node {i} did not reach height {target} within {} s: it is at {last:?}, the nodes at {:?}\n{}",
        timeout.as_secs(),
        heights(network),
        log_of(network, i)
    );
}

/// Waits until every node reports the same height and tip hash, with an empty
/// pool, twice in a row; returns that tip.
pub fn wait_for_same_tip(network: &Network, lagging: usize, timeout: Duration) -> (u64, Hash) {
    let started = Instant::now();
    let mut previous = None;
    let mut last = Vec::new();
    while started.elapsed() < timeout {
        last = (0..network.len()).map(|i| status(network, i)).collect();
        let tips: Vec<_> = last
            .iter()
            .map(|s: &Option<StatusInfo>| s.as_ref().map(|s| (s.height, s.tip_hash)))
            .collect();
        let quiet = last
            .iter()
            .all(|s| s.as_ref().is_some_and(|s| s.pool_size == 0));
        if quiet && tips.iter().all(|t| t.is_some() && *t == tips[0]) {
            if previous == tips[0] {
                return tips[0].expect("checked above");
            }
            previous = tips[0];
        } else {
            previous = None;
        }
        std::thread::sleep(POLL * 5);
    }
    let shown: Vec<String> = last
        .iter()
        .enumerate()
        .map(|(i, s)| match s {
            Some(s) => format!(
                "node {i}: height {} tip {} pool {} view {}{} low watermark {}",
                s.height,
                s.tip_hash,
                s.pool_size,
                s.view,
                if s.changing_view { " (changing)" } else { "" },
                s.low_watermark
            ),
            None => format!("node {i}: no answer"),
        })
        .collect();
    panic!(
        "the nodes did not settle on one tip within {} s:\n  {}\n{}",
        timeout.as_secs(),
        shown.join("\n  "),
        log_of(network, lagging)
    );
}

/// The summaries of blocks 1 to `tip` on node `i`, their hash chain checked.
fn chain_of(client: &Client, i: usize, tip: u64) -> Vec<BlockSummary> {
    let mut blocks: Vec<BlockSummary> = Vec::with_capacity(tip as usize);
    let mut from = 1;
    while from <= tip {
        let page = client
            .blocks(Some(from), Some(PAGE_BLOCKS))
            .unwrap_or_else(|e| panic!("node {i}: blocks from {from}: {e}"));
        assert!(
            !page.blocks.is_empty(),
            "node {i} has no block {from} (tip {tip})"
        );
        for block in page.blocks.into_iter().take_while(|b| b.height <= tip) {
            assert_eq!(block.height, from, "node {i}: blocks in order");
            if let Some(parent) = blocks.last() {
                assert_eq!(block.parent, parent.hash, "node {i}: block {from}'s parent");
            }
            blocks.push(block);
            from += 1;
        }
    }
    blocks
}

/// Every block from 1 to `tip` is the same on every node (the same header hash,
/// which covers the transactions and the state root). Returns node 0's chain.
pub fn same_blocks_everywhere(network: &Network, tip: u64) -> Vec<BlockSummary> {
    let chains: Vec<Vec<BlockSummary>> = (0..network.len())
        .map(|i| chain_of(&network.client(i), i, tip))
        .collect();
    for (i, chain) in chains.iter().enumerate().skip(1) {
        for (mine, theirs) in chain.iter().zip(&chains[0]) {
            assert_eq!(
                mine, theirs,
                "node {i} and node 0 differ at height {}",
                mine.height
            );
        }
        assert_eq!(chain.len(), chains[0].len(), "node {i}: blocks 1..={tip}");
    }
    chains.into_iter().next().expect("at least one node")
}

/// Where each committed transaction is, read from node `i`'s full blocks:
/// hash -> (height, block hash).
pub fn committed_txs(
    network: &Network,
    i: usize,
    chain: &[BlockSummary],
) -> HashMap<Hash, (u64, Hash)> {
    let client = network.client(i);
    let mut located = HashMap::new();
    for summary in chain {
        let block = client
            .block(&summary.height.to_string())
            .unwrap_or_else(|e| panic!("node {i}: block {}: {e}", summary.height));
        assert_eq!(block.hash, summary.hash, "node {i}: block {}", block.height);
        assert_eq!(block.tx_hashes.len(), block.tx_count as usize);
        for tx in block.tx_hashes {
            let first = located.insert(tx, (block.height, block.hash));
            assert!(
                first.is_none(),
                "{tx} committed twice: {first:?} and {}",
                block.height
            );
        }
    }
    located
}

/// Every one of `txs` is committed on the chain (`located`), and node `i` says so
/// through `GET /txs/{hash}`, at the same height in the same block.
pub fn txs_found_on(
    network: &Network,
    i: usize,
    txs: &[Hash],
    located: &HashMap<Hash, (u64, Hash)>,
) {
    let client = network.client(i);
    for tx in txs {
        let &(height, block_hash) = located
            .get(tx)
            .unwrap_or_else(|| panic!("{tx}, accepted by a node, is in no block up to the tip"));
        let info = client
            .tx(tx)
            .unwrap_or_else(|e| panic!("node {i}: GET /txs/{tx}: {e}"));
        assert_eq!(info.status, TxStatus::Committed, "node {i}: {tx}");
        assert_eq!(info.height, Some(height), "node {i}: {tx}");
        assert_eq!(info.block_hash, Some(block_hash), "node {i}: {tx}");
    }
}

/// Every node holds the same balance and nonce for each of `addresses`. Returns
/// node 0's accounts.
pub fn same_accounts_everywhere(network: &Network, addresses: &[Address]) -> Vec<AccountInfo> {
    let read = |i: usize| -> Vec<AccountInfo> {
        let client = network.client(i);
        addresses
            .iter()
            .map(|a| {
                client
                    .account(a)
                    .unwrap_or_else(|e| panic!("node {i}: account {a}: {e}"))
            })
            .collect()
    };
    let first = read(0);
    for i in 1..network.len() {
        for (mine, theirs) in read(i).iter().zip(&first) {
            assert_eq!(
                (mine.balance, mine.nonce),
                (theirs.balance, theirs.nonce),
                "node {i} and node 0 differ on account {}",
                mine.address
            );
        }
    }
    first
}
