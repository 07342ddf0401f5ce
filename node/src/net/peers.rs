//! The state every part of the network shares: the roster, each peer's outbound queue,
//! whether it is connected, and whether it is serving a punishment.

use super::identity::Roster;
use super::queue::FrameQueue;
use consensus::ReplicaId;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct PeerSlot {
    pub queue: FrameQueue,
    pub connected: watch::Sender<bool>,
    banned_until: Mutex<Option<Instant>>,
    /// Inbound frame streams being read from this peer; bounded so that a validator
    /// cannot make us run a task per stream it opens.
    pub readers: AtomicUsize,
}

pub struct Peers {
    pub roster: Roster,
    pub me: ReplicaId,
    slots: Vec<PeerSlot>,
    pub punish_cooldown: Duration,
}

impl Peers {
    pub fn new(
        roster: Roster,
        me: ReplicaId,
        peer_queue: usize,
        peer_queue_bytes: usize,
        punish_cooldown: Duration,
    ) -> Self {
        let slots = roster
            .ids()
            .map(|_| PeerSlot {
                queue: FrameQueue::new(peer_queue, peer_queue_bytes),
                connected: watch::Sender::new(false),
                banned_until: Mutex::new(None),
                readers: AtomicUsize::new(0),
            })
            .collect();
        Peers {
            roster,
            me,
            slots,
            punish_cooldown,
        }
    }

    /// The slot of another validator; `None` for ourselves and for unknown ids.
    pub fn slot(&self, peer: ReplicaId) -> Option<&PeerSlot> {
        if peer == self.me {
            return None;
        }
        self.slots.get(usize::try_from(peer.0).ok()?)
    }

    pub fn others(&self) -> impl Iterator<Item = (ReplicaId, &PeerSlot)> + '_ {
        self.roster
            .ids()
            .zip(self.slots.iter())
            .filter(|(id, _)| *id != self.me)
    }

    pub fn is_connected(&self, peer: ReplicaId) -> bool {
        self.slot(peer).is_some_and(|slot| *slot.connected.borrow())
    }

    pub fn ban(&self, peer: ReplicaId, now: Instant) {
        if let Some(slot) = self.slot(peer) {
            *lock(&slot.banned_until) = Some(now + self.punish_cooldown);
        }
    }

    pub fn is_banned(&self, peer: ReplicaId, now: Instant) -> bool {
        self.slot(peer)
            .is_some_and(|slot| lock(&slot.banned_until).is_some_and(|until| now < until))
    }

    pub fn dropped_frames(&self) -> u64 {
        self.slots.iter().map(|slot| slot.queue.dropped()).sum()
    }
}

/// Holds one of a peer's reader places; gives it back when the reader ends.
pub struct ReaderPlace {
    peers: Arc<Peers>,
    peer: ReplicaId,
}

impl ReaderPlace {
    pub fn take(peers: &Arc<Peers>, peer: ReplicaId, max: usize) -> Option<Self> {
        let slot = peers.slot(peer)?;
        let taken = slot
            .readers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            });
        taken.ok().map(|_| ReaderPlace {
            peers: peers.clone(),
            peer,
        })
    }
}

impl Drop for ReaderPlace {
    fn drop(&mut self) {
        if let Some(slot) = self.peers.slot(self.peer) {
            slot.readers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
