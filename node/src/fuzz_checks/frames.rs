//! The raw bytes of a libp2p stream, before any of them means a message: the hello
//! of a frame stream (`net::hello`), the length-prefixed frames after it
//! (`net::framing`), and the one frame each way of a fetch (`net::codec`).

use crate::net::codec::BytesCodec;
use crate::net::framing::{read_frame, write_frame};
use crate::net::hello;
use crate::net::NetConfig;
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::request_response::Codec;
use std::sync::LazyLock;

/// The node's own limits, as `rbft start` sets them.
static LIMITS: LazyLock<NetConfig> = LazyLock::new(|| {
    NetConfig::new(
        crypto::SigningKey::from_seed([1; 32]),
        Vec::new(),
        String::new(),
        crypto::Hash([0; 32]),
    )
});

/// `bytes` as what a peer sends on a stream: once as the opener of a frame stream
/// (its hash, then frames), once as the acceptor (the accept byte and its hash, then
/// frames), and once as a fetch request and as a fetch response.
pub fn frames(bytes: &[u8]) {
    block_on(async {
        let max = LIMITS.max_frame_bytes;
        // What an acceptor reads from the opener.
        let mut input = Cursor::new(bytes);
        if let Ok(hash) = hello::read_hash(&mut input).await {
            let mut again = Cursor::new(Vec::new());
            hello::send(&mut again, &hash)
                .await
                .expect("writes to memory");
            same_prefix("an opener's hello", bytes, &again.into_inner());
            frame_stream(&bytes[32..], max).await;
        }
        // What an opener reads from the acceptor.
        let mut input = Cursor::new(bytes);
        if let Ok(hash) = hello::read_answer(&mut input).await {
            let mut again = Cursor::new(Vec::new());
            hello::answer(&mut again, &hash)
                .await
                .expect("writes to memory");
            same_prefix("an acceptor's answer", bytes, &again.into_inner());
            frame_stream(&bytes[33..], max).await;
        }
        fetch(bytes).await;
    });
}

/// Reads frames until the stream ends or breaks; written again, they must be the
/// bytes they were read from.
async fn frame_stream(bytes: &[u8], max: usize) {
    let mut input = Cursor::new(bytes);
    let mut again = Cursor::new(Vec::new());
    while let Ok(frame) = read_frame(&mut input, max).await {
        assert!(frame.len() <= max, "a frame of {} bytes", frame.len());
        write_frame(&mut again, &frame)
            .await
            .expect("writes to memory");
    }
    same_prefix("a frame stream", bytes, &again.into_inner());
}

/// A fetch request and a fetch response, each one bounded frame.
async fn fetch(bytes: &[u8]) {
    let mut codec = BytesCodec {
        max_request_bytes: LIMITS.max_request_bytes,
        max_response_bytes: LIMITS.max_response_bytes,
    };
    let protocol = crate::net::codec::REQUEST_PROTOCOL;
    if let Ok(request) = codec.read_request(&protocol, &mut Cursor::new(bytes)).await {
        assert!(request.len() <= codec.max_request_bytes);
        let mut again = Cursor::new(Vec::new());
        codec
            .write_request(&protocol, &mut again, request)
            .await
            .expect("a request read within the limit is written within it");
        same_prefix("a fetch request", bytes, &again.into_inner());
    }
    if let Ok(response) = codec
        .read_response(&protocol, &mut Cursor::new(bytes))
        .await
    {
        assert!(response.len() <= codec.max_response_bytes);
        let mut again = Cursor::new(Vec::new());
        codec
            .write_response(&protocol, &mut again, response)
            .await
            .expect("a response read within the limit is written within it");
        same_prefix("a fetch response", bytes, &again.into_inner());
    }
}

/// What was read, written again, must be the start of what arrived.
fn same_prefix(what: &str, arrived: &[u8], written: &[u8]) {
    assert!(
        arrived.starts_with(written),
        "{what} written again is not the bytes it was read from"
    );
}
