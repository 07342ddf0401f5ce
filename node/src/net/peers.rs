//! The state every part of the network shares: the roster, each peer's outbound queue,
//! whether it is connected, whether we dial it, and whether it is serving a punishment.
//!
//! The roster grows while the node runs (issue 7: validators added by governance), so
//! it sits behind a lock; every access is short and none is held across an `.await`.
//! A peer's slot is an `Arc`, so that its writer and readers keep it without the lock.

use super::identity::{Roster, Validator};
use super::queue::FrameQueue;
use super::NetError;
use consensus::ReplicaId;
use libp2p::PeerId;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub struct PeerSlot {
    pub queue: FrameQueue,
    pub connected: watch::Sender<bool>,
    /// Whether the peer showed our genesis hash in a hello on its current connection.
    /// Until it has, no fetch goes to it, none of its fetches is served and none of its
    /// answers is delivered. Cleared when it connects anew and when it is banned.
    pub agreed: watch::Sender<bool>,
    banned_until: Mutex<Option<Instant>>,
    /// Inbound frame streams being read from this peer; bounded so that a validator
    /// cannot make us run a task per stream it opens.
    pub readers: AtomicUsize,
}

struct Members {
    roster: Roster,
    /// Index = `ReplicaId`; our own slot exists (so indices line up) but is never used.
    slots: Vec<Arc<PeerSlot>>,
    /// Index = `ReplicaId`: whether we dial it (members of the current or a pending
    /// set). Anyone on the roster may still connect to us.
    dial: Vec<bool>,
    me: Option<ReplicaId>,
}

pub struct Peers {
    /// Our own libp2p identity: our id is wherever our key sits on the roster.
    pub local: PeerId,
    members: RwLock<Members>,
    peer_queue: usize,
    peer_queue_bytes: usize,
    pub punish_cooldown: Duration,
    /// Fetch requests refused because their sender had not agreed on the genesis.
    refused_requests: AtomicU64,
}

impl Peers {
    pub fn new(
        local: PeerId,
        roster: Roster,
        peer_queue: usize,
        peer_queue_bytes: usize,
        punish_cooldown: Duration,
    ) -> Self {
        let peers = Peers {
            local,
            members: RwLock::new(Members {
                roster: Roster::default(),
                slots: Vec::new(),
                dial: Vec::new(),
                me: None,
            }),
            peer_queue,
            peer_queue_bytes,
            punish_cooldown,
            refused_requests: AtomicU64::new(0),
        };
        {
            let mut members = write(&peers.members);
            let dial = vec![true; roster.len()];
            members.roster = roster;
            peers.grow(&mut members, dial);
        }
        peers
    }

    /// Makes slots for the roster entries that have none, and sets who we dial.
    fn grow(&self, members: &mut Members, dial: Vec<bool>) -> Vec<ReplicaId> {
        let mut added = Vec::new();
        for id in members
            .roster
            .ids()
            .skip(members.slots.len())
            .collect::<Vec<_>>()
        {
            members.slots.push(Arc::new(PeerSlot {
                queue: FrameQueue::new(self.peer_queue, self.peer_queue_bytes),
                connected: watch::Sender::new(false),
                agreed: watch::Sender::new(false),
                banned_until: Mutex::new(None),
                readers: AtomicUsize::new(0),
            }));
            let is_me = members
                .roster
                .get(id)
                .is_some_and(|v| v.peer_id == self.local);
            if is_me {
                members.me = Some(id);
            } else {
                added.push(id);
            }
        }
        members.dial = dial;
        added
    }

    /// Takes a new roster (it must extend the current one: ids never change) and the
    /// ids to dial. Returns the ids of the other peers it added, which need writers.
    pub fn update(
        &self,
        list: &[(crypto::PublicKey, String)],
        dial: &[ReplicaId],
    ) -> Result<Vec<ReplicaId>, NetError> {
        let mut members = write(&self.members);
        members.roster.extend(list)?;
        let mut flags = vec![false; members.roster.len()];
        for id in dial {
            if let Some(flag) = flags.get_mut(id.index()) {
                *flag = true;
            }
        }
        Ok(self.grow(&mut members, flags))
    }

    /// Our id, once our key is on the roster (a joining node's is not at first).
    pub fn me(&self) -> Option<ReplicaId> {
        read(&self.members).me
    }

    /// The replica behind a peer id; `None` for anyone not on the roster.
    pub fn replica(&self, peer: &PeerId) -> Option<ReplicaId> {
        read(&self.members).roster.replica(peer)
    }

    pub fn validator(&self, replica: ReplicaId) -> Option<Validator> {
        read(&self.members).roster.get(replica).cloned()
    }

    pub fn roster_len(&self) -> usize {
        read(&self.members).roster.len()
    }

    /// Whether we dial `replica` (it is in the current or a pending set).
    pub fn dialled(&self, replica: ReplicaId) -> bool {
        read(&self.members)
            .dial
            .get(replica.index())
            .copied()
            .unwrap_or(false)
    }

    /// The slot of another validator; `None` for ourselves and for unknown ids.
    pub fn slot(&self, peer: ReplicaId) -> Option<Arc<PeerSlot>> {
        let members = read(&self.members);
        if Some(peer) == members.me {
            return None;
        }
        members.slots.get(peer.index()).cloned()
    }

    /// Every other peer on the roster with its slot.
    pub fn others(&self) -> Vec<(ReplicaId, Arc<PeerSlot>)> {
        let members = read(&self.members);
        members
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| (ReplicaId(i as u32), slot.clone()))
            .filter(|(id, _)| Some(*id) != members.me)
            .collect()
    }

    pub fn is_connected(&self, peer: ReplicaId) -> bool {
        self.slot(peer).is_some_and(|slot| *slot.connected.borrow())
    }

    pub fn ban(&self, peer: ReplicaId, now: Instant) {
        if let Some(slot) = self.slot(peer) {
            *lock(&slot.banned_until) = Some(now + self.punish_cooldown);
            slot.agreed.send_replace(false);
        }
    }

    /// Whether `peer` showed our genesis hash on its current connection.
    pub fn is_agreed(&self, peer: ReplicaId) -> bool {
        self.slot(peer).is_some_and(|slot| *slot.agreed.borrow())
    }

    pub fn count_refused_request(&self) -> u64 {
        self.refused_requests.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn refused_requests(&self) -> u64 {
        self.refused_requests.load(Ordering::Relaxed)
    }

    pub fn is_banned(&self, peer: ReplicaId, now: Instant) -> bool {
        self.slot(peer)
            .is_some_and(|slot| lock(&slot.banned_until).is_some_and(|until| now < until))
    }

    pub fn dropped_frames(&self) -> u64 {
        read(&self.members)
            .slots
            .iter()
            .map(|slot| slot.queue.dropped())
            .sum()
    }
}

/// Holds one of a peer's reader places; gives it back when the reader ends.
pub struct ReaderPlace {
    slot: Arc<PeerSlot>,
}

impl ReaderPlace {
    pub fn take(peers: &Peers, peer: ReplicaId, max: usize) -> Option<Self> {
        let slot = peers.slot(peer)?;
        let taken = slot
            .readers
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            });
        taken.ok().map(|_| ReaderPlace { slot })
    }
}

impl Drop for ReaderPlace {
    fn drop(&mut self) {
        self.slot.readers.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
