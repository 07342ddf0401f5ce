//! A peer's outbound queue: bounded in frames and in bytes, never blocks the sender,
//! drops the OLDEST frames when full. Consensus retransmits what matters, and a newer message about the same
//! round usually supersedes an older one, so the old frame is the one to lose.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

pub struct FrameQueue {
    frames: Mutex<Frames>,
    capacity: usize,
    capacity_bytes: usize,
    ready: Notify,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Frames {
    queue: VecDeque<Bytes>,
    bytes: usize,
}

impl FrameQueue {
    /// `capacity_bytes` must hold the largest frame, or such a frame would empty the queue.
    pub fn new(capacity: usize, capacity_bytes: usize) -> Self {
        assert!(capacity > 0, "a peer queue must hold at least one frame");
        FrameQueue {
            frames: Mutex::new(Frames::default()),
            capacity,
            capacity_bytes,
            ready: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a frame; returns how many older frames were dropped to make room.
    pub fn push(&self, frame: Bytes) -> u64 {
        let mut dropped = 0;
        {
            let mut frames = self.lock();
            while frames.queue.len() >= self.capacity
                || (frames.bytes + frame.len() > self.capacity_bytes && !frames.queue.is_empty())
            {
                if let Some(old) = frames.queue.pop_front() {
                    frames.bytes -= old.len();
                    dropped += 1;
                }
            }
            frames.bytes += frame.len();
            frames.queue.push_back(frame);
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        // One consumer: a stored permit wakes it even if it is not waiting yet.
        self.ready.notify_one();
        dropped
    }

    pub fn pop(&self) -> Option<Bytes> {
        let mut frames = self.lock();
        let frame = frames.queue.pop_front()?;
        frames.bytes -= frame.len();
        Some(frame)
    }

    /// Resolves once a frame has been pushed since the last wake-up.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Frames> {
        // Nothing under this lock can panic half-way; a poisoned queue is still a queue.
        self.frames.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let queue = FrameQueue::new(2, 1024);
        assert_eq!(queue.push(Bytes::from_static(b"1")), 0);
        assert_eq!(queue.push(Bytes::from_static(b"2")), 0);
        assert_eq!(queue.push(Bytes::from_static(b"3")), 1);
        assert_eq!(queue.dropped(), 1);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().as_deref(), Some(&b"2"[..]));
        assert_eq!(queue.pop().as_deref(), Some(&b"3"[..]));
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn the_byte_bound_drops_as_many_old_frames_as_it_takes() {
        let queue = FrameQueue::new(100, 10);
        for frame in [&b"abc"[..], b"def", b"ghi"] {
            queue.push(Bytes::copy_from_slice(frame));
        }
        assert_eq!(queue.push(Bytes::from_static(b"12345678")), 3);
        assert_eq!(queue.pop().as_deref(), Some(&b"12345678"[..]));
        // A frame larger than the byte bound still goes, alone.
        queue.push(Bytes::from_static(b"x"));
        assert_eq!(queue.push(Bytes::from(vec![0; 20])), 1);
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.dropped(), 4);
    }

    #[tokio::test]
    async fn a_push_before_waiting_is_not_lost() {
        let queue = FrameQueue::new(1, 1);
        queue.push(Bytes::from_static(b"x"));
        tokio::time::timeout(std::time::Duration::from_secs(1), queue.ready())
            .await
            .expect("the stored permit wakes the consumer");
    }
}
