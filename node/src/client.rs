//! The blocking HTTP client of the node's API (DESIGN.md section 9), used by the
//! `rbft` command line and by the `testnet` tool.
//!
//! One [`Client`] keeps its connections open between calls (ureq's agent pool), so
//! a load generator pays for the TCP handshake once. Every call has a timeout.
//! Errors are typed: what the node said ([`ClientError::Server`]), that the node
//! could not be reached ([`ClientError::Unreachable`]), or that its answer made no
//! sense ([`ClientError::Decode`]).

use crate::api::types::{
    AccountInfo, BlockInfo, BlockList, CheckpointInfo, CommitInfo, ErrorBody, GenesisInfo, Health,
    StatusInfo, Submitted, SubmittedMany, TxInfo, TxStatus, ValidatorsInfo,
};
use crate::events::Event;
use crypto::Hash;
use ledger::{Address, SignedTransaction};
use serde::de::DeserializeOwned;
use std::io::{BufRead, Read};
use std::time::{Duration, Instant};

/// The URL `rbft` talks to unless told otherwise.
pub const DEFAULT_NODE_URL: &str = "http://127.0.0.1:8000";

/// The longest answer we read: a full block of 2,000 transactions is under 1 MB of
/// JSON; a page of block summaries far less.
const MAX_ANSWER_BYTES: u64 = 32 * 1024 * 1024;

/// The longest line of `GET /events` we read: an event is well under 64 KiB (the
/// largest, a membership change, lists at most a few hundred keys).
const MAX_EVENT_LINE_BYTES: u64 = 256 * 1024;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node answered with an error status and an [`ErrorBody`].
    #[error("{url}: {message} (HTTP {status}, {code})")]
    Server {
        url: String,
        status: u16,
        code: String,
        message: String,
        /// From a `Retry-After` header (429).
        retry_after: Option<Duration>,
    },
    /// No answer: connection refused, DNS, timeout, broken connection.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// An answer we could not understand.
    #[error("{url}: undecodable answer (HTTP {status}): {reason}")]
    Decode {
        url: String,
        status: u16,
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status the node answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Server { status, .. } | ClientError::Decode { status, .. } => {
                Some(*status)
            }
            ClientError::Unreachable { .. } => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// How long the node asked us to wait (429 with `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Timeouts of a [`Client`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole call, connect to last byte.
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            call: Duration::from_secs(15),
        }
    }
}

