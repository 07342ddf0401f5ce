//! Live events (issue 19): what the node learns as it runs, published to the
//! clients of `GET /events` ([`crate::api::events`]) and read by `rbft tx wait`
//! and `rbft block watch`.
//!
//! The driver publishes where it already learns each fact: a block and its
//! transactions where every committed block is written (`driver::exec::write_blocks`,
//! both the replica's commits and blocks copied from a peer), a dropped
//! transaction where the pool drops it, a view change where the driver counts it,
//! a membership change where the shared membership is rebuilt.
//!
//! One `tokio::sync::broadcast` channel of fixed capacity ([`Events::new`]) carries
//! them: publishing never waits and never allocates per client, so no client can
//! slow the node. A client that falls more than the capacity behind is sent a
//! last [`Event::Lagged`] and disconnected. The number of clients is bounded too
//! ([`Events::subscribe`]).

use crypto::{Hash, PublicKey};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit, Semaphore};

/// One event. In the stream its `type` is also the SSE event name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A block committed (by consensus or copied from a peer during recovery).
    /// Its `tx_committed` events follow it.
    Block {
        height: u64,
        hash: Hash,
        tx_count: u64,
        /// The view of its commit certificate.
        view: u64,
    },
    /// A transaction committed in the block at `height`.
    TxCommitted { hash: Hash, height: u64 },
    /// A pooled transaction was dropped: it can never commit.
    TxDropped { hash: Hash, reason: String },
    /// This node started a view change (the new view is not entered yet).
    ViewChange { from: u64, to: u64, reason: String },
    /// This node entered view `view`, whose primary is `primary`.
    NewView { view: u64, primary: u32 },
    /// The ledger recorded a new validator set.
    Membership {
        /// The height of the block that holds the change.
        height: u64,
        validators: Vec<PublicKey>,
    },
    /// The node kept evidence of a validator's misbehaviour (`GET /evidence/{id}`).
    Evidence {
        id: u64,
        /// `consensus::Fault::kind`.
        kind: String,
        /// The replica id of the validator it convicts.
        accused: u32,
    },
    /// This client fell `missed` events behind and is disconnected; the last event
    /// of its stream. It may reconnect and re-read what it needs from the API.
    Lagged { missed: u64 },
}

impl Event {
    /// The SSE event name: the `type` of its JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Block { .. } => "block",
            Event::TxCommitted { .. } => "tx_committed",
            Event::TxDropped { .. } => "tx_dropped",
            Event::ViewChange { .. } => "view_change",
            Event::NewView { .. } => "new_view",
            Event::Membership { .. } => "membership",
            Event::Evidence { .. } => "evidence",
            Event::Lagged { .. } => "lagged",
        }
    }

    /// The transaction this event is about, if any.
    pub fn tx(&self) -> Option<&Hash> {
        match self {
            Event::TxCommitted { hash, .. } | Event::TxDropped { hash, .. } => Some(hash),
            _ => None,
        }
    }
}

/// The node's event channel and its client slots.
pub struct Events {
    sender: broadcast::Sender<Event>,
    slots: Arc<Semaphore>,
    max_clients: usize,
    /// Set when the API shuts down: every stream ends, so that a graceful
    /// shutdown, which waits for open answers, is not held up by them.
    closed: watch::Sender<bool>,
}

/// A client's place in the stream; its slot is freed when it is dropped.
pub struct Subscription {
    pub receiver: broadcast::Receiver<Event>,
    /// Becomes `true` when the streams must end ([`Events::close`]).
    pub closed: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl Events {
    /// A channel holding the last `capacity` events, for at most `max_clients`
    /// clients at a time.
    pub fn new(capacity: usize, max_clients: usize) -> Events {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Events {
            sender,
            slots: Arc::new(Semaphore::new(max_clients)),
            max_clients,
            closed: watch::Sender::new(false),
        }
    }

    /// Sends `event` to every client. Never waits: a client that is behind by the
    /// channel's capacity loses the oldest events and learns it when it reads.
    pub fn publish(&self, event: Event) {
        // An error only means that no client listens.
        let _ = self.sender.send(event);
    }

    /// A new client's subscription, or `None` when all slots are taken.
    pub fn subscribe(&self) -> Option<Subscription> {
        let slot = Arc::clone(&self.slots).try_acquire_owned().ok()?;
        Some(Subscription {
            receiver: self.sender.subscribe(),
            closed: self.closed.subscribe(),
            _slot: slot,
        })
    }

    /// Ends every client's stream, now and for those that subscribe later (the
    /// API is shutting down).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    pub fn max_clients(&self) -> usize {
        self.max_clients
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.max_clients - self.slots.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx_event(n: u8) -> Event {
        Event::TxCommitted {
            hash: Hash([n; 32]),
            height: u64::from(n),
        }
    }

    #[test]
    fn a_slot_is_freed_when_its_client_goes() {
        let events = Events::new(4, 2);
        let a = events.subscribe().expect("first slot");
        let _b = events.subscribe().expect("second slot");
        assert!(events.subscribe().is_none(), "a third client is refused");
        assert_eq!(events.clients(), 2);
        drop(a);
        assert!(events.subscribe().is_some(), "a freed slot is reused");
    }

    #[test]
    fn publishing_never_waits_and_a_slow_client_lags() {
        let events = Events::new(4, 1);
        let mut slow = events.subscribe().expect("slot");
        for n in 0..10 {
            events.publish(tx_event(n));
        }
        assert_eq!(
            slow.receiver.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(6))
        );
    }

    #[test]
    fn events_serialise_with_their_name_as_type() {
        for event in [
            tx_event(1),
            Event::Lagged { missed: 3 },
            Event::NewView {
                view: 2,
                primary: 1,
            },
        ] {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["type"], event.name());
            assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        }
    }
}
