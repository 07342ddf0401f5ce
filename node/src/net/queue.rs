//! A peer's outbound queue: bounded, never blocks the sender, drops the OLDEST frame
//! when full. Consensus retransmits what matters, and a newer message about the same
//! round usually supersedes an older one, so the old frame is the one to lose.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

pub struct FrameQueue {
    frames: Mutex<VecDeque<Bytes>>,
    capacity: usize,
    ready: Notify,
    dropped: AtomicU64,
}

impl FrameQueue {
    pub fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "a peer queue must hold at least one frame");
        FrameQueue {
            frames: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity,
            ready: Notify::new(),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a frame; returns whether an older frame was dropped to make room.
    pub fn push(&self, frame: Bytes) -> bool {
        let dropped = {
            let mut frames = self.lock();
            let dropped = if frames.len() >= self.capacity {
                frames.pop_front();
                true
            } else {
                false
            };
            frames.push_back(frame);
            dropped
        };
        if dropped {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // One consumer: a stored permit wakes it even if it is not waiting yet.
        self.ready.notify_one();
        dropped
    }

    pub fn pop(&self) -> Option<Bytes> {
        self.lock().pop_front()
    }

    /// Resolves once a frame has been pushed since the last wake-up.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Bytes>> {
        // Nothing under this lock can panic half-way; a poisoned queue is still a queue.
        self.frames.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let queue = FrameQueue::new(2);
        assert!(!queue.push(Bytes::from_static(b"1")));
        assert!(!queue.push(Bytes::from_static(b"2")));
        assert!(queue.push(Bytes::from_static(b"3")));
        assert_eq!(queue.dropped(), 1);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().as_deref(), Some(&b"2"[..]));
        assert_eq!(queue.pop().as_deref(), Some(&b"3"[..]));
        assert_eq!(queue.pop(), None);
    }

    #[tokio::test]
    async fn a_push_before_waiting_is_not_lost() {
        let queue = FrameQueue::new(1);
        queue.push(Bytes::from_static(b"x"));
        tokio::time::timeout(std::time::Duration::from_secs(1), queue.ready())
            .await
            .expect("the stored permit wakes the consumer");
    }
}