/// A client of one node.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the node at `base_url`, e.g. `http://127.0.0.1:8000` (a trailing
    /// slash is ignored; `http://` is added when no scheme is given).
    pub fn new(base_url: &str) -> Client {
        Client::with_timeouts(base_url, Timeouts::default())
    }

    pub fn with_timeouts(base_url: &str, timeouts: Timeouts) -> Client {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("http://{trimmed}")
        };
        let config = ureq::Agent::config_builder()
            // Error statuses are answers: we read their ErrorBody ourselves.
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.call))
            .user_agent(concat!("rbft/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            base,
            agent: config.into(),
        }
    }

    /// The base URL, as used in error messages.
    pub fn url(&self) -> &str {
        &self.base
    }

    pub fn health(&self) -> Result<Health, ClientError> {
        self.get_json("/health")
    }

    pub fn status(&self) -> Result<StatusInfo, ClientError> {
        self.get_json("/status")
    }

    pub fn tx(&self, hash: &Hash) -> Result<TxInfo, ClientError> {
        self.get_json(&format!("/txs/{hash}"))
    }

    /// Waits until transaction `hash` is no longer pending or `timeout` has
    /// passed, and returns the last answer of `GET /txs/{hash}` (`None`: the node
    /// never knew it, e.g. it was forwarded and has not arrived). Asks once, then
    /// subscribes to its events (`GET /events?tx=`) and asks again, so a commit
    /// between the two is not missed; after that only an event, a `lagged` or
    /// the end of the stream makes it ask. Other errors end it.
    pub fn wait_settled(
        &self,
        hash: &Hash,
        timeout: Duration,
    ) -> Result<Option<TxInfo>, ClientError> {
        let deadline = Instant::now() + timeout;
        let mut last = self.tx_if_known(hash)?;
        while !is_settled(&last) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut events = self.events(Some(hash), Some(left))?;
            last = self.tx_if_known(hash)?.or(last);
            if is_settled(&last) {
                break;
            }
            loop {
                match events.next_event()? {
                    Next::Event(Event::TxCommitted { .. } | Event::TxDropped { .. }) => {
                        last = self.tx_if_known(hash)?.or(last);
                        break;
                    }
                    // Behind or cut off: ask, and subscribe again if time is left.
                    Next::Event(Event::Lagged { .. }) | Next::End => break,
                    Next::Event(_) => {}
                    Next::TimedOut => return Ok(last),
                }
            }
            if !is_settled(&last) {
                last = self.tx_if_known(hash)?.or(last);
            }
        }
        Ok(last)
    }

    /// `GET /txs/{hash}`, with "unknown" as `None`.
    fn tx_if_known(&self, hash: &Hash) -> Result<Option<TxInfo>, ClientError> {
        match self.tx(hash) {
            Ok(info) => Ok(Some(info)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Subscribes to the node's live events (`GET /events`), only those of
    /// transaction `only_tx` if given. The stream ends after `timeout` (none: it
    /// lasts until the node ends it). Once this returns, nothing the node
    /// publishes is missed.
    pub fn events(
        &self,
        only_tx: Option<&Hash>,
        timeout: Option<Duration>,
    ) -> Result<EventStream, ClientError> {
        let url = match only_tx {
            Some(hash) => format!("{}/events?tx={hash}", self.base),
            None => format!("{}/events", self.base),
        };
        let response = self
            .agent
            .get(&url)
            .header("accept", "text/event-stream")
            .config()
            .timeout_global(timeout)
            .build()
            .call()
            .map_err(|e| unreachable(&url, e))?;
        let (status, body) = checked(&url, response)?;
        Ok(EventStream {
            url,
            status,
            deadline: timeout.map(|t| Instant::now() + t),
            lines: std::io::BufReader::new(body.into_with_config().limit(u64::MAX).reader()),
            message: SseMessage::default(),
        })
    }

    /// A block by height, by hash, or `latest`.
    pub fn block(&self, id: &str) -> Result<BlockInfo, ClientError> {
        self.get_json(&format!("/blocks/{}", id.trim()))
    }

    /// Summaries of the blocks from height `from`, at most `limit` (the node caps it).
    pub fn blocks(&self, from: Option<u64>, limit: Option<u64>) -> Result<BlockList, ClientError> {
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(format!("from={from}"));
        }
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        let path = if query.is_empty() {
            "/blocks".to_owned()
        } else {
            format!("/blocks?{}", query.join("&"))
        };
        self.get_json(&path)
    }

    /// `/blocks/{height}/commit`: a block's commit certificate.
    pub fn commit(&self, height: u64) -> Result<CommitInfo, ClientError> {
        self.get_json(&format!("/blocks/{height}/commit"))
    }

    /// `/checkpoints/latest`: the latest stable checkpoint and its signed proof.
    pub fn latest_checkpoint(&self) -> Result<CheckpointInfo, ClientError> {
        self.get_json("/checkpoints/latest")
    }

    /// `/genesis`: the genesis document the node runs, and its hash.
    pub fn genesis(&self) -> Result<GenesisInfo, ClientError> {
        self.get_json("/genesis")
    }

    /// `/validators`: the membership.
    pub fn validators(&self) -> Result<ValidatorsInfo, ClientError> {
        self.get_json("/validators")
    }

    pub fn account(&self, address: &Address) -> Result<AccountInfo, ClientError> {
        self.get_json(&format!("/accounts/{address}"))
    }

    /// `/accounts/{address}/txs`: a page of the account's history, newest first,
    /// after the cursor `before` (a page's `next`).
    pub fn account_txs(
        &self,
        address: &Address,
        before: Option<&str>,
        limit: Option<u64>,
    ) -> Result<crate::api::history::AccountTxs, ClientError> {
        let mut path = format!("/accounts/{address}/txs?");
        if let Some(before) = before {
            path.push_str(&format!("before={before}&"));
        }
        if let Some(limit) = limit {
            path.push_str(&format!("limit={limit}"));
        }
        self.get_json(path.trim_end_matches(['?', '&']))
    }

    /// `/evidence`: a page of kept evidence, newest first, with ids below
    /// `before` (a page's `next`) when given.
    pub fn evidence_list(
        &self,
        before: Option<u64>,
    ) -> Result<crate::api::evidence::EvidenceList, ClientError> {
        match before {
            Some(before) => self.get_json(&format!("/evidence?limit=100&before={before}")),
            None => self.get_json("/evidence?limit=100"),
        }
    }

    /// `/evidence/{id}`: one record whole.
    pub fn evidence(&self, id: u64) -> Result<crate::api::evidence::EvidenceInfo, ClientError> {
        self.get_json(&format!("/evidence/{id}"))
    }

    /// `/metrics`, Prometheus text.
    pub fn metrics_text(&self) -> Result<String, ClientError> {
        let url = format!("{}/metrics", self.base);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| unreachable(&url, e))?;
        let (status, mut body) = checked(&url, response)?;
        body.with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| decode(&url, status, e))
    }

    /// Submits one transaction; the node answers with its hash once admitted.
    pub fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        let body = serde_json::to_vec(tx).expect("a transaction serialises to JSON");
        let submitted: Submitted = self.post_json("/txs", body)?;
        Ok(submitted.hash)
    }

    /// Submits many transactions in one request; one result each, in order. When the
    /// pool refuses all of them the answer is [`ClientError::Server`] with status 429
    /// and `retry_after`.
    pub fn submit_many(&self, txs: &[SignedTransaction]) -> Result<SubmittedMany, ClientError> {
        let body = serde_json::to_vec(txs).expect("transactions serialise to JSON");
        self.submit_json_array(body)
    }

    /// Like [`Client::submit_many`] with a body already encoded: a JSON array of
    /// signed transactions. The benchmark encodes ahead of time.
    pub fn submit_json_array(&self, body: Vec<u8>) -> Result<SubmittedMany, ClientError> {
        self.post_json("/txs", body)
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| unreachable(&url, e))?;
        read_json(&url, response)
    }

    fn post_json<T: DeserializeOwned>(&self, path: &str, body: Vec<u8>) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(|e| unreachable(&url, e))?;
        read_json(&url, response)
    }
}

