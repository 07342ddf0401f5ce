//! The one list of routes. The router ([`super::router`]) and the OpenAPI document
//! ([`super::openapi`]) are both built from [`ROUTES`], so they cannot drift apart.

/// What a route does; [`super::router`] maps each to its handler with an
/// exhaustive `match`, so a route without a handler does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    Status,
    Consensus,
    Blocks,
    BlockLatest,
    Block,
    BlockCommit,
    Tx,
    SubmitTxs,
    Account,
    AccountTxs,
    Validators,
    Peers,
    CheckpointLatest,
    Genesis,
    EvidenceList,
    Evidence,
    Events,
    Metrics,
    OpenApi,
    Pool,
    Page,
    PageScript,
    PageStyle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// The lower-case name OpenAPI uses.
    pub fn name(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
}

/// What a parameter holds; the OpenAPI document types each exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A non-negative decimal (a height, a count).
    Integer,
    /// A hash: the document's `Hash` schema.
    Hash,
    /// An address: the document's `Address` schema.
    Address,
    /// A block height (decimal) or a block hash (exactly 64 hex characters, also
    /// when all are digits).
    BlockId,
    /// A position in the chain, `HEIGHT.INDEX`, as a page's `next` gives it.
    Cursor,
    /// One of these words.
    Word(&'static [&'static str]),
}

/// A path or query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub location: ParamIn,
    pub kind: ParamType,
    pub description: &'static str,
    /// A value the route accepts (the document shows it; the tests request it).
    pub example: &'static str,
}

