//! How the client commands print what the node answered: aligned `name: value`
//! lines for people, one line of JSON for scripts.

use ledger::{SignedTransaction, TxKind};
use node::api::types::{
    AccountInfo, BlockInfo, BlockList, StatusInfo, TxInfo, TxStatus, ValidatorsInfo,
};
use serde::Serialize;

/// How many transaction hashes `block get` lists before it says "and N more".
const MAX_LISTED_TXS: usize = 20;

pub fn json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string(value).expect("API types serialise")
    );
}

fn field(name: &str, value: impl std::fmt::Display) {
    println!("{:<16}{value}", format!("{name}:"));
}

/// `1712345678901 (3 s ago)`: the raw milliseconds, and an age people can read.
fn time(ms: u64) -> String {
    let now_ms = node::shared::Shared::now_ms();
    if ms == 0 || ms > now_ms {
        return ms.to_string();
    }
    let ago_s = (now_ms - ms) / 1000;
    let ago = match ago_s {
        0..=119 => format!("{ago_s} s ago"),
        120..=7199 => format!("{} min ago", ago_s / 60),
        _ => format!("{} h ago", ago_s / 3600),
    };
    format!("{ms} ({ago})")
}

pub fn tx(info: &TxInfo) {
    field("hash", info.hash);
    field("status", status_name(info.status));
    if let Some(height) = info.height {
        field("height", height);
    }
    if let Some(block) = &info.block_hash {
        field("block", block);
    }
    if let Some(index) = info.index {
        field("index", index);
    }
    if let Some(reason) = &info.reason {
        field("reason", reason);
    }
    if let Some(signed) = &info.transaction {
        transaction(signed);
    }
}

fn transaction(signed: &SignedTransaction) {
    let tx = &signed.tx;
    field("from", tx.sender());
    field("nonce", tx.nonce);
    field("chain", tx.chain_id.as_str());
    match &tx.kind {
        TxKind::Transfer { to, amount } => {
            field("kind", "transfer");
            field("to", to);
            field("amount", amount);
        }
        TxKind::AddValidator { validator } => {
            field("kind", "add validator");
            field("validator", validator.public_key);
            field("p2p addr", validator.p2p_addr.as_str());
        }
        TxKind::RemoveValidator { public_key } => {
            field("kind", "remove validator");
            field("validator", public_key);
        }
    }
}

pub fn block(block: &BlockInfo) {
    field("height", block.height);
    field("hash", block.hash);
    field("parent", block.parent);
    field("time", time(block.timestamp_ms));
    field("proposer", block.proposer);
    field("state root", block.state_root);
    field("tx root", block.tx_root);
    field("batch digest", block.batch_digest);
    field("transactions", block.tx_count);
    for hash in block.tx_hashes.iter().take(MAX_LISTED_TXS) {
        println!("  {hash}");
    }
    if block.tx_hashes.len() > MAX_LISTED_TXS {
        println!(
            "  ... and {} more (--json lists them all)",
            block.tx_hashes.len() - MAX_LISTED_TXS
        );
    }
}

pub fn block_list(list: &BlockList) {
    if list.blocks.is_empty() {
        println!("no blocks");
    } else {
        println!(
            "{:>8}  {:<16}  {:>6}  {:<16}  time",
            "height", "hash", "txs", "proposer"
        );
        for b in &list.blocks {
            let proposer = b.proposer.to_string();
            println!(
                "{:>8}  {:<16}  {:>6}  {:<16}  {}",
                b.height,
                b.hash.short(),
                b.tx_count,
                &proposer[..proposer.len().min(16)],
                time(b.timestamp_ms)
            );
        }
    }
    if let Some(next) = list.next {
        println!("more: --from {next}");
    }
}

pub fn account(account: &AccountInfo) {
    field("address", account.address);
    field("balance", account.balance);
    field("nonce", account.nonce);
    field("pending nonce", account.pending_nonce);
}

pub fn status(s: &StatusInfo) {
    field("chain", &s.chain_id);
    field("genesis", s.genesis_hash);
    field(
        "replica",
        format!(
            "{}{}",
            s.replica.map_or_else(
                || "none (not on the roster yet)".to_owned(),
                |r| r.to_string()
            ),
            if s.is_primary { " (primary)" } else { "" }
        ),
    );
    field("public key", s.public_key);
    field("height", s.height);
    field("tip", s.tip_hash);
    field(
        "view",
        format!(
            "{} (primary {}){}",
            s.view,
            s.primary,
            if s.changing_view {
                ", changing view"
            } else {
                ""
            }
        ),
    );
    field(
        "watermarks",
        format!("{}..{}", s.low_watermark, s.high_watermark),
    );
    field("pool", format!("{} transactions", s.pool_size));
    field(
        "peers",
        format!(
            "{} of {} connected",
            s.peers_connected,
            s.validators.saturating_sub(1)
        ),
    );
    if s.catching_up {
        field("catching up", format!("to height {}", s.target_height));
    }
    field("uptime", format!("{} s", s.uptime_ms / 1000));
}

pub fn validators(info: &ValidatorsInfo) {
    field("height", info.height);
    field("in force since", info.since_height);
    field("f, quorum", format!("{}, {}", info.f, info.quorum));
    for v in &info.validators {
        println!(
            "  {:>3}  {}  {}  since {}",
            v.replica, v.public_key, v.p2p_addr, v.since
        );
    }
    for pending in &info.pending {
        println!(
            "pending: authorised at {}, in force from {} (f {}, quorum {}):",
            pending.authorised_at, pending.from_height, pending.f, pending.quorum
        );
        for v in &pending.validators {
            println!("  {:>3}  {}  {}", v.replica, v.public_key, v.p2p_addr);
        }
    }
}

/// A transaction status as the CLI prints it.
pub fn status_name(status: TxStatus) -> &'static str {
    match status {
        TxStatus::Pending => "pending",
        TxStatus::Committed => "committed",
        TxStatus::Dropped => "dropped",
    }
}
