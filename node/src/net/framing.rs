//! Length-prefixed frames: a big-endian `u32` length, then that many bytes. The length
//! is checked against the limit before anything is allocated (STYLE.md habit 6), so a
//! peer cannot make us reserve 4 GiB by lying in four bytes.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::io;

/// Frames up to this size are allocated at once; larger ones grow as they arrive.
const EAGER_ALLOC_BYTES: usize = 1 << 20;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended cleanly between two frames.
    #[error("stream closed")]
    Closed,
    /// The peer announced a frame over the limit: a protocol violation.
    #[error("frame of {len} bytes is over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    /// The stream broke, possibly in the middle of a frame.
    #[error("stream failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame of at most `max` bytes.
pub async fn read_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut prefix = [0u8; 4];
    // A clean end of stream is only clean before the first byte of a prefix.
    let first = io.read(&mut prefix[..1]).await?;
    if first == 0 {
        return Err(FrameError::Closed);
    }
    io.read_exact(&mut prefix[1..]).await?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    // Memory follows the bytes that actually arrive: a peer that announces 16 MiB and
    // trickles them holds at most twice what it sent, not the whole limit up front.
    let mut bytes = vec![0u8; len.min(EAGER_ALLOC_BYTES)];
    io.read_exact(&mut bytes).await?;
    while bytes.len() < len {
        let filled = bytes.len();
        bytes.resize(len.min(filled * 2), 0);
        io.read_exact(&mut bytes[filled..]).await?;
    }
    Ok(bytes)
}

/// Writes one frame; does not flush (the caller flushes when its queue runs dry).
pub async fn write_frame<W: AsyncWrite + Unpin>(io: &mut W, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    fn encoded(frames: &[&[u8]]) -> Vec<u8> {
        futures::executor::block_on(async {
            let mut out = Cursor::new(Vec::new());
            for frame in frames {
                write_frame(&mut out, frame).await.unwrap();
            }
            out.into_inner()
        })
    }

    #[test]
    fn frames_come_back_in_order_then_closed() {
        let bytes = encoded(&[b"one", b"", b"three"]);
        futures::executor::block_on(async {
            let mut input = Cursor::new(bytes);
            assert_eq!(read_frame(&mut input, 8).await.unwrap(), b"one");
            assert_eq!(read_frame(&mut input, 8).await.unwrap(), b"");
            assert_eq!(read_frame(&mut input, 8).await.unwrap(), b"three");
            assert!(matches!(
                read_frame(&mut input, 8).await,
                Err(FrameError::Closed)
            ));
        });
    }

    #[test]
    fn an_oversized_length_is_refused_before_reading_the_body() {
        // Only the prefix is there: a reader that allocated and read would hit EOF instead.
        let prefix = u32::MAX.to_be_bytes().to_vec();
        futures::executor::block_on(async {
            let err = read_frame(&mut Cursor::new(prefix), 1024)
                .await
                .unwrap_err();
            assert!(
                matches!(err, FrameError::TooLarge { len, max: 1024 } if len == u32::MAX as usize)
            );
        });
    }

    #[test]
    fn a_frame_larger_than_the_eager_allocation_arrives_whole() {
        let big: Vec<u8> = (0..3 * EAGER_ALLOC_BYTES + 7).map(|i| i as u8).collect();
        let bytes = encoded(&[&big, b"next"]);
        futures::executor::block_on(async {
            let mut input = Cursor::new(bytes);
            assert_eq!(
                read_frame(&mut input, 4 * EAGER_ALLOC_BYTES).await.unwrap(),
                big
            );
            assert_eq!(read_frame(&mut input, 8).await.unwrap(), b"next");
        });
    }

    #[test]
    fn a_frame_cut_short_is_an_io_error_not_a_clean_close() {
        let mut bytes = encoded(&[b"abcdef"]);
        bytes.truncate(7);
        futures::executor::block_on(async {
            let err = read_frame(&mut Cursor::new(bytes), 64).await.unwrap_err();
            assert!(matches!(err, FrameError::Io(_)), "{err}");
        });
    }
}
