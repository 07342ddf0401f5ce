//! What the driver's metrics, logs and events see of each step: they observe the
//! replica's [`Ready`] and the blocks written, and never change what is carried
//! out. After each round the replica's state is published where the API reads it
//! ([`Driver::publish`]).

use super::Driver;
use crate::events::Event;
use consensus::{CommittedBlock, Ready};
use crypto::Canonical;

impl Driver {
    /// Counts, logs and announces what a step reports: the messages it ignored,
    /// the view changes it started and the view it entered, the faults it found
    /// (kept as evidence, [`crate::evidence`]), and the pre-prepares it accepted
    /// (the start of the commit latency).
    pub(super) fn observe(&mut self, ready: &Ready) {
        for ignored in &ready.ignored {
            tracing::trace!(?ignored, "ignored");
            let reason = ignored.reason().name();
            let label = crate::metrics::ReasonLabel { reason };
            self.shared.metrics.ignored.get_or_create(&label).inc();
        }
        for entry in &ready.persist {
            if let consensus::PersistEntry::Message(signed) = entry {
                if signed.kind == consensus::MessageKind::PrePrepare {
                    if let Ok(m) = consensus::Message::from_canonical_bytes(&signed.payload) {
                        self.accepted_at
                            .entry(m.seq().0)
                            .or_insert_with(std::time::Instant::now);
                    }
                }
            }
        }
        for change in &ready.view_changes {
            tracing::warn!(
                from = change.from.0,
                to = change.to.0,
                reason = change.reason.name(),
                "view change"
            );
            self.shared
                .metrics
                .view_changes
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: change.reason.name(),
                })
                .inc();
            self.shared.events.publish(Event::ViewChange {
                from: change.from.0,
                to: change.to.0,
                reason: change.reason.name().to_owned(),
            });
        }
        if let Some(view) = ready.entered_view {
            tracing::info!(view = view.0, "entered view");
            let epoch = self
                .replica
                .membership()
                .at(self.replica.last_committed().next());
            self.shared.events.publish(Event::NewView {
                view: view.0,
                primary: epoch.primary(view).0,
            });
        }
        for fault in &ready.faults {
            let membership = self.replica.membership();
            self.evidence.on_fault(&self.shared, membership, fault);
        }
    }

    /// A block written: the commit latency since its pre-prepare was accepted.
    pub(super) fn observe_commit(&mut self, block: &CommittedBlock, txs: usize) {
        if let Some(at) = self.accepted_at.remove(&block.seq.0) {
            let latency = at.elapsed().as_secs_f64();
            self.shared.metrics.commit_latency.observe(latency);
        }
        self.accepted_at.retain(|seq, _| *seq > block.seq.0);
        tracing::debug!(height = block.seq.0, txs, view = block.view.0, "committed");
    }

    /// Writes the replica's state where the API reads it.
    pub(super) fn publish(&self) {
        let replica = &self.replica;
        let view = replica.view();
        let epoch = replica.membership().at(replica.last_committed().next());
        let mut info = self.shared.consensus.write().expect("lock");
        info.view = view.0;
        info.primary = epoch.primary(view).0;
        info.changing_view = replica.is_changing_view();
        info.last_committed = replica.last_committed().0;
        info.low_watermark = replica.low_watermark().0;
        info.high_watermark = replica.high_watermark().0;
        info.in_flight = replica.held_heights().iter().map(|s| s.0).collect();
        info.stable_checkpoint = replica.stable_checkpoint().map(|c| c.seq.0);
        for reason in consensus::ViewChangeReason::ALL {
            let count = self
                .shared
                .metrics
                .view_changes
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: reason.name(),
                })
                .get();
            info.view_changes.insert(reason.name().to_owned(), count);
        }
        info.recovery = replica
            .recovery_status()
            .map(|r| crate::status::RecoveryInfo {
                reason: r.reason.name().to_owned(),
                phase: r.phase.name().to_owned(),
                round: r.round,
                target_height: r.target.map(|seq| seq.0),
            });
        for reason in consensus::RecoveryReason::ALL {
            let count = self
                .shared
                .metrics
                .recoveries
                .get_or_create(&crate::metrics::ReasonLabel {
                    reason: reason.name(),
                })
                .get();
            info.recoveries.insert(reason.name().to_owned(), count);
        }
        let phase = replica.recovery_status().map_or(0, |r| r.phase.number());
        self.shared.metrics.recovery_phase.set(phase);
        self.shared.metrics.view.set(view.0 as i64);
    }
}
