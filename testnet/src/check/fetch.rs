//! Reading what each node serves: its height, the summaries of its blocks, their
//! commit certificates, and the bodies of the distinct blocks.
//!
//! The height is read once, first; everything below it is committed and never
//! changes, so a node that goes on committing while it is read is still read
//! consistently up to that height. Every call has the client's timeouts and every
//! loop is bounded by that height, so a node that stops answering ends its reading
//! with a [`FetchError`] naming it, and a node that answers nonsense (heights out of
//! order, a body that does not hash to the block asked for) is named too.

use super::decode::block_of;
use super::report::{BlockFault, Problem};
use crypto::Hash;
use ledger::Block;
use node::api::types::{BlockSummary, CommitInfo};
use node::client::{Client, ClientError, Timeouts};
use std::collections::BTreeMap;
use std::fmt;

/// How many block summaries one `GET /blocks` asks for (the node caps it at its
/// `api.max_blocks_per_page`, 100 by default).
const SUMMARIES_PER_PAGE: u64 = 100;

/// One node's API, as the checker names it in its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeApi {
    /// `node2` for a testnet directory's node 2, the URL for a bare `--api`.
    pub name: String,
    pub url: String,
}

impl NodeApi {
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> NodeApi {
        NodeApi {
            name: name.into(),
            url: url.into(),
        }
    }

    /// Every node of a testnet directory still in the network (not removed).
    pub fn of_layout(layout: &crate::layout::Layout) -> Vec<NodeApi> {
        layout
            .nodes
            .iter()
            .filter(|node| !node.removed)
            .map(|node| NodeApi::new(format!("node{}", node.index), node.api_url()))
            .collect()
    }

    /// Nodes known only by their API URLs; each is named by its URL.
    pub fn of_urls(urls: &[String]) -> Vec<NodeApi> {
        urls.iter().map(|url| NodeApi::new(url, url)).collect()
    }

    pub fn client(&self, timeouts: Timeouts) -> Client {
        Client::with_timeouts(&self.url, timeouts)
    }
}

impl fmt::Display for NodeApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Why a node could not be read. Every variant names the node.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The node did not answer, answered with an error, or answered JSON that is
    /// not what the route returns ([`ClientError`] says which).
    #[error("{node}: {source}")]
    Api {
        node: String,
        #[source]
        source: ClientError,
    },
    /// The node answered well-formed JSON that contradicts itself or the request.
    #[error("{node}: {what}: {reason}")]
    Malformed {
        node: String,
        what: String,
        reason: String,
    },
}

impl FetchError {
    pub fn node(&self) -> &str {
        match self {
            FetchError::Api { node, .. } | FetchError::Malformed { node, .. } => node,
        }
    }
}

/// What one node served: its height when read, and every block summary and
/// commit certificate up to it.
#[derive(Debug)]
pub struct NodeChain {
    pub node: NodeApi,
    /// The node's height when the reading started; `blocks` ends there.
    pub height: u64,
    pub chain_id: String,
    pub genesis_hash: Hash,
    /// Index = height, from 0 (genesis) to `height`.
    pub blocks: Vec<BlockSummary>,
    /// Index = height - 1: the certificate of each block from 1 on, or why the
    /// node did not serve it.
    pub certificates: Vec<Result<CommitInfo, ClientError>>,
}

impl NodeChain {
    /// The hash of the node's block at `height`, if it has one.
    pub fn hash_at(&self, height: u64) -> Option<Hash> {
        usize::try_from(height)
            .ok()
            .and_then(|i| self.blocks.get(i))
            .map(|b| b.hash)
    }
}

fn api(node: &NodeApi) -> impl Fn(ClientError) -> FetchError + '_ {
    |source| FetchError::Api {
        node: node.name.clone(),
        source,
    }
}

/// Reads one node: `/status`, then `/blocks` pages and `/blocks/{height}/commit`
/// up to the height `/status` gave.
pub fn fetch_chain(node: &NodeApi, timeouts: Timeouts) -> Result<NodeChain, FetchError> {
    let client = node.client(timeouts);
    let status = client.status().map_err(api(node))?;
    let blocks = fetch_summaries(node, &client, status.height)?;
    let mut certificates = Vec::with_capacity(blocks.len().saturating_sub(1));
    for height in 1..=status.height {
        match client.commit(height) {
            Ok(commit) if commit.height != height => {
                return Err(FetchError::Malformed {
                    node: node.name.clone(),
                    what: format!("/blocks/{height}/commit"),
                    reason: format!("the certificate served is for height {}", commit.height),
                })
            }
            Ok(commit) => certificates.push(Ok(commit)),
            // A node that has stopped answering answers no further height either.
            Err(source @ ClientError::Unreachable { .. }) => {
                return Err(api(node)(source));
            }
            Err(answered) => certificates.push(Err(answered)),
        }
    }
    Ok(NodeChain {
        node: node.clone(),
        height: status.height,
        chain_id: status.chain_id,
        genesis_hash: status.genesis_hash,
        blocks,
        certificates,
    })
}