/// What a successful answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// JSON described by the named schema of the document.
    Json(&'static str),
    /// Any JSON (the OpenAPI document itself).
    AnyJson,
    /// Prometheus text.
    PrometheusText,
    /// Server-Sent Events (`text/event-stream`), each `data:` a JSON `Event`.
    EventStream,
    /// A file of the explorer page, of this content type.
    Asset(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    pub method: Method,
    /// The path, in the syntax both axum 0.8 and OpenAPI use (`/blocks/{id}`).
    pub path: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// The request body's schema, if the route takes one.
    pub request: Option<&'static str>,
    /// The success statuses and their bodies.
    pub ok: &'static [(u16, Body)],
    /// Other answers of this route besides 500 (the body is always `ErrorBody`).
    pub errors: &'static [u16],
}

const HASH_EXAMPLE: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Every route of the API (DESIGN.md section 9).
pub const ROUTES: &[Route] = &[
    Route {
        endpoint: Endpoint::Health,
        method: Method::Get,
        path: "/health",
        summary: "Whether the node serves requests",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("Health"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Status,
        method: Method::Get,
        path: "/status",
        summary: "The node's chain, height, view and pool",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("StatusInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Consensus,
        method: Method::Get,
        path: "/consensus",
        summary: "The replica's protocol state",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("ConsensusInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Blocks,
        method: Method::Get,
        path: "/blocks",
        summary: "Block summaries, oldest or newest first",
        params: &[
            Param {
                name: "from",
                location: ParamIn::Query,
                kind: ParamType::Integer,
                description: "The first height (default 0)",
                example: "0",
            },
            Param {
                name: "limit",
                location: ParamIn::Query,
                kind: ParamType::Integer,
                description: "How many blocks (default 20, capped by api.max_blocks_per_page)",
                example: "10",
            },
            Param {
                name: "order",
                location: ParamIn::Query,
                kind: ParamType::Word(&["asc", "desc"]),
                description: "asc (default): from is the lowest height; desc: newest first, from is the highest (default the tip)",
                example: "desc",
            },
        ],
        request: None,
        ok: &[(200, Body::Json("BlockList"))],
        errors: &[400],
    },
    Route {
        endpoint: Endpoint::BlockLatest,
        method: Method::Get,
        path: "/blocks/latest",
        summary: "The last committed block",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("BlockInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Block,
        method: Method::Get,
        path: "/blocks/{id}",
        summary: "A block by height (decimal) or hash (64 hex characters)",
        params: &[Param {
            name: "id",
            location: ParamIn::Path,
            kind: ParamType::BlockId,
            description: "A height in decimal, or a block hash in hex (64 characters: always a hash)",
            example: "0",
        }],
        request: None,
        ok: &[(200, Body::Json("BlockInfo"))],
        errors: &[400, 404],
    },
    Route {
        endpoint: Endpoint::BlockCommit,
        method: Method::Get,
        path: "/blocks/{height}/commit",
        summary: "The commit certificate of a block (genesis has none)",
        params: &[Param {
            name: "height",
            location: ParamIn::Path,
            kind: ParamType::Integer,
            description: "The block height",
            example: "1",
        }],
        request: None,
        ok: &[(200, Body::Json("CommitInfo"))],
        errors: &[400, 404],
    },
    Route {
        endpoint: Endpoint::Tx,
        method: Method::Get,
        path: "/txs/{hash}",
        summary: "Where a transaction is: committed, pending or dropped",
        params: &[Param {
            name: "hash",
            location: ParamIn::Path,
            kind: ParamType::Hash,
            description: "The transaction hash (64 hex characters)",
            example: HASH_EXAMPLE,
        }],
        request: None,
        ok: &[(200, Body::Json("TxInfo"))],
        errors: &[400, 404],
    },
    Route {
        endpoint: Endpoint::SubmitTxs,
        method: Method::Post,
        path: "/txs",
        summary: "Submit one transaction (202 Submitted) or an array (200 SubmittedMany)",
        params: &[],
        request: Some("SubmitBody"),
        ok: &[
            (202, Body::Json("Submitted")),
            (200, Body::Json("SubmittedMany")),
        ],
        errors: &[400, 413, 422, 429, 503],
    },
    Route {
        endpoint: Endpoint::Account,
        method: Method::Get,
        path: "/accounts/{address}",
        summary: "An account's balance and nonces (an unused address has zeros)",
        params: &[Param {
            name: "address",
            location: ParamIn::Path,
            kind: ParamType::Address,
            description: "The address (40 hex characters)",
            example: "0000000000000000000000000000000000000000",
        }],
        request: None,
        ok: &[(200, Body::Json("AccountInfo"))],
        errors: &[400],
    },
    Route {
        endpoint: Endpoint::AccountTxs,
        method: Method::Get,
        path: "/accounts/{address}/txs",
        summary: "An account's committed transactions (sent and received), newest first",
        params: &[
            Param {
                name: "address",
                location: ParamIn::Path,
                kind: ParamType::Address,
                description: "The address (40 hex characters)",
                example: "0000000000000000000000000000000000000000",
            },
            Param {
                name: "before",
                location: ParamIn::Query,
                kind: ParamType::Cursor,
                description: "Continue after this cursor: the `next` of the previous page",
                example: "2.0",
            },
            Param {
                name: "limit",
                location: ParamIn::Query,
                kind: ParamType::Integer,
                description: "How many transactions (default 20, at most 100)",
                example: "10",
            },
        ],
        request: None,
        ok: &[(200, Body::Json("AccountTxs"))],
        errors: &[400],
    },
    Route {
        endpoint: Endpoint::Validators,
        method: Method::Get,
        path: "/validators",
        summary: "The validator set, f and the quorum",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("ValidatorsInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Peers,
        method: Method::Get,
        path: "/peers",
        summary: "The other validators and whether this node is connected to each",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("PeersInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::CheckpointLatest,
        method: Method::Get,
        path: "/checkpoints/latest",
        summary: "The latest stable checkpoint and its signed CHECKPOINTs (height 0 and genesis before the first)",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("CheckpointInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Genesis,
        method: Method::Get,
        path: "/genesis",
        summary: "The genesis document this node runs, and its hash",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("GenesisInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::EvidenceList,
        method: Method::Get,
        path: "/evidence",
        summary: "Misbehaviour of validators this node kept signed proof of, newest first",
        params: &[
            Param {
                name: "before",
                location: ParamIn::Query,
                kind: ParamType::Integer,
                description: "Only records with lower ids: the `next` of the previous page",
                example: "10",
            },
            Param {
                name: "limit",
                location: ParamIn::Query,
                kind: ParamType::Integer,
                description: "How many records (default 20, at most 100)",
                example: "10",
            },
        ],
        request: None,
        ok: &[(200, Body::Json("EvidenceList"))],
        errors: &[400],
    },
    Route {
        endpoint: Endpoint::Evidence,
        method: Method::Get,
        path: "/evidence/{id}",
        summary: "One evidence record with the accused validator's signed messages",
        params: &[Param {
            name: "id",
            location: ParamIn::Path,
            kind: ParamType::Integer,
            description: "The record's id (from 1)",
            example: "1",
        }],
        request: None,
        ok: &[(200, Body::Json("EvidenceInfo"))],
        errors: &[400, 404],
    },
    Route {
        endpoint: Endpoint::Events,
        method: Method::Get,
        path: "/events",
        summary: "Live events as Server-Sent Events: block, tx_committed, tx_dropped, view_change, new_view, membership, evidence; a client that falls behind gets lagged and is disconnected",
        params: &[Param {
            name: "tx",
            location: ParamIn::Query,
            kind: ParamType::Hash,
            description: "Only this transaction's tx_committed and tx_dropped events",
            example: HASH_EXAMPLE,
        }],
        request: None,
        ok: &[(200, Body::EventStream)],
        errors: &[400, 503],
    },
    Route {
        endpoint: Endpoint::Metrics,
        method: Method::Get,
        path: "/metrics",
        summary: "Prometheus metrics",
        params: &[],
        request: None,
        ok: &[(200, Body::PrometheusText)],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::OpenApi,
        method: Method::Get,
        path: "/openapi.json",
        summary: "This document",
        params: &[],
        request: None,
        ok: &[(200, Body::AnyJson)],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Pool,
        method: Method::Get,
        path: "/pool",
        summary: "This node's transaction pool: counts, bytes, limits, the oldest's wait",
        params: &[],
        request: None,
        ok: &[(200, Body::Json("PoolInfo"))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::Page,
        method: Method::Get,
        path: "/",
        summary: "The explorer: a page that reads this API",
        params: &[],
        request: None,
        ok: &[(200, Body::Asset(super::page::HTML))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::PageScript,
        method: Method::Get,
        path: "/explorer.js",
        summary: "The explorer's script",
        params: &[],
        request: None,
        ok: &[(200, Body::Asset(super::page::JAVASCRIPT))],
        errors: &[],
    },
    Route {
        endpoint: Endpoint::PageStyle,
        method: Method::Get,
        path: "/explorer.css",
        summary: "The explorer's style sheet",
        params: &[],
        request: None,
        ok: &[(200, Body::Asset(super::page::CSS))],
        errors: &[],
    },
];