fn is_settled(info: &Option<TxInfo>) -> bool {
    info.as_ref().is_some_and(|i| i.status != TxStatus::Pending)
}

/// What [`EventStream::next_event`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Event(Event),
    /// The node ended the stream (after `lagged`, or stopping).
    End,
    /// The stream's timeout passed.
    TimedOut,
}

/// The events of one `GET /events` ([`Client::events`]), read as they arrive.
pub struct EventStream {
    url: String,
    status: u16,
    deadline: Option<Instant>,
    lines: std::io::BufReader<ureq::BodyReader<'static>>,
    message: SseMessage,
}

impl EventStream {
    /// Blocks until the next event, the end of the stream or its timeout.
    pub fn next_event(&mut self) -> Result<Next, ClientError> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut self.lines)
                .take(MAX_EVENT_LINE_BYTES + 1)
                .read_until(b'\n', &mut line);
            match read {
                Ok(0) => return Ok(Next::End),
                Ok(_) => {}
                Err(e) => {
                    let late = self.deadline.is_some_and(|d| Instant::now() >= d);
                    if late || e.kind() == std::io::ErrorKind::TimedOut {
                        return Ok(Next::TimedOut);
                    }
                    return Err(ClientError::Unreachable {
                        url: self.url.clone(),
                        reason: format!("the event stream broke: {e}"),
                    });
                }
            }
            if line.len() as u64 > MAX_EVENT_LINE_BYTES {
                return Err(decode(&self.url, self.status, "an event line is too long"));
            }
            let text = std::str::from_utf8(&line)
                .map_err(|e| decode(&self.url, self.status, e))?
                .trim_end_matches(['\n', '\r']);
            let data = self
                .message
                .line(text)
                .map_err(|e| decode(&self.url, self.status, e))?;
            if let Some(data) = data {
                let event = serde_json::from_str(&data)
                    .map_err(|e| decode(&self.url, self.status, format!("event {data:?}: {e}")))?;
                return Ok(Next::Event(event));
            }
        }
    }
}

/// One Server-Sent Events message being read: its `data:` lines (the only field
/// we use; `event:` repeats the JSON's `type`, comments keep the connection open).
#[derive(Debug, Default)]
pub struct SseMessage {
    data: Option<String>,
}