/// The summaries of blocks 0 to `height`, page by page. Each page must go on
/// from the height asked for; each brings at least one block, so there are at
/// most `height + 1` pages.
fn fetch_summaries(
    node: &NodeApi,
    client: &Client,
    height: u64,
) -> Result<Vec<BlockSummary>, FetchError> {
    let mut blocks: Vec<BlockSummary> = Vec::new();
    let mut from = 0u64;
    while from <= height {
        let page = client
            .blocks(Some(from), Some(SUMMARIES_PER_PAGE))
            .map_err(api(node))?;
        let asked = from;
        let malformed = |reason: String| FetchError::Malformed {
            node: node.name.clone(),
            what: format!("/blocks?from={asked}"),
            reason,
        };
        if page.blocks.is_empty() {
            return Err(malformed(format!(
                "no blocks, although /status gave height {height}"
            )));
        }
        for summary in page.blocks {
            if from > height {
                break;
            }
            if summary.height != from {
                return Err(malformed(format!(
                    "block {} where {from} was next",
                    summary.height
                )));
            }
            blocks.push(summary);
            from += 1;
        }
    }
    Ok(blocks)
}

/// Reads every node at once, one thread each; the results are in `nodes` order.
pub fn fetch_chains(nodes: &[NodeApi], timeouts: Timeouts) -> Vec<Result<NodeChain, FetchError>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| scope.spawn(move || fetch_chain(node, timeouts)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a node reader does not panic"))
            .collect()
    })
}

/// The distinct blocks of `chains`, each fetched once by hash from a node that
/// holds it (spread over the holders, one thread per node; a block a holder fails
/// to serve is asked of the next). A body that does not hash to the block asked
/// for is left out and reported with the node that served it.
pub fn fetch_bodies(
    chains: &[NodeChain],
    timeouts: Timeouts,
) -> (BTreeMap<Hash, Block>, Vec<Problem>) {
    // Every distinct (hash, height) with the chains that hold it.
    let mut holders: BTreeMap<(u64, Hash), Vec<usize>> = BTreeMap::new();
    for (c, chain) in chains.iter().enumerate() {
        for block in &chain.blocks {
            holders
                .entry((block.height, block.hash))
                .or_default()
                .push(c);
        }
    }
    let mut bodies = BTreeMap::new();
    let mut problems = Vec::new();
    // Round r asks each block's r-th holder (rotated by height, so the first round
    // spreads the work); at most as many rounds as there are nodes.
    for round in 0..chains.len() {
        let mut work: Vec<Vec<(u64, Hash)>> = vec![Vec::new(); chains.len()];
        for (&(height, hash), holding) in &holders {
            if bodies.contains_key(&hash) || round >= holding.len() {
                continue;
            }
            let pick = holding[(height as usize + round) % holding.len()];
            work[pick].push((height, hash));
        }
        if work.iter().all(Vec::is_empty) {
            break;
        }
        let fetched = std::thread::scope(|scope| {
            let handles: Vec<_> = chains
                .iter()
                .zip(&work)
                .map(|(chain, blocks)| {
                    scope.spawn(move || fetch_blocks(&chain.node, blocks, timeouts))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a block reader does not panic"))
                .collect::<Vec<_>>()
        });
        for (got, trouble) in fetched {
            bodies.extend(got);
            problems.extend(trouble);
        }
    }
    for (&(height, hash), _) in holders
        .iter()
        .filter(|(key, _)| !bodies.contains_key(&key.1))
    {
        problems.push(Problem::BodyUnavailable { height, hash });
    }
    (bodies, problems)
}

/// Fetches `blocks` from `node` by hash. Stops at the first block the node cannot
/// serve (the next round asks another holder for the rest).
fn fetch_blocks(
    node: &NodeApi,
    blocks: &[(u64, Hash)],
    timeouts: Timeouts,
) -> (Vec<(Hash, Block)>, Vec<Problem>) {
    let client = node.client(timeouts);
    let mut got = Vec::with_capacity(blocks.len());
    let mut problems = Vec::new();
    for &(height, hash) in blocks {
        let fault = match client.block(&hash.to_string()) {
            Err(source) => {
                problems.push(Problem::Fetch(api(node)(source)));
                break;
            }
            Ok(info) => match block_of(info) {
                Err(fault) => BlockFault::Undecodable(fault),
                Ok(block) if block.hash() != hash || block.header.height != height => {
                    BlockFault::NotTheBlockAsked {
                        served: block.hash(),
                        served_height: block.header.height,
                    }
                }
                Ok(block) => {
                    got.push((hash, block));
                    continue;
                }
            },
        };
        problems.push(Problem::BadBlock {
            node: node.name.clone(),
            height,
            fault,
        });
    }
    (got, problems)
}
