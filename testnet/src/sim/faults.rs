//! The faults a run injects: the random schedule of crashes and partitions (or a
//! crash of the primary, or a recovery scenario's story), and carrying each out.

use super::{Fault, World, FAULT_END_MS};
use rand::Rng;

impl World {
    /// A random schedule of crashes and partitions inside the fault phase; at its end
    /// every replica is up and the network whole.
    pub(super) fn schedule(&mut self) -> Vec<(u64, Fault)> {
        let n = self.nodes.len();
        if let Some(scenario) = self.scenario {
            return self.scenario_schedule(scenario);
        }
        if self.membership {
            return self.membership_schedule();
        }
        let mut events = Vec::new();
        if self.crash_primary {
            events.push((
                self.rng.gen_range(300..FAULT_END_MS - 500),
                Fault::CrashPrimary,
            ));
            return events;
        }
        let mut t = self.rng.gen_range(100..400);
        while t < FAULT_END_MS - 200 {
            let victim = self.rng.gen_range(0..n);
            let length = self.rng.gen_range(100..600);
            let end = (t + length).min(FAULT_END_MS);
            if self.rng.gen_bool(0.5) {
                events.push((t, Fault::Crash(victim)));
                events.push((end, Fault::Restart(victim)));
            } else {
                events.push((t, Fault::Partition(victim)));
                events.push((end, Fault::Heal));
            }
            t = end + self.rng.gen_range(50..400);
        }
        events.sort_by_key(|(at, _)| *at);
        events
    }

    pub(super) fn apply_fault(&mut self, fault: Fault) {
        match fault {
            Fault::CrashPrimary => {
                let primary = (0..self.nodes.len())
                    .filter_map(|i| {
                        let r = self.nodes[i].replica.as_ref()?;
                        (r.is_primary() && !r.is_changing_view()).then_some((r.view(), i))
                    })
                    .max();
                if let Some((_, i)) = primary {
                    let tip = self
                        .nodes
                        .iter()
                        .map(|n| n.ledger.height())
                        .max()
                        .unwrap_or(0);
                    self.nodes[i].crash();
                    self.net.drop_to(i);
                    self.crashes += 1;
                    self.crashed_primary_at = Some((self.now_ms, tip));
                }
            }
            Fault::Crash(i)
                if self.nodes[i].is_up() && self.live_nodes() == self.started_nodes() =>
            {
                self.nodes[i].crash();
                self.net.drop_to(i);
                self.crashes += 1;
            }
            Fault::Crash(_) => {}
            Fault::WipeAndRestart(i) => {
                self.nodes[i].wipe(&self.chain);
                self.apply_fault(Fault::Restart(i));
            }
            Fault::RestartAll => {
                for i in 0..self.nodes.len() {
                    self.apply_fault(Fault::Restart(i));
                }
            }
            Fault::Governance(change) => self.submit_governance(change),
            Fault::Restart(i) => {
                // A node that never started (a validator that joins later) is not
                // restarted; it starts when it is authorised.
                if !self.nodes[i].is_up() && self.nodes[i].incarnation > 0 {
                    self.victim_back(i);
                    self.boot(i);
                    self.resend_outstanding(i);
                    let report = self.nodes[i].pool_report(&self.chain);
                    self.step(i, report);
                }
            }
            Fault::Partition(i) => {
                if !self.net.is_partitioned() {
                    self.net.partition(&[i]);
                    self.partitions += 1;
                }
            }
            Fault::Heal => {
                if let Some(i) = self.victim.as_ref().map(|v| v.node) {
                    self.victim_back(i);
                }
                self.net.heal()
            }
        }
    }

    /// The victim's fault ends: how far behind it is now.
    pub(super) fn victim_back(&mut self, i: usize) {
        let tip = self.highest_tip();
        if let Some(victim) = self.victim.as_mut().filter(|v| v.node == i) {
            victim.behind_by = tip.saturating_sub(self.nodes[i].ledger.height());
            // What counts is the recovery after this fault, and the votes after it.
            victim.recovered_at = None;
            victim.voted_since = false;
        }
    }

    pub(super) fn live_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_up()).count()
    }

    /// Nodes that ever started.
    pub(super) fn started_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.incarnation > 0).count()
    }
}
