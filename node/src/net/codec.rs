//! The request-response codec: one bounded length-prefixed byte string each way.
//! What the bytes mean is the node's business (`wire`), not the network's.

use super::framing::{read_frame, write_frame, FrameError};
use async_trait::async_trait;
use futures::{AsyncRead, AsyncWrite};
use libp2p::{request_response, StreamProtocol};
use std::io;

pub const REQUEST_PROTOCOL: StreamProtocol = StreamProtocol::new("/rbft/request/1");

/// Marks an `io::Error` as "the other side sent more than the limit", so the caller can
/// tell a too-large response from a broken stream.
#[derive(Debug, thiserror::Error)]
#[error("{what} of {len} bytes is over the limit of {max}")]
pub struct OverLimit {
    pub what: &'static str,
    pub len: usize,
    pub max: usize,
}

#[derive(Debug, Clone)]
pub struct BytesCodec {
    pub max_request_bytes: usize,
    pub max_response_bytes: usize,
}

async fn read_bounded<T: AsyncRead + Unpin>(
    io: &mut T,
    what: &'static str,
    max: usize,
) -> io::Result<Vec<u8>> {
    match read_frame(io, max).await {
        Ok(bytes) => Ok(bytes),
        Err(FrameError::Closed) => Err(io::ErrorKind::UnexpectedEof.into()),
        Err(FrameError::TooLarge { len, max }) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            OverLimit { what, len, max },
        )),
        Err(FrameError::Io(e)) => Err(e),
    }
}

fn refuse_own(what: &'static str, len: usize, max: usize) -> io::Result<()> {
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            OverLimit { what, len, max },
        ));
    }
    Ok(())
}

#[async_trait]
impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, "request", self.max_request_bytes).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, "response", self.max_response_bytes).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        refuse_own("request", req.len(), self.max_request_bytes)?;
        write_frame(io, &req).await?;
        futures::AsyncWriteExt::flush(io).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // Sending more than the peer accepts would only get us called garbage.
        refuse_own("response", res.len(), self.max_response_bytes)?;
        write_frame(io, &res).await?;
        futures::AsyncWriteExt::flush(io).await
    }
}