/// A message's `data:` lines add up to more than one event may be: the node sends
/// each event's JSON on one line of at most [`MAX_EVENT_LINE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an event of more than {max} bytes")]
pub struct EventTooLong {
    pub max: u64,
}

impl SseMessage {
    /// Takes one line (without its line ending); returns the message's data when
    /// the line (a blank one) ends a message that had any. Data lines that add up
    /// to more than [`MAX_EVENT_LINE_BYTES`] are refused, so a node cannot make the
    /// client hold an event without end.
    pub fn line(&mut self, line: &str) -> Result<Option<String>, EventTooLong> {
        if line.is_empty() {
            return Ok(self.data.take());
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            let held = self.data.as_ref().map_or(0, |data| data.len() + 1);
            if (held + value.len()) as u64 > MAX_EVENT_LINE_BYTES {
                self.data = None;
                return Err(EventTooLong {
                    max: MAX_EVENT_LINE_BYTES,
                });
            }
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
        Ok(None)
    }
}

type Response = ureq::http::Response<ureq::Body>;

/// Reads a successful answer as JSON.
fn read_json<T: DeserializeOwned>(url: &str, response: Response) -> Result<T, ClientError> {
    let (status, mut body) = checked(url, response)?;
    let bytes = body
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|e| decode(url, status, e))?;
    serde_json::from_slice(&bytes).map_err(|e| decode(url, status, e))
}

/// Splits an answer into its status and body, or turns an error status into
/// [`ClientError::Server`].
fn checked(url: &str, response: Response) -> Result<(u16, ureq::Body), ClientError> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut body = response.into_body();
    if (200..300).contains(&status) {
        return Ok((status, body));
    }
    // An error answer is small; one that is not is not an ErrorBody either.
    let text = body
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(error) => Err(ClientError::Server {
            url: url.to_owned(),
            status,
            code: error.error.code,
            message: error.error.message,
            retry_after,
        }),
        Err(_) => Err(ClientError::Server {
            url: url.to_owned(),
            status,
            code: "http_error".to_owned(),
            message: if text.trim().is_empty() {
                format!("HTTP {status} without a body")
            } else {
                text.chars().take(200).collect()
            },
            retry_after,
        }),
    }
}

fn unreachable(url: &str, error: ureq::Error) -> ClientError {
    let reason = match &error {
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        other => other.to_string(),
    };
    ClientError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

fn decode(url: &str, status: u16, error: impl std::fmt::Display) -> ClientError {
    ClientError::Decode {
        url: url.to_owned(),
        status,
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_messages_are_their_data_lines() {
        let mut message = SseMessage::default();
        let mut got = Vec::new();
        for line in [
            ": keep-alive",
            "",
            "event: block",
            "data: {\"a\":",
            "data:1}",
            "",
            "data: x",
            "id: 3",
            "",
        ] {
            got.extend(message.line(line).expect("small"));
        }
        assert_eq!(got, vec!["{\"a\":\n1}".to_owned(), "x".to_owned()]);
    }

    #[test]
    fn an_event_longer_than_a_line_may_be_is_refused() {
        let mut message = SseMessage::default();
        let chunk = format!("data: {}", "x".repeat(1024));
        let lines = MAX_EVENT_LINE_BYTES as usize / 1024;
        for _ in 0..lines - 1 {
            assert_eq!(message.line(&chunk), Ok(None));
        }
        assert_eq!(
            message.line(&chunk),
            Err(EventTooLong {
                max: MAX_EVENT_LINE_BYTES
            })
        );
        // What was held is dropped; the next message starts afresh.
        assert_eq!(message.line("data: 1"), Ok(None));
        assert_eq!(message.line(""), Ok(Some("1".to_owned())));
    }

    #[test]
    fn base_url_is_normalised() {
        assert_eq!(
            Client::new("127.0.0.1:8000/").url(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            Client::new("http://localhost:9/").url(),
            "http://localhost:9"
        );
    }

    #[test]
    fn an_unreachable_node_is_named_in_the_error() {
        // Port 1 on localhost: nothing listens there, the connection is refused.
        let client = Client::new("http://127.0.0.1:1");
        let error = client.status().unwrap_err();
        assert!(
            matches!(&error, ClientError::Unreachable { url, .. } if url == "http://127.0.0.1:1/status"),
            "{error:?}"
        );
        assert_eq!(error.status(), None);
    }
}
