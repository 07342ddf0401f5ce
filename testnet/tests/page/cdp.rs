//! A client of the Chrome DevTools Protocol over one WebSocket: commands out,
//! their answers matched by id, events skipped. Every read is bounded by a
//! deadline.

use serde_json::{json, Value};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// How long one command may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The most messages skipped while waiting for one answer: a page that floods
/// events must not keep a command waiting for ever.
const MAX_SKIPPED: usize = 100_000;

pub struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
}

impl Cdp {
    /// Connects to `ws://127.0.0.1:PORT/PATH`.
    pub fn connect(port: u16, path: &str) -> Result<Cdp, String> {
        let stream = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(5),
        )
        .map_err(|e| format!("connecting to the browser on port {port}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (socket, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|e| format!("the DevTools handshake at {url}: {e}"))?;
        Ok(Cdp { socket, next_id: 1 })
    }

    /// Sends `method` (to the page of `session`, or to the browser) and returns
    /// its result.
    pub fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .map_err(|e| format!("sending {method}: {e}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        for _ in 0..MAX_SKIPPED {
            let answer = self.read(deadline, method)?;
            if answer["id"] != json!(id) {
                continue;
            }
            if let Some(error) = answer.get("error") {
                return Err(format!("{method}: {error}"));
            }
            return Ok(answer["result"].clone());
        }
        Err(format!("{method}: no answer among {MAX_SKIPPED} messages"))
    }

    /// The next JSON message, before `deadline`.
    fn read(&mut self, deadline: Instant, method: &str) -> Result<Value, String> {
        loop {
            if Instant::now() >= deadline {
                return Err(format!("{method}: no answer within {CALL_TIMEOUT:?}"));
            }
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str())
                        .map_err(|e| format!("{method}: a message that is not JSON: {e}"));
                }
                Ok(Message::Close(frame)) => {
                    return Err(format!(
                        "{method}: the browser closed the socket: {frame:?}"
                    ))
                }
                Ok(_) => {}
                // The read timeout: look at the deadline, then read on (a partial
                // frame stays buffered).
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("{method}: reading the socket: {e}")),
            }
        }
    }
}
